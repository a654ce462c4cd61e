"""Settling any gateway answer, the sync use case, and what every gateway call shares.

Every answer -- the original one, a status sync, a webhook, a browser callback, the worker's --
is folded by ``settle``/``settle_in``: one read of the attempt with its payment, the pure rules
(``payment_rules``), and one guarded write of everything that changed (attempt, payment, events,
capture work, the key's response). A crash between phases leaves a recorded attempt that a sync
settles; it never leaves a charge unrecorded as failed. Confirm lives in ``confirm``, captures
in ``captures``, cancels in ``cancels``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from engine.errors import ConnectorBug, IllegalTransition
from engine.gateways import http
from engine.gateways.base import AttemptRef, ChargeRequest, ChargeResult, Outcome, PaymentMethod
from engine.metrics import GATEWAY_CALLS, GATEWAY_SECONDS
from engine.model import Attempt, Payment
from engine.payment_rules import apply_charge_result, conclude_absent
from engine.results import Declined, Result, outcome_of
from engine.services import idempotency
from engine.services.failure_log import report_failure
from engine.services.payments import event_rows, get_payment
from engine.states import UNRESOLVED_ATTEMPTS, AttemptStatus, PaymentStatus
from engine.store import phases

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.store.uow import UnitOfWork

log = logging.getLogger("engine.charging")
R = TypeVar("R", bound="Result")
# How soon a freshly unknown attempt is first checked by the reconciler.
FIRST_CHECK_UNKNOWN_S = 5.0
# How often a settle folds again after losing a race to another writer before giving up.
SETTLE_TRIES = 8


def ref_of(attempt: Attempt, currency: str) -> AttemptRef:
    """How the gateway knows ``attempt``."""
    return AttemptRef(
        attempt_id=attempt.id,
        gateway_reference=attempt.gateway_reference,
        gateway_order_id=attempt.gateway_order_id,
        amount=attempt.amount,
        currency=currency,
    )


async def sync(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Payment:
    """Ask the gateway for the latest status of the payment's current attempt and settle it
    (a failed attempt is news here, not an error: the payment is the answer)."""
    payment = await get_payment(engine, merchant_id, payment_id)
    attempt = await engine.db.attempts.latest(payment_id, merchant_id)
    if attempt is not None and (attempt.status in UNRESOLVED_ATTEMPTS or attempt.status == AttemptStatus.AUTHORIZED):
        account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
        result = await call_connector(engine.gateways.connector(account).sync, ref_of(attempt, payment.currency))
        outcome = await finish(engine, payment, attempt.id, result, claim, declines=False)
        assert isinstance(outcome, Payment)
        return outcome
    return await remember(engine, claim, payment)


async def settle(engine: Engine, merchant_id: str, attempt_id: str, result: ChargeResult) -> Payment:
    """Fold any gateway answer (original, sync, webhook, callback) into the attempt and its
    payment: one read and one guarded write, folded again from a fresh read if another writer
    got there first.

    An automatic payment that becomes ``requires_capture`` gets its capture work row in the same
    statement (``auto_capture`` or the worker runs it), closed there once the attempt is captured.
    """
    payment, _ = await _settle(engine, merchant_id, attempt_id, result, None, None, None)
    return payment


Conclude = Callable[[Payment], "Payment | Declined"]


async def _settle(
    engine: Engine,
    merchant_id: str,
    attempt_id: str,
    result: ChargeResult,
    claim: idempotency.Claim | None,
    conclude: Conclude | None,
    rows: tuple[Payment, Attempt] | None,
) -> tuple[Payment, Payment | Declined | None]:
    """``rows``: the payment and attempt exactly as this request last wrote them (confirm knows
    them), which spares the phase its read; a writer that got there first makes the guarded
    write fail and the fold starts over from a fresh read."""
    for _ in range(SETTLE_TRIES):
        read = rows or await engine.db.phases.read_for_settle(attempt_id, merchant_id)
        rows = None
        assert read is not None
        try:
            return await settle_in(engine.db, engine, *read, result, claim=claim, conclude=conclude)
        except phases.StaleWrite:
            continue  # another writer moved the rows between our read and write: fold again
    raise RuntimeError(f"attempt {attempt_id} kept changing while being settled")


async def settle_in(
    uow: UnitOfWork,
    engine: Engine,
    payment: Payment,
    attempt: Attempt,
    result: ChargeResult,
    *,
    claim: idempotency.Claim | None = None,
    conclude: Conclude | None = None,
) -> tuple[Payment, Payment | Declined | None]:
    """Fold ``result`` into the rows as read and write the change in one guarded statement (a
    webhook does this inside the transaction of its dedupe receipt). With ``conclude``, the
    request's outcome is decided now and the key's response written in the same statement --
    unless a capture is still owed. Raises ``StaleWrite`` (nothing written) when the rows moved
    since the read."""
    now = engine.clock()
    result = conclude_absent(attempt, result, now, absent_after_s(engine))
    change = apply_charge_result(payment, attempt, result)
    if change is None:
        return payment, None
    settled_attempt = msgspec.structs.replace(change.attempt, version=attempt.version + 1, updated_at=now)
    if settled_attempt.status == AttemptStatus.UNKNOWN and attempt.status != AttemptStatus.UNKNOWN:
        # An unknown outcome is checked soon, whatever its original schedule said.
        soon = now + timedelta(seconds=FIRST_CHECK_UNKNOWN_S)
        settled_attempt = msgspec.structs.replace(settled_attempt, next_sync_at=soon)
    settled = payment
    if change.payment_changed:
        settled = msgspec.structs.replace(change.payment, version=payment.version + 1, updated_at=now)
    owes_capture = _needs_auto_capture(settled)
    outcome = conclude(settled) if conclude is not None and not owes_capture else None
    answer = idempotency.rendered(claim, outcome) if outcome is not None else None
    await uow.phases.write_settlement(
        payment,
        attempt,
        settled if change.payment_changed else None,
        settled_attempt,
        event_rows(change.events, settled_attempt, settled),
        now,
        open_capture=attempt.amount if owes_capture and payment.status != PaymentStatus.REQUIRES_CAPTURE else None,
        # Whichever news proved the capture (its answer, a webhook, a sync) closes the work.
        close_captures=settled_attempt.status == AttemptStatus.CAPTURED and attempt.status != AttemptStatus.CAPTURED,
        answer=phases.Answer(*answer) if answer is not None else None,
    )
    return settled, outcome


def payment_lock(engine: Engine, payment_id: str):  # type: ignore[no-untyped-def]
    """The short Redis lock that keeps a cancel and a capture of one payment from racing through
    the gateway; a holder that died releases it when a retry may take over its key."""
    return engine.cache.lock(f"payment:{payment_id}", engine.settings.idempotency_lock_timeout)


def absent_after_s(engine: Engine) -> float:
    """How old an attempt must be before "the gateway has no payment for it" proves nothing
    was charged: twice the longest a live request may still be sending (a gateway that answers
    late must not find its payment already declared failed)."""
    return 2 * engine.settings.idempotency_lock_timeout


def _needs_auto_capture(payment: Payment) -> bool:
    return payment.status == PaymentStatus.REQUIRES_CAPTURE and payment.capture_method == "automatic"


async def finish(
    engine: Engine,
    payment: Payment,
    attempt_id: str,
    result: ChargeResult,
    claim: idempotency.Claim | None,
    *,
    declines: bool = True,
    rows: tuple[Payment, Attempt] | None = None,
) -> Payment | Declined:
    """Settle an answer, capture an automatic payment's authorization, and conclude: the payment,
    or (``declines``) ``Declined`` when the attempt failed. The key's response is written with the
    settlement itself when no capture is owed. ``rows``: see ``_settle``."""
    conclude: Conclude = outcome_of if declines else _as_is
    payment, outcome = await _settle(engine, payment.merchant_id, attempt_id, result, claim, conclude, rows)
    if outcome is not None:
        return outcome
    return await remember(engine, claim, conclude(await auto_capture(engine, payment)))


def _as_is(payment: Payment) -> Payment:
    return payment


async def auto_capture(engine: Engine, payment: Payment) -> Payment:
    """Run an automatic payment's open capture now, unless another process holds it (then it
    finishes there, or in the worker once that lease runs out)."""
    if not _needs_auto_capture(payment):
        return payment
    from engine.services.captures import run_capture  # captures builds on settle

    lease = engine.settings.idempotency_lock_timeout
    item = await engine.db.work.lease_for_payment(payment.merchant_id, payment.id, lease)
    if item is None:
        return payment
    try:
        return (await run_capture(engine, item)).payment
    except Exception as exc:
        # The authorization stands and its capture row is committed (run_capture scheduled the
        # next try): like an unanswered capture, the worker finishes it. The answer is the
        # authorized payment -- never an error saying nothing was charged.
        report_failure(log, "capturing payment %s failed; the worker retries it", exc, payment.id)
        return payment


def charge_request(
    engine: Engine, payment: Payment, attempt: Attempt, method: PaymentMethod, contact: phases.Contact
) -> ChargeRequest:
    callback = f"{engine.settings.base_url}/v1/callbacks/{attempt.gateway}/{payment.merchant_id}/{payment.id}"
    return ChargeRequest(
        attempt_id=attempt.id,
        payment_id=payment.id,
        merchant_id=payment.merchant_id,
        amount=payment.amount,
        currency=payment.currency,
        method=method,
        capture=payment.capture_method == "automatic",
        callback_url=callback,
        description=payment.description,
        customer_email=contact.email,
        customer_phone=contact.phone,
    )


async def call_connector(fn, *args, unknown: Any = None):  # type: ignore[no-untyped-def]
    """Run a connector call, timed and counted.

    A connector that raises after a request left may have moved money: the outcome is unknown.
    One that raises before any request left has a bug and provably moved nothing:
    ``ConnectorBug`` (500), never an unknown outcome reconciled for days.
    """
    gateway, operation = getattr(getattr(fn, "__self__", None), "name", "unknown"), fn.__name__
    started = time.perf_counter()
    with http.counting() as requests:
        try:
            result = await fn(*args)
        except Exception as exc:
            if not requests.sent:
                log.exception("connector %s.%s raised before sending anything", gateway, operation)
                GATEWAY_CALLS.labels(gateway, operation, "internal_error").inc()
                raise ConnectorBug("An internal error stopped this request before it reached the gateway.") from None
            report_failure(log, "connector raised after a request left; treating the outcome as unknown", exc)
            result = unknown or ChargeResult(outcome=Outcome.UNKNOWN, error_code="connector_error")
    GATEWAY_SECONDS.labels(gateway, operation).observe(time.perf_counter() - started)
    GATEWAY_CALLS.labels(gateway, operation, str(result.outcome)).inc()
    return result


def require(payment: Payment, allowed: frozenset[str] | set[str], action: str) -> None:
    if payment.status not in allowed:
        raise IllegalTransition(f"This payment's status is {payment.status}; it cannot be {action}.")


async def remember(engine: Engine, claim: idempotency.Claim | None, result: R) -> R:
    """Store ``result`` as the key's response (its state change is committed) and return it."""
    await idempotency.remember(engine.db, claim, result)
    return result
