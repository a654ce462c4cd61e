"""Cancel: a payment not yet captured is canceled; an authorization is voided at the gateway.

Voiding twice is safe (the connectors report the order's status after the call), so a cancel
retried after a crash or a lost answer learns that the first void took; an unanswered void is
not a final answer for the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from engine.errors import GatewayFailure, IllegalTransition, OutcomePending
from engine.gateways.base import Outcome
from engine.services import idempotency
from engine.services.charging import (
    Response,
    call_connector,
    payment_lock,
    record_error,
    record_response,
    ref_of,
    require,
    settle,
)
from engine.services.payments import get_payment
from engine.states import CANCELABLE, AttemptStatus, PaymentStatus
from engine.store import payments as store
from engine.store import work as work_store
from engine.views import encode, payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine


async def cancel(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Response:
    """Cancel a payment that has not been captured, voiding an authorization at the gateway."""
    async with payment_lock(engine, payment_id):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, CANCELABLE, "canceled")
        if await work_store.open_for_payment(engine.pool, merchant_id, payment_id) is not None:
            raise IllegalTransition("A capture of this payment is in progress; it cannot be canceled.")
        attempt = await store.latest_attempt(engine.pool, payment_id, merchant_id)
        if attempt is not None and attempt.status == AttemptStatus.AUTHORIZED:
            account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
            result = await call_connector(engine.gateways.connector(account).void, ref_of(attempt, payment.currency))
            if result.outcome is Outcome.UNKNOWN:
                raise OutcomePending(
                    "The gateway did not answer the void; the payment is not canceled yet. "
                    "Retry with the same Idempotency-Key to learn the outcome.",
                    code="void_pending",
                )
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
