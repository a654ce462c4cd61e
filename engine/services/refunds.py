"""Refunds: partial and multiple, never more than captured (reserved in SQL before the call).

The transaction that reserves the amount and records the refund also moves the idempotency key
to ``refund_created`` naming the refund; a retry after a crash asks the gateway about *that*
refund (whose id is the gateway's idempotency key) instead of creating a second one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.commands import CreateRefund
from engine.errors import ConnectorBug, IllegalTransition, NotFound, ValidationError
from engine.gateways import registry
from engine.gateways.base import NO_REFUND, GatewayConnector, RefundOutcome, RefundRequest, RefundResult
from engine.ids import plausible
from engine.model import Attempt, Refund
from engine.payment_rules import INTERNAL_ERROR
from engine.services import idempotency, pages
from engine.services.charging import call_connector, ref_of, remember
from engine.services.idempotency import RecoveryPoint
from engine.services.payments import get_payment
from engine.states import REFUND_TRANSITIONS, AttemptStatus, PaymentStatus, RefundStatus, can_move
from engine.views import RefundList, refund_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.store.uow import UnitOfWork

log = logging.getLogger("engine.refunds")
_STATUS = {
    RefundOutcome.PENDING: RefundStatus.PENDING,
    RefundOutcome.SUCCEEDED: RefundStatus.SUCCEEDED,
    RefundOutcome.FAILED: RefundStatus.FAILED,
    RefundOutcome.UNKNOWN: RefundStatus.UNKNOWN,
}


async def create_refund(engine: Engine, merchant_id: str, cmd: CreateRefund, claim: idempotency.Claim | None) -> Refund:
    """Refund ``cmd.amount`` (default: everything not yet refunded) of a succeeded payment."""
    if claim is not None and (refund_id := claim.resumes(RecoveryPoint.REFUND_CREATED)):
        return await _resume(engine, merchant_id, refund_id, claim)
    try:
        payment = await get_payment(engine, merchant_id, cmd.payment_id)
    except NotFound:
        raise NotFound(f"No such payment: {cmd.payment_id!r}.", param="payment_id") from None
    if payment.status != PaymentStatus.SUCCEEDED:
        raise IllegalTransition(
            f"This payment's status is {payment.status}; only succeeded payments can be refunded.",
            code="charge_not_refundable",
        )
    remaining = payment.amount_received - payment.amount_refunded
    amount = remaining if cmd.amount is None else cmd.amount
    if amount <= 0:
        raise ValidationError(
            "amount must be a positive integer."
            if cmd.amount is not None
            else "This payment is already fully refunded.",
            code="amount_too_small",
            param="amount",
        )
    if amount > remaining:
        raise _too_much(remaining)
    attempts = await engine.db.attempts.of_payment(payment.id, merchant_id)
    attempt = next(a for a in attempts if a.status == AttemptStatus.CAPTURED)
    if amount != payment.amount_received and not registry.capabilities(attempt.gateway).partial_refund:
        raise ValidationError(
            f"{attempt.gateway} refunds only the whole captured amount ({payment.amount_received}).",
            code="partial_refund_unsupported",
            param="amount",
        )
    async with engine.db.transaction() as uow:
        reserved = await uow.refunds.reserve(payment.id, merchant_id, amount)
        if reserved is None:  # a concurrent refund took the rest
            raise _too_much(remaining)
        refund = await uow.refunds.insert(merchant_id, payment, attempt.id, amount, cmd.reason)
        await uow.events.add(merchant_id, "refund.created", refund.id, refund_view(refund))
        await idempotency.checkpoint(uow, claim, RecoveryPoint.REFUND_CREATED, refund.id)
    connector = await _connector(engine, attempt)
    try:
        result = await call_connector(connector.refund, refund_request(refund, attempt), unknown=REFUND_UNKNOWN)
    except ConnectorBug:
        failed = RefundResult(RefundOutcome.FAILED, error_code=INTERNAL_ERROR)
        await settle_refund(engine, merchant_id, refund.id, failed)
        raise
    return await remember(engine, claim, await settle_refund(engine, merchant_id, refund.id, result))


async def _resume(engine: Engine, merchant_id: str, refund_id: str, claim: idempotency.Claim) -> Refund:
    """Finish a refund whose request died after recording it: ask the gateway about this
    refund, and send it (under the same id) if the gateway never got it."""
    refund = await engine.db.refunds.get(refund_id, merchant_id)
    assert refund is not None  # written with the recovery point
    if refund.status in (RefundStatus.PENDING, RefundStatus.UNKNOWN):
        attempt = await engine.db.attempts.get(refund.attempt_id, merchant_id)
        assert attempt is not None
        result = await ask_about(engine, refund, attempt)
        refund = await settle_refund(engine, merchant_id, refund.id, result)
    return await remember(engine, claim, refund)


async def ask_about(engine: Engine, refund: Refund, attempt: Attempt) -> RefundResult:
    """Where ``refund`` stands at the gateway. One the gateway has no record of (its request died
    before reaching it) is sent now, under the same id: the gateways refuse a second refund under
    one id, and connectors report that as the first (Razorpay's status call re-sends by itself)."""
    connector = await _connector(engine, attempt)
    request = refund_request(refund, attempt)
    result = await call_connector(connector.refund_status, request, unknown=REFUND_UNKNOWN)
    if result.error_code == NO_REFUND:
        log.info("refund %s never reached %s; sending it now", refund.id, attempt.gateway)
        result = await call_connector(connector.refund, request, unknown=REFUND_UNKNOWN)
    return result


REFUND_UNKNOWN = RefundResult(outcome=RefundOutcome.UNKNOWN, error_code="connector_error")


async def _connector(engine: Engine, attempt: Attempt) -> GatewayConnector:
    account = await engine.gateways.account(attempt.merchant_id, attempt.gateway_account_id, attempt.gateway)
    return engine.gateways.connector(account)


def refund_request(refund: Refund, attempt: Attempt) -> RefundRequest:
    """How the gateway is asked about ``refund`` (its id is the gateway's idempotency key)."""
    return RefundRequest(
        refund_id=refund.id,
        ref=ref_of(attempt, refund.currency),
        amount=refund.amount,
        currency=refund.currency,
        reason=refund.reason,
        gateway_refund_id=refund.gateway_refund_id,
    )


async def settle_refund(engine: Engine, merchant_id: str, refund_id: str, result: RefundResult) -> Refund:
    """Fold a refund answer in, in a transaction of its own."""
    async with engine.db.transaction() as uow:
        return await settle_refund_in(uow, merchant_id, refund_id, result)


async def settle_refund_in(uow: UnitOfWork, merchant_id: str, refund_id: str, result: RefundResult) -> Refund:
    """Fold a refund answer in, inside ``uow``'s transaction (a webhook's: with its dedupe
    receipt); a failure gives the reserved amount back to the payment."""
    refund = await uow.refunds.lock(refund_id, merchant_id)
    assert refund is not None
    status = _STATUS[result.outcome]
    if status == refund.status or not can_move(REFUND_TRANSITIONS, RefundStatus(refund.status), status):
        if result.gateway_refund_id and not refund.gateway_refund_id:
            # Still pending, but now we know the gateway's id: status checks and webhooks
            # from gateways that shorten our ids are matched by it.
            refund = await uow.refunds.update(refund, refund.status, result.gateway_refund_id, None, None)
        return refund
    refund = await uow.refunds.update(refund, status, result.gateway_refund_id, result.error_code, result.error_message)
    if status is RefundStatus.FAILED:
        await uow.refunds.release(refund.payment_id, merchant_id, refund.amount)
    await uow.events.add(merchant_id, f"refund.{status}", refund.id, refund_view(refund))
    return refund


async def get_refund(engine: Engine, merchant_id: str, refund_id: str) -> Refund:
    """The merchant's refund or a 404."""
    refund = await engine.db.refunds.get(refund_id, merchant_id) if plausible(refund_id) else None
    if refund is None:
        raise NotFound(f"No such refund: {refund_id[:64]!r}.", param="id")
    return refund


def _too_much(remaining: int) -> ValidationError:
    return ValidationError(
        f"amount exceeds what can still be refunded ({remaining}).", code="amount_too_large", param="amount"
    )


async def list_refunds(
    engine: Engine,
    merchant_id: str,
    *,
    payment_id: str | None,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> RefundList:
    """A cursor page of the merchant's refunds (``engine.services.pages``), of one payment when
    ``payment_id`` is given (another merchant's payment, or an unknown one: 404)."""
    w = await pages.window(
        limit, starting_after, ending_before, lambda rid: engine.db.refunds.cursor_of(rid, merchant_id), "refund"
    )
    if payment_id is not None and (
        not plausible(payment_id) or await engine.db.payments.cursor_of(payment_id, merchant_id) is None
    ):
        raise NotFound(f"No such payment: {payment_id[:64]!r}.", param="payment_id")
    rows = await engine.db.refunds.page(merchant_id, payment_id, w.older_than, w.newer_than, w.size)
    page, has_more = pages.trim(rows, limit, w.newer_than is not None)
    return RefundList("list", [refund_view(r) for r in page], has_more)
