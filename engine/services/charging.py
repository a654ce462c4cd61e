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
from typing import TYPE_CHECKING

import msgspec

from engine.errors import CardDeclined, EngineError, GatewayFailure, IllegalTransition, ValidationError
from engine.gateways import registry
from engine.gateways.base import AttemptRef, ChargeRequest, ChargeResult, Outcome, PaymentMethod
from engine.metrics import GATEWAY_CALLS, GATEWAY_SECONDS
from engine.model import Attempt, GatewayAccount, Payment
from engine.payment_rules import apply_charge_result
from engine.services import idempotency
from engine.services.payments import get_payment, write_change
from engine.states import CANCELABLE, UNRESOLVED_ATTEMPTS, AttemptStatus, PaymentStatus
from engine.store import payments as store
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


async def capture(
    engine: Engine, merchant_id: str, payment_id: str, amount: int | None, claim: idempotency.Claim | None
) -> Response:
    """Capture all or part of an authorized payment; the rest of the hold is released."""
    async with engine.cache.lock(f"payment:{payment_id}"):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, {PaymentStatus.REQUIRES_CAPTURE}, "captured")
        amount = payment.amount_capturable if amount is None else amount
        if not 0 < amount <= payment.amount_capturable:
            raise ValidationError(
                f"amount must be between 1 and {payment.amount_capturable}.", code="amount_too_large", param="amount"
            )
        attempt, account = await _current(engine, payment)
        if amount != payment.amount_capturable and not registry.capabilities(account.gateway).partial_capture:
            raise ValidationError(
                f"{account.gateway} captures only the full authorized amount ({payment.amount_capturable}).",
                code="partial_capture_unsupported",
                param="amount",
            )
        result = await call_connector(
            engine.gateways.connector(account).capture, ref_of(attempt, payment.currency), amount
        )
        if result.outcome is Outcome.CAPTURED and not result.amount_captured:
            result = msgspec.structs.replace(result, amount_captured=amount)
        payment = await settle(engine, merchant_id, attempt.id, result)
        if payment.status != PaymentStatus.SUCCEEDED:
            return await record_error(
                engine,
                claim,
                GatewayFailure(
                    "The gateway did not confirm the capture; the payment is still capturable. Retry or sync.",
                    code="capture_failed",
                ),
            )
        return await _record(engine, claim, 200, encode(payment_view(payment)))


async def cancel(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Response:
    """Cancel a payment that has not been captured, voiding an authorization at the gateway."""
    async with engine.cache.lock(f"payment:{payment_id}"):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, CANCELABLE, "canceled")
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
        return await _record(engine, claim, 200, encode(payment_view(payment)))


