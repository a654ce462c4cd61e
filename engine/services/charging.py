"""Use cases that call a gateway: confirm, capture, cancel, sync, and settling any answer.

Each follows the same phases (Brandur's atomic phases): a short transaction that records the
intent (attempt ``pending``, payment ``processing``), the gateway call outside any transaction,
then a short transaction that locks the rows and folds the answer in with
``payment_rules.apply_charge_result``. A crash between phases leaves an unresolved attempt that
a status sync settles; it never leaves a charge unrecorded as failed.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import msgspec

from engine.errors import CardDeclined, ConnectorBug, EngineError, GatewayFailure, IllegalTransition
from engine.gateways import http
from engine.gateways.base import AttemptRef, ChargeRequest, ChargeResult, Outcome, PaymentMethod
from engine.metrics import GATEWAY_CALLS, GATEWAY_SECONDS
from engine.model import Attempt, Payment
from engine.payment_rules import apply_charge_result, conclude_absent
from engine.services import idempotency
from engine.services.payments import get_payment, write_change
from engine.states import CANCELABLE, UNRESOLVED_ATTEMPTS, AttemptStatus, PaymentStatus
from engine.store import payments as store
from engine.store import work as work_store
from engine.store.work import WorkItem
from engine.views import encode, payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.charging")
Response = tuple[int, bytes]
# How soon a freshly unknown attempt is first checked by the reconciler.
FIRST_CHECK_UNKNOWN_S = 5.0


def ref_of(attempt: Attempt, currency: str) -> AttemptRef:
    """How the gateway knows ``attempt``."""
    return AttemptRef(
        attempt_id=attempt.id,
        gateway_reference=attempt.gateway_reference,
        gateway_order_id=attempt.gateway_order_id,
        amount=attempt.amount,
        currency=currency,
    )


def payment_response(payment: Payment, ok_status: int = 200) -> Response:
    """``ok_status`` with the payment, or the error a failed attempt deserves (402 decline, 502 gateway)."""
    error = payment.last_error
    if payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD and error:
        cls = GatewayFailure if error.get("code") == "gateway_unavailable" else CardDeclined
        exc = cls(
            str(error.get("message") or "The payment failed."),
            code=error.get("code"),
            decline_code=error.get("decline_code"),
        )
        return exc.status, encode({"error": {**exc.to_dict(), "payment_id": payment.id}})
    return ok_status, encode(payment_view(payment))


async def cancel(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Response:
    """Cancel a payment that has not been captured, voiding an authorization at the gateway."""
    async with engine.cache.lock(f"payment:{payment_id}"):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, CANCELABLE, "canceled")
        if await work_store.open_for_payment(engine.pool, merchant_id, payment_id) is not None:
            raise IllegalTransition("A capture of this payment is in progress; it cannot be canceled.")
        attempt = await store.latest_attempt(engine.pool, payment_id, merchant_id)
        if attempt is not None and attempt.status == AttemptStatus.AUTHORIZED:
            account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
            result = await call_connector(engine.gateways.connector(account).void, ref_of(attempt, payment.currency))
            if result.outcome is not Outcome.VOIDED:
                return await record_error(
                    engine,
                    claim,
                    GatewayFailure(
                        "The gateway did not confirm the void; the payment was not canceled.", code="void_failed"
                    ),
                )
            payment = await settle(engine, merchant_id, attempt.id, result)
        else:
            async with engine.pool.acquire() as conn, conn.transaction():
                locked = await store.lock_payment(conn, payment_id, merchant_id)
                assert locked is not None
                require(locked, CANCELABLE, "canceled")
                payment = await store.update_payment(
                    conn,
                    msgspec.structs.replace(
                        locked, status=PaymentStatus.CANCELED, amount_capturable=0, next_action=None
                    ),
                )
                await store.add_event(conn, merchant_id, "payment.canceled", payment.id, payment_view(payment))
        return await record_response(engine, claim, 200, encode(payment_view(payment)))


async def sync(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Response:
    """Ask the gateway for the latest status of the payment's current attempt and settle it."""
    payment = await get_payment(engine, merchant_id, payment_id)
    attempt = await store.latest_attempt(engine.pool, payment_id, merchant_id)
    if attempt is not None and (attempt.status in UNRESOLVED_ATTEMPTS or attempt.status == AttemptStatus.AUTHORIZED):
        account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
        result = await call_connector(engine.gateways.connector(account).sync, ref_of(attempt, payment.currency))
        return await finish(engine, payment, attempt.id, result, claim, respond_errors=False)
    return await record_response(engine, claim, 200, encode(payment_view(payment)))


