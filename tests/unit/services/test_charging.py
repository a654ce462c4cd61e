"""engine/services/charging.py: settle (any news, any order), sync, finish, auto_capture."""

from __future__ import annotations

import msgspec
import pytest

from engine.errors import NotFound
from engine.gateways.base import ChargeResult, Outcome
from engine.services import charging
from engine.services.charging import auto_capture, finish, settle, sync
from engine.store.phases import StaleWrite
from tests.support.fake_connector import authorized, captured, declined, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import claimed, confirmed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def test_settle_folds_news_and_never_moves_backwards(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    paid = await settle(engine, merchant, attempt.id, captured(49900))
    assert (paid.status, paid.amount_received) == ("succeeded", 49900)
    late = await settle(engine, merchant, attempt.id, ChargeResult(Outcome.PROCESSING))
    assert late.status == "succeeded"
    failed_late = await settle(engine, merchant, attempt.id, declined())
    assert failed_late.status == "succeeded" and failed_late.last_error is None
    again = await settle(engine, merchant, attempt.id, captured(49900))  # a duplicate: nothing to write
    assert again.version == paid.version
    types = [e["type"] for e in await engine.db.events.of_object(merchant, p.id)]
    assert types.count("payment.succeeded") == 1


async def test_settle_folds_again_from_a_fresh_read_after_losing_a_race(engine, merchant, monkeypatch):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    real, folds = charging.settle_in, []

    async def racing(uow, eng, payment, att, result, **kw):
        folds.append(att.version)
        if len(folds) == 1:  # another writer (a webhook) moves the rows between our read and write
            fresh = await engine.db.phases.read_for_settle(att.id, merchant)
            await real(engine.db, eng, *fresh, ChargeResult(Outcome.PROCESSING, gateway_reference="gw_9"))
        return await real(uow, eng, payment, att, result, **kw)

    monkeypatch.setattr(charging, "settle_in", racing)
    paid = await settle(engine, merchant, attempt.id, captured(49900))
    assert paid.status == "succeeded"
    assert folds[1] == folds[0] + 1  # the second fold saw the other writer's version
    stored = await engine.db.attempts.get(attempt.id, merchant)
    assert (stored.status, stored.gateway_reference) == ("captured", "gw_9")  # both news kept
    with pytest.raises(StaleWrite):  # and a write over the stale read itself is refused
        await real(engine.db, engine, p, attempt, captured())


async def test_settling_an_automatic_authorization_opens_its_capture_work(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    payment = await settle(engine, merchant, attempt.id, authorized())
    assert payment.status == "requires_capture"
    [work] = memory(engine).tables.work.values()
    assert (work.kind, work.attempt_id, work.amount, work.state, work.held_until) == (
        "capture", attempt.id, 49900, "pending", None)  # fmt: skip
    fake(engine, "razorpay").will("capture", captured(49900))
    done = await auto_capture(engine, payment)
    assert done.status == "succeeded"
    assert memory(engine).tables.work[work.id].state == "done"


async def test_auto_capture_leaves_a_leased_capture_to_its_holder(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    payment = await settle(engine, merchant, attempt.id, authorized())
    assert await engine.db.work.lease_for_payment(merchant, p.id, 60) is not None  # someone else runs it
    assert await auto_capture(engine, payment) == payment
    assert fake(engine, "razorpay").count("capture") == 0


async def test_auto_capture_does_nothing_for_manual_or_settled_payments(engine, merchant):
    manual = await confirmed(engine, merchant, authorized(), capture_method="manual")
    assert await auto_capture(engine, manual) == manual
    paid = await confirmed(engine, merchant, captured())
    assert await auto_capture(engine, paid) == paid
    assert fake(engine, "razorpay").count("capture") == 0


async def test_sync_asks_the_gateway_about_the_current_attempt(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    fake(engine, "razorpay").will("sync", captured(49900))
    claim = await claimed(engine, merchant, "s1", path=f"/v1/payments/{p.id}/sync")
    synced = await sync(engine, merchant, p.id, claim)
    assert synced.status == "succeeded"
    [call] = fake(engine, "razorpay").sent("sync")
    assert call.args[0].attempt_id == (await engine.db.attempts.latest(p.id, merchant)).id
    row = await engine.db.idempotency.get(merchant, "s1")
    assert msgspec.json.decode(row.response_body)["status"] == "succeeded"


async def test_sync_reports_a_failed_attempt_as_the_payment_not_an_error(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    fake(engine, "razorpay").will("sync", declined())
    synced = await sync(engine, merchant, p.id, None)
    assert synced.status == "requires_payment_method" and synced.last_error["code"] == "card_declined"


async def test_sync_of_a_settled_payment_asks_nothing(engine, merchant):
    p = await confirmed(engine, merchant, captured())
    assert (await sync(engine, merchant, p.id, None)).status == "succeeded"
    assert fake(engine, "razorpay").count("sync") == 0
    with pytest.raises(NotFound):
        await sync(engine, merchant, "pay_nope", None)


async def test_no_payment_at_the_gateway_fails_an_old_unanswered_attempt_only(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    absent = ChargeResult(Outcome.UNKNOWN, raw_status="no_payment")
    young = await settle(engine, merchant, attempt.id, absent)
    assert young.status == "processing"  # a live request may still be creating it
    memory(engine).clock.advance(charging.absent_after_s(engine) + 1)  # the services' clock too
    concluded = await settle(engine, merchant, attempt.id, absent)
    assert concluded.status == "requires_payment_method"
    failed = await engine.db.attempts.get(attempt.id, merchant)
    assert (failed.status, failed.error_code) == ("failed", "gateway_unavailable")  # safe to pay again
    assert "nothing was charged" in failed.error_message


async def test_finish_writes_the_keys_answer_with_the_settlement(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    attempt = await engine.db.attempts.latest(p.id, merchant)
    claim = await claimed(engine, merchant, "f1", path=f"/v1/payments/{p.id}/confirm")
    outcome = await finish(engine, p, attempt.id, declined(), claim)
    assert outcome.error.code == "card_declined"
    row = await engine.db.idempotency.get(merchant, "f1")
    assert row.response_status == 402 and msgspec.json.decode(row.response_body)["error"]["payment_id"] == p.id