async def sync(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Response:
    """Ask the gateway for the latest status of the payment's current attempt and settle it."""
    payment = await get_payment(engine, merchant_id, payment_id)
    attempt = await store.latest_attempt(engine.pool, payment_id, merchant_id)
    if attempt is not None and (attempt.status in UNRESOLVED_ATTEMPTS or attempt.status == AttemptStatus.AUTHORIZED):
        account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
        result = await call_connector(engine.gateways.connector(account).sync, ref_of(attempt, payment.currency))
        return await finish(engine, account, payment, attempt.id, result, claim, respond_errors=False)
    return await _record(engine, claim, 200, encode(payment_view(payment)))


async def settle(engine: Engine, merchant_id: str, attempt_id: str, result: ChargeResult) -> Payment:
    """Fold a gateway answer into the attempt and its payment, under row locks, in one transaction."""
    async with engine.pool.acquire() as conn, conn.transaction():
        # Lock order everywhere: payment, then attempt (then refund) -- never the reverse.
        unlocked = await store.get_attempt(conn, attempt_id, merchant_id)
        assert unlocked is not None
        payment = await store.lock_payment(conn, unlocked.payment_id, merchant_id)
        attempt = await store.lock_attempt(conn, attempt_id, merchant_id)
        assert payment is not None and attempt is not None
        change = apply_charge_result(payment, attempt, result)
        if change is None:
            return payment
        if change.attempt.status == AttemptStatus.UNKNOWN and attempt.status != AttemptStatus.UNKNOWN:
            # An unknown outcome is checked soon, whatever its original schedule said.
            soon = datetime.now(UTC) + timedelta(seconds=FIRST_CHECK_UNKNOWN_S)
            change = msgspec.structs.replace(change, attempt=msgspec.structs.replace(change.attempt, next_sync_at=soon))
        return await write_change(conn, change)


async def finish(
    engine: Engine,
    account: GatewayAccount,
    payment: Payment,
    attempt_id: str,
    result: ChargeResult,
    claim: idempotency.Claim | None,
    *,
    respond_errors: bool = True,
    ok_status: int = 200,
) -> Response:
    """Settle an answer, capture an automatic payment's authorization, respond and record."""
    payment = await settle(engine, payment.merchant_id, attempt_id, result)
    if payment.status == PaymentStatus.REQUIRES_CAPTURE and payment.capture_method == "automatic":
        payment = await capture_authorized(engine, account, payment, attempt_id)
    status, body = payment_response(payment, ok_status) if respond_errors else (200, encode(payment_view(payment)))
    return await _record(engine, claim, status, body)


async def capture_authorized(engine: Engine, account: GatewayAccount, payment: Payment, attempt_id: str) -> Payment:
    """Automatic capture of an authorization (gateways that do not capture by themselves)."""
    attempt = await store.latest_attempt(engine.pool, payment.id, payment.merchant_id)
    assert attempt is not None and attempt.id == attempt_id
    result = await call_connector(
        engine.gateways.connector(account).capture, ref_of(attempt, payment.currency), attempt.amount
    )
    if result.outcome is Outcome.CAPTURED and not result.amount_captured:
        result = msgspec.structs.replace(result, amount_captured=attempt.amount)
    return await settle(engine, payment.merchant_id, attempt_id, result)


async def _current(engine: Engine, payment: Payment) -> tuple[Attempt, GatewayAccount]:
    attempt = await store.latest_attempt(engine.pool, payment.id, payment.merchant_id)
    if attempt is None or attempt.status != AttemptStatus.AUTHORIZED:
        raise IllegalTransition("This payment has no authorized attempt to capture.")
    return attempt, await engine.gateways.account(payment.merchant_id, attempt.gateway_account_id, attempt.gateway)


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


async def call_connector(fn, *args) -> ChargeResult:  # type: ignore[no-untyped-def]
    """Run a connector call, timed and counted; a bug inside it is an unknown outcome, never a failure."""
    gateway, operation = getattr(getattr(fn, "__self__", None), "name", "unknown"), fn.__name__
    started = time.perf_counter()
    try:
        result: ChargeResult = await fn(*args)
    except Exception:
        log.exception("connector raised; treating the outcome as unknown")
        result = ChargeResult(outcome=Outcome.UNKNOWN, error_code="connector_error")
    GATEWAY_SECONDS.labels(gateway, operation).observe(time.perf_counter() - started)
    GATEWAY_CALLS.labels(gateway, operation, str(result.outcome)).inc()
    return result


def require(payment: Payment, allowed: frozenset[str] | set[str], action: str) -> None:
    if payment.status not in allowed:
        raise IllegalTransition(f"This payment's status is {payment.status}; it cannot be {action}.")


async def _record(engine: Engine, claim: idempotency.Claim | None, status: int, body: bytes) -> Response:
    if claim is not None:
        await idempotency.record(engine, claim, status, body)
    return status, body


async def record_error(engine: Engine, claim: idempotency.Claim | None, exc: EngineError) -> Response:
    """Store and return an error response for a request that already changed state."""
    return await _record(engine, claim, exc.status, encode({"error": exc.to_dict()}))
