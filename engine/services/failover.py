"""Failover between gateways: the next allowed target and the hand-over to it.

Only a ``RETRYABLE`` answer (nothing can have moved) fails over; ``confirm`` decides when.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.gateways.base import ChargeResult, PaymentMethod
from engine.model import Attempt, GatewayAccount, Payment
from engine.payment_rules import fail_over
from engine.services import bulkhead
from engine.services.payments import write_change

if TYPE_CHECKING:
    from engine.bootstrap import Engine


async def next_allowed(engine: Engine, remaining: list[GatewayAccount]) -> tuple[GatewayAccount, bulkhead.Slot] | None:
    """The next failover target with room in its bulkhead whose breaker lets this payment
    through (taking a half-open breaker's probe only now that the payment really goes there),
    and the bulkhead slot taken for it."""
    while remaining:
        candidate = remaining.pop(0)
        slot = engine.bulkheads.enter(candidate.gateway)
        if slot is None:
            continue  # full: nothing was sent there, try the next one
        try:
            allowed = await engine.breaker.allow(candidate.gateway)
        except BaseException:
            slot.release()
            raise
        if allowed:
            return candidate, slot
        slot.release()
    return None


async def hand_over(
    engine: Engine,
    payment: Payment,
    attempt: Attempt,
    result: ChargeResult,
    following: GatewayAccount,
    method: PaymentMethod,
) -> tuple[Payment, Attempt]:
    """Fail the attempt with its reason and open the next one, in one transaction."""
    async with engine.db.transaction() as uow:
        locked_payment = await uow.payments.lock(payment.id, payment.merchant_id)
        locked_attempt = await uow.attempts.lock(attempt.id, payment.merchant_id)
        assert locked_payment is not None and locked_attempt is not None
        change = fail_over(locked_payment, locked_attempt, result, following.gateway)
        payment = await write_change(uow, change)
        attempt = await uow.attempts.insert(payment, following.gateway, following.id, method.type)
    return payment, attempt
