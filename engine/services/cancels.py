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
from engine.model import Payment
from engine.services import idempotency
from engine.services.charging import call_connector, payment_lock, ref_of, remember, require, settle
from engine.services.payments import get_payment
from engine.states import CANCELABLE, AttemptStatus, PaymentStatus
from engine.views import payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine


async def cancel(engine: Engine, merchant_id: str, payment_id: str, claim: idempotency.Claim | None) -> Payment:
    """Cancel a payment that has not been captured, voiding an authorization at the gateway."""
    async with payment_lock(engine, payment_id):
        payment = await get_payment(engine, merchant_id, payment_id)
        require(payment, CANCELABLE, "canceled")
        if await engine.db.work.open_for_payment(merchant_id, payment_id) is not None:
            raise IllegalTransition("A capture of this payment is in progress; it cannot be canceled.")
        attempt = await engine.db.attempts.latest(payment_id, merchant_id)
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
                # Final for the key: the API layer stores the error as its response.
                raise GatewayFailure(
                    "The gateway did not confirm the void; the payment was not canceled.", code="void_failed"
                )
            payment = await settle(engine, merchant_id, attempt.id, result)
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
