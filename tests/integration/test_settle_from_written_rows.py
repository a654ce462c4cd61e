"""Confirm settles the gateway's answer without reading the rows back: it knows them as it wrote
them. When another writer (a webhook, the worker) changed them meanwhile, the guarded write
fails and the fold starts over from what is stored -- nothing is overwritten or counted twice."""

from __future__ import annotations

import pytest

from engine.commands import CreatePayment
from engine.gateways.base import ChargeResult, Outcome
from engine.services import charging, routing
from engine.services import confirm as confirming
from engine.services.payments import get_payment, new_payment

pytestmark = pytest.mark.integration


async def started_attempt(stack, merchant_id: str):  # type: ignore[no-untyped-def]
    """A payment in ``processing`` with its pending attempt, as confirm's first phase leaves it."""
    engine = stack.engine
    payment = new_payment(merchant_id, CreatePayment(amount=7000, currency="INR", gateway="razorpay"))
    await engine.db.payments.insert(payment, {})
    plan = await routing.plan(engine, merchant_id, "INR", "card", "razorpay")
    masked = {"type": "card", "brand": "visa", "last4": "1111"}
    return await confirming._start(engine, payment, plan.candidates[0], "card", masked, None, plan, None)


async def test_written_rows_settle_in_one_write(stack) -> None:
    merchant_id, _ = await stack.new_merchant()
    payment, attempt = await started_attempt(stack, merchant_id)
    captured = ChargeResult(Outcome.CAPTURED, gateway_reference="pay_x", amount_captured=7000)
    outcome = await charging.finish(stack.engine, payment, attempt.id, captured, None, rows=(payment, attempt))
    assert outcome.status == "succeeded" and outcome.amount_received == 7000
    assert outcome.version == payment.version + 1


async def test_rows_changed_meanwhile_are_read_again_not_overwritten(stack) -> None:
    merchant_id, _ = await stack.new_merchant()
    payment, attempt = await started_attempt(stack, merchant_id)
    # A webhook lands while the gateway call is in flight: the customer must authenticate.
    redirect = ChargeResult(Outcome.REQUIRES_ACTION, gateway_reference="pay_x", redirect_url="https://bank/acs")
    moved = await charging.settle(stack.engine, merchant_id, attempt.id, redirect)
    assert moved.status == "requires_action" and moved.version > payment.version

    # The original answer is folded with the rows as confirm wrote them: stale now.
    captured = ChargeResult(Outcome.CAPTURED, gateway_reference="pay_x", amount_captured=7000)
    outcome = await charging.finish(stack.engine, payment, attempt.id, captured, None, rows=(payment, attempt))

    stored = await get_payment(stack.engine, merchant_id, payment.id)
    assert stored.status == "succeeded" and stored.amount_received == 7000, stored
    assert outcome == stored
    assert stored.version == moved.version + 1  # folded onto the webhook's write, not over it
    events = [e["type"] for e in await stack.engine.db.events.of_object(merchant_id, payment.id)]
    assert events.count("payment.succeeded") == 1 and "payment.requires_action" in events, events
