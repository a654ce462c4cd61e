"""engine/services/reconciler.py: due work rows, unresolved attempts and pending refunds."""

from __future__ import annotations

import asyncio

import pytest

from engine.commands import CreateRefund
from engine.gateways.base import NO_REFUND, RefundOutcome, RefundResult
from engine.services.captures import capture
from engine.services.reconciler import reconcile_once, reconcile_refunds_once, run_forever, run_work_once
from engine.services.refunds import create_refund
from tests.support.fake_connector import BeforeSend, authorized, captured, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import confirmed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def test_an_unknown_attempt_is_asked_about_once_due_and_settled(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    assert await reconcile_once(engine) == 0  # first check ~5 s after the answer was lost
    memory(engine).clock.advance(6)
    fake(engine, "razorpay").will("sync", captured(49900))
    assert await reconcile_once(engine) == 1
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"
    attempt = await engine.db.attempts.latest(p.id, merchant)
    assert attempt.sync_count == 1 and attempt.status == "captured"
    memory(engine).clock.advance(3600)
    assert await reconcile_once(engine) == 0  # resolved: never asked again


async def test_an_attempt_the_gateway_cannot_resolve_stays_unresolved_on_the_ladder(engine, merchant):
    p = await confirmed(engine, merchant, unknown())
    fake(engine, "razorpay").always("sync", unknown())
    for _ in range(3):
        memory(engine).clock.advance(10)
        assert await reconcile_once(engine, backoff_s=(1, 1)) == 1
    memory(engine).clock.advance(10)
    assert await reconcile_once(engine, backoff_s=(1, 1)) == 0  # ladder exhausted
    attempt = await engine.db.attempts.latest(p.id, merchant)
    assert (attempt.status, attempt.next_sync_at) == ("unknown", None)  # never failed


async def test_one_failing_attempt_does_not_stop_the_others(engine, merchant):
    first = await confirmed(engine, merchant, unknown())
    second = await confirmed(engine, merchant, unknown())
    memory(engine).clock.advance(6)
    order = [a.payment_id for a in sorted(memory(engine).tables.attempts.values(), key=lambda a: a.next_sync_at)]
    answers = {order[0]: BeforeSend(RuntimeError("bug")), order[1]: captured(49900)}
    fake(engine, "razorpay").always(
        "sync", lambda ref: answers[memory(engine).tables.attempts[ref.attempt_id].payment_id]
    )
    assert await reconcile_once(engine) == 2
    statuses = {pid: (await engine.db.payments.get(pid, merchant)).status for pid in (first.id, second.id)}
    assert statuses == {order[0]: "processing", order[1]: "succeeded"}


async def test_a_capture_left_pending_is_run_by_the_worker_asking_first(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    fake(engine, "razorpay").will("capture", unknown())
    with pytest.raises(Exception):
        await capture(engine, merchant, p.id, None, None)
    assert await run_work_once(engine) == 0  # due after the first step of the ladder
    memory(engine).clock.advance(6)
    fake(engine, "razorpay").will("sync", authorized()).will("capture", captured(49900))
    assert await run_work_once(engine) == 1
    assert [c.operation for c in fake(engine, "razorpay").calls if c.operation in ("sync", "capture")] == [
        "capture", "sync", "capture"]  # fmt: skip
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"


async def test_a_leased_capture_is_not_claimed_by_the_worker(engine, merchant):
    p = await confirmed(engine, merchant, authorized(), capture_method="manual")
    attempt = await engine.db.attempts.latest(p.id, merchant)
    await engine.db.work.add_capture(merchant, p.id, attempt.id, 49900, engine.settings.idempotency_lock_timeout)
    assert await run_work_once(engine) == 0
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)  # its holder died
    fake(engine, "razorpay").will("sync", authorized()).will("capture", captured(49900))
    assert await run_work_once(engine) == 1
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"


async def test_a_pending_refund_is_asked_about_when_due(engine, merchant):
    paid = await confirmed(engine, merchant, captured(49900))
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.PENDING))
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    assert await reconcile_refunds_once(engine) == 0
    memory(engine).clock.advance(61)
    fake(engine, "razorpay").will("refund_status", BeforeSend(RuntimeError("bug")))
    assert await reconcile_refunds_once(engine) == 1
    assert (await engine.db.refunds.get(refund.id, merchant)).status == "pending"  # a raise tells nothing
    memory(engine).clock.advance(11)
    fake(engine, "razorpay").will("refund_status", RefundResult(RefundOutcome.FAILED, error_code="rejected"))
    assert await reconcile_refunds_once(engine) == 1
    assert (await engine.db.refunds.get(refund.id, merchant)).status == "failed"
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 0


