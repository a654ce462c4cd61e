"""Cancel: a payment not yet captured is canceled; an authorization is voided at the gateway.

Voiding is a work row, written before the gateway is asked and run by whoever leases it: the
cancel request, a retry of it, or the background worker once the lease ran out. Voiding twice
is safe (the connectors report the order's status after the call), so a void whose answer was
lost is simply run again -- by the worker if the client never retries -- and an unanswered void
is not a final answer for the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from engine.errors import GatewayFailure, IllegalTransition, OutcomePending
from engine.gateways.base import Outcome
from engine.model import Payment
from engine.services import idempotency
from engine.services.charging import call_connector, payment_lock, ref_of, remember, require, settle
from engine.services.idempotency import RecoveryPoint
from engine.services.payments import get_payment
from engine.states import CANCELABLE, AttemptStatus, PaymentStatus
from engine.store.work import WorkItem
from engine.views import payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine

# Seconds until the n-th retry of a void the gateway did not confirm.
VOID_BACKOFF_S: tuple[float, ...] = (5, 15, 60, 300, 1800, 3600, 6 * 3600, 86400)


async def cancel(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Payment:
    """Cancel a payment that has not been captured, voiding an authorization at the gateway.

    The void row and the key's recovery point are written in one transaction before the gateway
    is called; a retry of the same key after a crash runs that row on, or answers its outcome."""
    if claim is not None and claim.resumes(RecoveryPoint.VOID_STARTED):
        return await _resume(engine, merchant_id, payment_id, claim)
    async with payment_lock(engine, payment_id):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, CANCELABLE, "canceled")
        open_work = await engine.db.work.open_for_payment(merchant_id, payment_id)
        if open_work is not None and open_work.kind == "capture":
            raise IllegalTransition("A capture of this payment is in progress; it cannot be canceled.")
        attempt = await engine.db.attempts.latest(payment_id, merchant_id)
        if attempt is not None and attempt.status == AttemptStatus.AUTHORIZED:
            payment = await _void(engine, merchant_id, payment_id, attempt.id, claim)
        else:
            async with engine.db.transaction() as uow:
                locked = await uow.payments.lock(payment_id, merchant_id)
                assert locked is not None
                require(locked, CANCELABLE, "canceled")
                payment = await uow.payments.update(
                    msgspec.structs.replace(
                        locked, status=PaymentStatus.CANCELED, amount_capturable=0, next_action=None
                    ),
                )
                await uow.events.add(merchant_id, "payment.canceled", payment.id, payment_view(payment))
        return await remember(engine, claim, payment)


async def _void(
    engine: Engine, merchant_id: str, payment_id: str, attempt_id: str, claim: idempotency.Claim | None
) -> Payment:
    """Write (or take back) the payment's void row and run it; the canceled payment, or why not."""
    lease = engine.settings.idempotency_lock_timeout
    async with engine.db.transaction() as uow:
        item = await uow.work.add_void(merchant_id, payment_id, attempt_id, lease)
        # A cancel asked for again while the first one's void is open continues it.
        item = item or await uow.work.lease_for_payment(merchant_id, payment_id, lease, kind="void")
        if item is None:
            raise IllegalTransition("A cancel of this payment is in progress; retry shortly.")
        await idempotency.checkpoint(uow, claim, RecoveryPoint.VOID_STARTED, payment_id)
    payment, state = await run_void(engine, item)
    return _outcome(payment, state)


async def _resume(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim) -> Payment:
    """A retry of a cancel whose void row was written: run it on if it is open and free, else
    answer what it came to (the worker may have finished it after the first request died)."""
    item = await engine.db.work.lease_for_payment(
        merchant_id, payment_id, engine.settings.idempotency_lock_timeout, kind="void"
    )
    if item is not None:
        payment, state = await run_void(engine, item)
    else:
        payment = await get_payment(engine, merchant_id, payment_id)
        open_work = await engine.db.work.open_for_payment(merchant_id, payment_id)
        state = "pending" if open_work is not None and open_work.kind == "void" else "failed"
    if payment.status == PaymentStatus.CANCELED:
        state = "done"
    return await remember(engine, claim, _outcome(payment, state))


def _outcome(payment: Payment, state: str) -> Payment:
    """The canceled payment, or the error saying why it is not (yet) canceled."""
    if state == "pending":
        raise OutcomePending(
            "The gateway did not answer the void; the payment is not canceled yet (it is retried in the "
            "background). Retry with the same Idempotency-Key to learn the outcome.",
            code="void_pending",
        )
    if state == "failed":
        # Final for the key: the API layer stores the error as its response.
        raise GatewayFailure("The gateway did not confirm the void; the payment was not canceled.", code="void_failed")
    return payment


async def run_void(engine: Engine, item: WorkItem) -> tuple[Payment, str]:
    """Run one leased void row to its next state: (the payment, "done" | "failed" | "pending")."""
    assert item.payment_id is not None and item.attempt_id is not None
    payment = await get_payment(engine, item.merchant_id, item.payment_id)
    attempt = await engine.db.attempts.get(item.attempt_id, item.merchant_id)
    assert attempt is not None
    if attempt.status == AttemptStatus.VOIDED:  # an earlier run voided it and then died
        await engine.db.work.finish(item, "done")
        return payment, "done"
    if attempt.status != AttemptStatus.AUTHORIZED:  # captured meanwhile: nothing to void
        await engine.db.work.finish(item, "failed", f"attempt_{attempt.status}")
        return payment, "failed"
    account = await engine.gateways.account(item.merchant_id, attempt.gateway_account_id, attempt.gateway)
    try:
        result = await call_connector(engine.gateways.connector(account).void, ref_of(attempt, payment.currency))
    except Exception as exc:  # a connector bug or the database: try again later
        await engine.db.work.retry_later(item, list(VOID_BACKOFF_S), type(exc).__name__)
        raise
    if result.outcome is Outcome.VOIDED:
        payment = await settle(engine, item.merchant_id, attempt.id, result)
        await engine.db.work.finish(item, "done")
        return payment, "done"
    if result.outcome is Outcome.UNKNOWN:
        await engine.db.work.retry_later(item, list(VOID_BACKOFF_S), result.error_code or "unknown")
        return payment, "pending"
    await engine.db.work.finish(item, "failed", result.error_code or str(result.outcome))
    return payment, "failed"
