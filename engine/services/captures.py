"""Captures: every capture -- automatic after an authorization, or asked for by the merchant --
is a work row, written before the gateway is called and closed in the transaction that records
the captured money.

Whoever leases the row runs it (``run_capture``): the request that created it, a webhook or
callback that brought the authorization, or the background worker once a lease ran out. A try
after the first asks the gateway before capturing again, so a capture whose answer was lost is
never sent twice when the first one took; an unanswered capture stays open and is retried on
the worker's ladder until the gateway says captured or refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from engine.errors import GatewayFailure, IllegalTransition, OutcomePending, ValidationError
from engine.gateways import registry
from engine.gateways.base import ChargeResult, Outcome
from engine.model import Payment
from engine.services import idempotency
from engine.services.charging import call_connector, payment_lock, ref_of, remember, require, settle
from engine.services.idempotency import RecoveryPoint
from engine.services.payments import get_payment
from engine.states import AttemptStatus, PaymentStatus
from engine.store.work import WorkItem

if TYPE_CHECKING:
    from engine.bootstrap import Engine

# Seconds until the n-th retry of a capture the gateway did not confirm.
CAPTURE_BACKOFF_S: tuple[float, ...] = (5, 15, 60, 300, 1800, 3600, 6 * 3600, 86400)


class CaptureRun(msgspec.Struct, frozen=True):
    """What one run of a capture row left: the payment, and the row's state."""

    payment: Payment
    state: str  # "done" | "failed" | "pending"


async def capture(
    engine: Engine, merchant_id: str, payment_id: str, amount: int | None, claim: idempotency.Claim | None
) -> Payment:
    """Capture all or part of an authorized payment (the rest of the hold is released).

    The capture row and the key's recovery point are written in one transaction before the
    gateway is called; a retry of the same key after a crash runs that same row to its end.
    """
    lease = engine.settings.idempotency_lock_timeout
    if claim is not None and claim.resumes(RecoveryPoint.CAPTURE_STARTED):
        item = await engine.db.work.lease_for_payment(merchant_id, payment_id, lease)
        if item is None:  # already finished, or another holder runs it right now
            return await _answer(engine, claim, await get_payment(engine, merchant_id, payment_id), None)
        return await _answer(engine, claim, *msgspec.structs.astuple(await run_capture(engine, item)))
    async with payment_lock(engine, payment_id):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, {PaymentStatus.REQUIRES_CAPTURE}, "captured")
        amount = payment.amount_capturable if amount is None else amount
        if not 0 < amount <= payment.amount_capturable:
            raise ValidationError(
                f"amount must be between 1 and {payment.amount_capturable}.",
                code="amount_too_small" if amount <= 0 else "amount_too_large",
                param="amount",
            )
        attempt = await engine.db.attempts.latest(payment.id, merchant_id)
        if attempt is None or attempt.status != AttemptStatus.AUTHORIZED:
            raise IllegalTransition("This payment has no authorized attempt to capture.")
        if amount != payment.amount_capturable and not registry.capabilities(attempt.gateway).partial_capture:
            raise ValidationError(
                f"{attempt.gateway} captures only the full authorized amount ({payment.amount_capturable}).",
                code="partial_capture_unsupported",
                param="amount",
            )
        async with engine.db.transaction() as uow:
            locked = await uow.payments.lock(payment_id, merchant_id)
            assert locked is not None
            require(locked, {PaymentStatus.REQUIRES_CAPTURE}, "captured")
            open_work = await uow.work.open_for_payment(merchant_id, payment_id)
            if open_work is not None and open_work.kind == "void":
                raise IllegalTransition("A cancel of this payment is in progress; it cannot be captured.")
            item = await uow.work.add_capture(merchant_id, payment_id, attempt.id, amount, lease)
            # A capture asked for again while the first one's outcome is open continues it.
            item = item or await uow.work.lease_for_payment(merchant_id, payment_id, lease)
            if item is None or item.amount != amount:
                raise IllegalTransition("A capture of this payment is already in progress.")
            await idempotency.checkpoint(uow, claim, RecoveryPoint.CAPTURE_STARTED, payment_id)
        run = await run_capture(engine, item)
    return await _answer(engine, claim, run.payment, run.state)


async def _answer(engine: Engine, claim: idempotency.Claim | None, payment: Payment, state: str | None) -> Payment:
    if payment.status == PaymentStatus.SUCCEEDED:
        return await remember(engine, claim, payment)
    if state == "pending" or (state is None and await engine.db.work.open_for_payment(payment.merchant_id, payment.id)):
        raise OutcomePending(
            "The gateway has not confirmed the capture yet; it is retried in the background. "
            "Retry with the same Idempotency-Key to learn the outcome.",
            code="capture_pending",
        )
    # Final for the key: the API layer stores the error as its response.
    raise GatewayFailure("The gateway refused the capture; the payment is still capturable.", code="capture_failed")


async def run_capture(engine: Engine, item: WorkItem) -> CaptureRun:
    """Run one leased capture row to its next state (see the module docstring)."""
    payment = await get_payment(engine, item.merchant_id, item.payment_id)
    attempt = await engine.db.attempts.get(item.attempt_id, item.merchant_id)
    assert attempt is not None
    if attempt.status != AttemptStatus.AUTHORIZED:  # captured by other news, or voided
        await engine.db.work.finish(item, "done")
        return CaptureRun(payment, "done")
    account = await engine.gateways.account(item.merchant_id, attempt.gateway_account_id, attempt.gateway)
    connector = engine.gateways.connector(account)
    ref = ref_of(attempt, payment.currency)
    amount = item.amount or attempt.amount
    try:
        if item.tries > 1:
            # Not the first run: an earlier one may have captured and lost the answer.
            current = await call_connector(connector.sync, ref)
            if current.outcome is Outcome.CAPTURED:
                return await _captured(engine, item, current, amount)
        result = await call_connector(connector.capture, ref, amount)
    except Exception as exc:  # a connector bug or the database: try again later
        await engine.db.work.retry_later(item, list(CAPTURE_BACKOFF_S), type(exc).__name__)
        raise
    if result.outcome is Outcome.CAPTURED:
        return await _captured(engine, item, result, amount)
    if result.outcome is Outcome.DECLINED:
        await engine.db.work.finish(item, "failed", result.error_code or result.decline_code)
        return CaptureRun(payment, "failed")
    await engine.db.work.retry_later(item, list(CAPTURE_BACKOFF_S), result.error_code or str(result.outcome))
    return CaptureRun(payment, "pending")


async def _captured(engine: Engine, item: WorkItem, result: ChargeResult, amount: int) -> CaptureRun:
    if not result.amount_captured:
        result = msgspec.structs.replace(result, amount_captured=amount)
    payment = await settle(engine, item.merchant_id, item.attempt_id, result)
    return CaptureRun(payment, "done")