async def test_a_refund_the_gateway_never_got_is_sent_by_the_reconciler_under_its_own_id(engine, merchant):
    paid = await confirmed(engine, merchant, captured())
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.UNKNOWN, error_code="transport_ReadTimeout"))
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    memory(engine).clock.advance(61)  # its first check is due
    fake(engine, "razorpay").will("refund_status", RefundResult(RefundOutcome.UNKNOWN, error_code=NO_REFUND))
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.PENDING, gateway_refund_id="rf_1"))
    assert await reconcile_refunds_once(engine) == 1
    [first, again] = fake(engine, "razorpay").sent("refund")
    assert again.args[0].refund_id == first.args[0].refund_id == refund.id  # the same id: never a second refund
    stored = await engine.db.refunds.get(refund.id, merchant)
    assert (stored.status, stored.gateway_refund_id) == ("pending", "rf_1")


async def test_a_stop_lands_between_two_attempts_and_leaves_the_rest_unclaimed(engine, merchant):
    """SIGTERM while the reconciler is at the gateway for the first of five due attempts: the loop
    ends after that one, and the other four were never claimed (no backoff step spent), so the
    next start checks them at once."""
    payments = [await confirmed(engine, merchant, unknown()) for _ in range(5)]
    memory(engine).clock.advance(6)
    stop = asyncio.Event()

    def first(_ref: object) -> object:
        stop.set()  # the stop signal arrives while this check is in flight
        return captured(49900)

    fake(engine, "razorpay").will("sync", first)
    await asyncio.wait_for(run_forever(engine, 3600, stop), 5)
    attempts = [await engine.db.attempts.latest(p.id, merchant) for p in payments]
    assert sorted(a.sync_count for a in attempts) == [0, 0, 0, 0, 1]
    assert sum(a.status == "captured" for a in attempts) == 1
    fake(engine, "razorpay").always("sync", captured(49900))
    assert await reconcile_once(engine) == 4  # the next start: due at once
    statuses = {(await engine.db.payments.get(p.id, merchant)).status for p in payments}
    assert statuses == {"succeeded"}


async def test_a_stop_lands_between_two_work_items(engine, merchant):
    """The same for follow-up work rows (captures here): one runs, the rest stay pending, unleased."""
    paid = [await confirmed(engine, merchant, authorized(), capture_method="manual") for _ in range(3)]
    for p in paid:
        attempt = await engine.db.attempts.latest(p.id, merchant)
        await engine.db.work.add_capture(merchant, p.id, attempt.id, 49900, 0)
    memory(engine).clock.advance(1)
    stop = asyncio.Event()

    def first(*_args: object) -> object:
        stop.set()
        return captured(49900)

    fake(engine, "razorpay").will("capture", first)  # a first run captures without a sync first
    assert await run_work_once(engine, stop=stop) == 1
    statuses = sorted([(await engine.db.payments.get(p.id, merchant)).status for p in paid])
    assert statuses == ["requires_capture", "requires_capture", "succeeded"]
    fake(engine, "razorpay").always("capture", captured(49900))
    assert await run_work_once(engine) == 2
    assert {(await engine.db.payments.get(p.id, merchant)).status for p in paid} == {"succeeded"}
