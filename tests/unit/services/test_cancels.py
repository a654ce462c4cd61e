"""engine/services/cancels.py: cancel before capture; an authorization is voided at the gateway."""

from __future__ import annotations

import msgspec
import pytest

from engine.errors import GatewayFailure, IllegalTransition, OutcomePending
from engine.gateways.base import ChargeResult, Outcome
from engine.services import reconciler
from engine.services.cancels import VOID_BACKOFF_S, cancel
from engine.services.captures import capture
from tests.support.fake_connector import authorized, captured, declined, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import a_payment, claimed, confirmed

VOIDED = ChargeResult(Outcome.VOIDED)
CANCEL_RETRY_S = VOID_BACKOFF_S[0]


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def test_a_payment_never_charged_is_canceled_without_a_gateway_call(engine, merchant):
    p = await a_payment(engine, merchant)
    claim = await claimed(engine, merchant, "x1", path=f"/v1/payments/{p.id}/cancel")
    canceled = await cancel(engine, merchant, p.id, claim)
    assert canceled.status == "canceled"
    assert fake(engine, "razorpay").calls == []
    assert [e["type"] for e in await engine.db.events.of_object(merchant, p.id)][-1] == "payment.canceled"
    row = await engine.db.idempotency.get(merchant, "x1")
    assert msgspec.json.decode(row.response_body)["status"] == "canceled"


async def test_an_authorization_is_voided_at_the_gateway(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("void", VOIDED)
    canceled = await cancel(engine, merchant, p.id, None)
    assert (canceled.status, canceled.amount_capturable) == ("canceled", 0)
    [call] = fake(engine, "razorpay").sent("void")
    attempt = await engine.db.attempts.latest(p.id, merchant)
    assert call.args[0].attempt_id == attempt.id and attempt.status == "voided"


async def test_an_unanswered_void_is_pending_not_canceled(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("void", unknown())
    claim = await claimed(engine, merchant, "x2", path=f"/v1/payments/{p.id}/cancel")
    with pytest.raises(OutcomePending) as pending:
        await cancel(engine, merchant, p.id, claim)
    assert pending.value.code == "void_pending"
    assert (await engine.db.payments.get(p.id, merchant)).status == "requires_capture"
    assert (await engine.db.idempotency.get(merchant, "x2")).state == "in_flight"  # nothing final stored
    fake(engine, "razorpay").will("void", VOIDED)  # a retry learns the outcome
    assert (await cancel(engine, merchant, p.id, claim)).status == "canceled"


async def test_a_void_the_gateway_refuses_leaves_the_payment(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("void", declined())
    with pytest.raises(GatewayFailure) as refused:
        await cancel(engine, merchant, p.id, None)
    assert refused.value.code == "void_failed"
    assert (await engine.db.payments.get(p.id, merchant)).status == "requires_capture"


async def test_a_succeeded_or_capturing_payment_cannot_be_canceled(engine, merchant):
    paid = await confirmed(engine, merchant, captured())
    with pytest.raises(IllegalTransition):
        await cancel(engine, merchant, paid.id, None)
    held = await confirmed(engine, merchant, authorized(), capture_method="manual")
    attempt = await engine.db.attempts.latest(held.id, merchant)
    await engine.db.work.add_capture(merchant, held.id, attempt.id, 49900, 0)
    with pytest.raises(IllegalTransition):
        await cancel(engine, merchant, held.id, None)
    assert fake(engine, "razorpay").count("void") == 0


async def test_a_cancel_racing_another_operation_on_the_payment_is_refused(engine, merchant):
    p = await a_payment(engine, merchant)
    async with engine.cache.lock(f"payment:{p.id}"):
        with pytest.raises(IllegalTransition) as busy:
            await cancel(engine, merchant, p.id, None)
    assert busy.value.code == "lock_timeout"
    assert (await cancel(engine, merchant, p.id, None)).status == "canceled"  # the lock was released
    assert memory(engine).tables.payments[p.id].status == "canceled"


async def test_the_worker_finishes_a_void_whose_answer_was_lost(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("void", unknown())
    with pytest.raises(OutcomePending):
        await cancel(engine, merchant, p.id, None)
    [row] = [w for w in memory(engine).tables.work.values() if w.kind == "void"]
    assert row.state == "pending" and row.run_at is not None  # visible, and due again later
    assert await reconciler.run_work_once(engine) == 0  # not due yet
    memory(engine).clock.advance(CANCEL_RETRY_S + 1)
    fake(engine, "razorpay").will("void", VOIDED)  # the client never retried: the worker voids
    assert await reconciler.run_work_once(engine) == 1
    stored = await engine.db.payments.get(p.id, merchant)
    assert (stored.status, stored.amount_capturable) == ("canceled", 0)
    assert memory(engine).tables.work[row.id].state == "done"
    assert fake(engine, "razorpay").count("void") == 2


async def test_a_capture_while_a_void_is_open_is_refused(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("void", unknown())
    with pytest.raises(OutcomePending):
        await cancel(engine, merchant, p.id, None)
    with pytest.raises(IllegalTransition):
        await capture(engine, merchant, p.id, None, None)
    assert fake(engine, "razorpay").count("capture") == 0