async def settle(
    engine: Engine, merchant_id: str, attempt_id: str, result: ChargeResult, *, work: WorkItem | None = None
) -> Payment:
    """Fold any gateway answer (original, sync, webhook, callback) into the attempt and its
    payment, under row locks, in one transaction.

    An automatic payment that becomes ``requires_capture`` gets its capture work row in the same
    transaction (``auto_capture`` or the worker runs it); ``work`` is closed here once the
    attempt is captured.
    """
    async with engine.pool.acquire() as conn, conn.transaction():
        unlocked = await store.get_attempt(conn, attempt_id, merchant_id)
        assert unlocked is not None
        return await settle_in(conn, engine, unlocked, result, work=work)


async def settle_in(
    conn: asyncpg.Connection, engine: Engine, attempt: Attempt, result: ChargeResult, *, work: WorkItem | None = None
) -> Payment:
    """``settle`` inside the caller's transaction (a webhook settles with its dedupe receipt)."""
    # Lock order everywhere: payment, then attempt (then refund) -- never the reverse.
    payment = await store.lock_payment(conn, attempt.payment_id, attempt.merchant_id)
    locked = await store.lock_attempt(conn, attempt.id, attempt.merchant_id)
    assert payment is not None and locked is not None
    now = datetime.now(UTC)
    result = conclude_absent(locked, result, now, absent_after_s(engine))
    change = apply_charge_result(payment, locked, result)
    settled = payment
    if change is not None:
        if change.attempt.status == AttemptStatus.UNKNOWN and locked.status != AttemptStatus.UNKNOWN:
            # An unknown outcome is checked soon, whatever its original schedule said.
            soon = now + timedelta(seconds=FIRST_CHECK_UNKNOWN_S)
            change = msgspec.structs.replace(change, attempt=msgspec.structs.replace(change.attempt, next_sync_at=soon))
        settled = await write_change(conn, change)
        if _needs_auto_capture(settled) and payment.status != PaymentStatus.REQUIRES_CAPTURE:
            await work_store.add_capture(conn, settled.merchant_id, settled.id, locked.id, locked.amount, 0)
    if work is not None and (change.attempt if change else locked).status == AttemptStatus.CAPTURED:
        await work_store.finish(conn, work, "done")
    return settled


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
    respond_errors: bool = True,
    ok_status: int = 200,
) -> Response:
    """Settle an answer, capture an automatic payment's authorization, respond and record."""
    payment = await auto_capture(engine, await settle(engine, payment.merchant_id, attempt_id, result))
    status, body = payment_response(payment, ok_status) if respond_errors else (200, encode(payment_view(payment)))
    return await record_response(engine, claim, status, body)


async def auto_capture(engine: Engine, payment: Payment) -> Payment:
    """Run an automatic payment's open capture now, unless another process holds it (then it
    finishes there, or in the worker once that lease runs out)."""
    if not _needs_auto_capture(payment):
        return payment
    from engine.services.captures import run_capture  # captures builds on settle

    lease = engine.settings.idempotency_lock_timeout
    item = await work_store.lease_for_payment(engine.pool, payment.merchant_id, payment.id, lease)
    return payment if item is None else (await run_capture(engine, item)).payment


def charge_request(engine: Engine, payment: Payment, attempt: Attempt, method: PaymentMethod) -> ChargeRequest:
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
        except Exception:
            if not requests.sent:
                log.exception("connector %s.%s raised before sending anything", gateway, operation)
                GATEWAY_CALLS.labels(gateway, operation, "internal_error").inc()
                raise ConnectorBug("An internal error stopped this request before it reached the gateway.") from None
            log.exception("connector raised after a request left; treating the outcome as unknown")
            result = unknown or ChargeResult(outcome=Outcome.UNKNOWN, error_code="connector_error")
    GATEWAY_SECONDS.labels(gateway, operation).observe(time.perf_counter() - started)
    GATEWAY_CALLS.labels(gateway, operation, str(result.outcome)).inc()
    return result


def require(payment: Payment, allowed: frozenset[str] | set[str], action: str) -> None:
    if payment.status not in allowed:
        raise IllegalTransition(f"This payment's status is {payment.status}; it cannot be {action}.")


async def record_response(engine: Engine, claim: idempotency.Claim | None, status: int, body: bytes) -> Response:
    if claim is not None:
        await idempotency.record(engine, claim, status, body)
    return status, body


async def record_error(engine: Engine, claim: idempotency.Claim | None, exc: EngineError) -> Response:
    """Store and return an error response for a request that already changed state."""
    return await record_response(engine, claim, exc.status, encode({"error": exc.to_dict()}))
