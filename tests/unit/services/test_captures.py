"""engine/services/captures.py: every capture is a work row run by whoever leases it; a try
after the first asks the gateway before capturing again."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest

from engine.errors import GatewayFailure, IllegalTransition, OutcomePending, ValidationError
from engine.gateways import registry
from engine.services import captures, idempotency
from engine.services.captures import capture, run_capture
from engine.services.idempotency import RecoveryPoint
from tests.support.fake_connector import BeforeSend, authorized, captured, declined, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import a_claim, claimed, confirmed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def authorized_payment(engine, merchant):
    return await confirmed(engine, merchant, authorized(), capture_method="manual")


async def test_capture_takes_the_whole_authorization_and_closes_its_work(engine, merchant):
    p = await authorized_payment(engine, merchant)
    fake(engine, "razorpay").will("capture", captured(49900))
    claim = await claimed(engine, merchant, "cap1", path=f"/v1/payments/{p.id}/capture")
    paid = await capture(engine, merchant, p.id, None, claim)
    assert (paid.status, paid.amount_received, paid.amount_capturable) == ("succeeded", 49900, 0)
    [call] = fake(engine, "razorpay").sent("capture")
    assert call.args[1] == 49900
    [work] = memory(engine).tables.work.values()
    assert (work.state, work.tries) == ("done", 1)
    row = await engine.db.idempotency.get(merchant, "cap1")
    assert row.state == "done" and msgspec.json.decode(row.response_body)["status"] == "succeeded"


async def test_partial_capture_needs_the_capability(engine, merchant, monkeypatch):
    p = await authorized_payment(engine, merchant)
    with pytest.raises(ValidationError) as refused:
        await capture(engine, merchant, p.id, 30000, None)
    assert refused.value.code == "partial_capture_unsupported"
    assert fake(engine, "razorpay").count("capture") == 0 and memory(engine).tables.work == {}
    partial = dataclasses.replace(registry.capabilities("razorpay"), partial_capture=True)
    monkeypatch.setattr(captures.registry, "capabilities", lambda gateway: partial)
    fake(engine, "razorpay").will("capture", captured())  # the gateway echoes no amount
    paid = await capture(engine, merchant, p.id, 30000, None)
    assert fake(engine, "razorpay").sent("capture")[0].args[1] == 30000
    assert (paid.status, paid.amount_received) == ("succeeded", 30000)


async def test_capture_amount_is_bounded_by_what_is_capturable(engine, merchant):
    p = await authorized_payment(engine, merchant)
    for amount, code in ((0, "amount_too_small"), (-5, "amount_too_small"), (49901, "amount_too_large")):
        with pytest.raises(ValidationError) as refused:
            await capture(engine, merchant, p.id, amount, None)
        assert (refused.value.code, refused.value.param) == (code, "amount"), amount
    assert fake(engine, "razorpay").count("capture") == 0


async def test_only_an_authorized_payment_can_be_captured(engine, merchant):
    p = await confirmed(engine, merchant, captured())
    with pytest.raises(IllegalTransition):
        await capture(engine, merchant, p.id, None, None)
    assert fake(engine, "razorpay").count("capture") == 0


async def test_an_unanswered_capture_is_pending_and_a_retry_asks_before_capturing(engine, merchant):
    p = await authorized_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/capture"
    first = await claimed(engine, merchant, "cap2", path=path)
    fake(engine, "razorpay").will("capture", unknown())
    with pytest.raises(OutcomePending) as pending:
        await capture(engine, merchant, p.id, None, first)
    assert pending.value.code == "capture_pending"
    [work] = memory(engine).tables.work.values()
    assert (work.state, work.held_until, work.last_error) == ("pending", None, "ReadTimeout")
    assert work.run_at is not None  # retried on the ladder
    row = await engine.db.idempotency.get(merchant, "cap2")
    assert (row.state, row.recovery_point, row.object_id) == ("in_flight", "capture_started", p.id)
    await idempotency.unlock(engine, first)  # what the API does on OutcomePending
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "cap2", path))
    assert retry.resumes(RecoveryPoint.CAPTURE_STARTED) == p.id
    fake(engine, "razorpay").will("sync", captured(49900))  # the first capture had taken
    paid = await capture(engine, merchant, p.id, None, retry)
    assert paid.status == "succeeded"
    assert fake(engine, "razorpay").count("capture") == 1  # never sent twice
    assert memory(engine).tables.work[work.id].state == "done"


async def test_a_refused_capture_is_final_and_the_payment_stays_capturable(engine, merchant):
    p = await authorized_payment(engine, merchant)
    fake(engine, "razorpay").will("capture", declined("capture_window_expired"))
    with pytest.raises(GatewayFailure) as refused:
        await capture(engine, merchant, p.id, None, None)
    assert refused.value.code == "capture_failed"
    [work] = memory(engine).tables.work.values()
    assert (work.state, work.last_error) == ("failed", "capture_window_expired")
    assert (await engine.db.payments.get(p.id, merchant)).status == "requires_capture"


async def test_a_capture_already_running_elsewhere_is_refused(engine, merchant):
    p = await authorized_payment(engine, merchant)
    attempt = await engine.db.attempts.latest(p.id, merchant)
    await engine.db.work.add_capture(merchant, p.id, attempt.id, 10000, 60)  # another request holds it
    with pytest.raises(IllegalTransition):
        await capture(engine, merchant, p.id, None, None)
    assert fake(engine, "razorpay").count("capture") == 0


async def test_run_capture_retries_later_when_the_connector_raises(engine, merchant):
    p = await authorized_payment(engine, merchant)
    attempt = await engine.db.attempts.latest(p.id, merchant)
    item = await engine.db.work.add_capture(merchant, p.id, attempt.id, 49900, 60)
    fake(engine, "razorpay").will("capture", BeforeSend(RuntimeError("bug")))
    with pytest.raises(Exception):
        await run_capture(engine, item)
    stored = memory(engine).tables.work[item.id]
    assert (stored.state, stored.last_error, stored.held_until) == ("pending", "ConnectorBug", None)


async def test_run_capture_of_an_attempt_captured_by_other_news_just_closes(engine, merchant):
    p = await confirmed(engine, merchant, captured())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    item = await engine.db.work.add_capture(merchant, p.id, attempt.id, 49900, 60)
    run = await run_capture(engine, item)
    assert run.state == "done" and fake(engine, "razorpay").count("capture") == 0
