"""engine/services/refunds.py: partial and multiple refunds, never beyond captured, resumable."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from engine.commands import CreateRefund
from engine.errors import ConnectorBug, IllegalTransition, NotFound, ValidationError
from engine.gateways.base import RefundOutcome, RefundResult
from engine.services import idempotency
from engine.services.idempotency import RecoveryPoint
from engine.services.refunds import create_refund, get_refund, settle_refund
from tests.support.fake_connector import BeforeSend, authorized, captured
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import a_claim, claimed, confirmed

OK = RefundResult(RefundOutcome.SUCCEEDED, gateway_refund_id="rfnd_1")
PENDING = RefundResult(RefundOutcome.PENDING, gateway_refund_id="rfnd_1")
FAILED = RefundResult(RefundOutcome.FAILED, error_code="refund_rejected", error_message="Rejected.")


class Crash(BaseException):
    pass


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


@pytest.fixture
async def paid(engine, merchant):
    return await confirmed(engine, merchant, captured(49900))


async def test_a_full_refund_by_default(engine, merchant, paid):
    fake(engine, "razorpay").will("refund", OK)
    claim = await claimed(engine, merchant, "r1", path="/v1/refunds")
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), claim)
    assert (refund.status, refund.amount, refund.gateway_refund_id) == ("succeeded", 49900, "rfnd_1")
    [call] = fake(engine, "razorpay").sent("refund")
    assert (call.args[0].refund_id, call.args[0].amount) == (refund.id, 49900)  # our id: the gateway's key
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 49900
    types = [e["type"] for e in await engine.db.events.of_object(merchant, refund.id)]
    assert types == ["refund.created", "refund.succeeded"]
    row = await engine.db.idempotency.get(merchant, "r1")
    assert msgspec.json.decode(row.response_body)["id"] == refund.id
    assert await get_refund(engine, merchant, refund.id) == refund


async def test_partial_refunds_add_up_to_at_most_what_was_captured(engine, merchant, paid):
    fake(engine, "razorpay").always("refund", OK)
    await create_refund(engine, merchant, CreateRefund(payment_id=paid.id, amount=20000), None)
    await create_refund(engine, merchant, CreateRefund(payment_id=paid.id, amount=29900), None)
    for amount in (1, None):
        with pytest.raises(ValidationError):
            await create_refund(engine, merchant, CreateRefund(payment_id=paid.id, amount=amount), None)
    assert fake(engine, "razorpay").count("refund") == 2
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 49900


async def test_concurrent_refunds_cannot_both_take_the_rest(engine, merchant, paid):
    fake(engine, "razorpay").always("refund", OK)
    real = engine.db.attempts.of_payment

    async def slow_read(*args):  # both requests read the payment before either reserves
        found = await real(*args)
        await asyncio.sleep(0)
        return found

    engine.db.attempts.of_payment = slow_read
    results = await asyncio.gather(
        *(create_refund(engine, merchant, CreateRefund(payment_id=paid.id, amount=30000), None) for _ in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Refund", "ValidationError"]
    refused = next(r for r in results if isinstance(r, ValidationError))
    assert "(49900)" in refused.message  # it read 49900 refundable: the reservation refused it
    assert fake(engine, "razorpay").count("refund") == 1
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 30000


async def test_a_failed_refund_gives_the_reservation_back(engine, merchant, paid):
    fake(engine, "razorpay").will("refund", FAILED)
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id, amount=10000), None)
    assert (refund.status, refund.error_code) == ("failed", "refund_rejected")
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 0
    fake(engine, "razorpay").will("refund", OK)
    assert (await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)).amount == 49900


async def test_a_connector_bug_fails_the_refund_and_releases_it(engine, merchant, paid):
    fake(engine, "razorpay").will("refund", BeforeSend(TypeError("builder bug")))
    with pytest.raises(ConnectorBug):
        await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    [refund] = memory(engine).tables.refunds.values()
    assert (refund.status, refund.error_code) == ("failed", "internal_error")
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 0


async def test_a_pending_refund_keeps_its_reservation_and_learns_the_gateways_id(engine, merchant, paid):
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.PENDING))
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    assert refund.status == "pending" and refund.gateway_refund_id is None
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 49900
    known = await settle_refund(engine, merchant, refund.id, PENDING)
    assert (known.status, known.gateway_refund_id) == ("pending", "rfnd_1")
    done = await settle_refund(engine, merchant, refund.id, OK)
    assert done.status == "succeeded"
    late = await settle_refund(engine, merchant, refund.id, FAILED)  # never moves back
    assert late.status == "succeeded"
    assert (await engine.db.payments.get(paid.id, merchant)).amount_refunded == 49900


async def test_a_retry_after_a_crash_asks_about_that_refund_instead_of_refunding_again(engine, merchant, paid):
    body = b'{"payment_id":"..."}'
    first = await claimed(engine, merchant, "r-crash", path="/v1/refunds", body=body)
    fake(engine, "razorpay").will("refund", Crash())
    with pytest.raises(Crash):
        await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), first)
    [refund] = memory(engine).tables.refunds.values()
    row = await engine.db.idempotency.get(merchant, "r-crash")
    assert (row.recovery_point, row.object_id) == ("refund_created", refund.id)
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "r-crash", "/v1/refunds", body))
    assert retry.resumes(RecoveryPoint.REFUND_CREATED) == refund.id
    fake(engine, "razorpay").will("refund_status", OK)
    done = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), retry)
    assert (done.id, done.status) == (refund.id, "succeeded")
    assert fake(engine, "razorpay").count("refund") == 1
    assert fake(engine, "razorpay").sent("refund_status")[0].args[0].refund_id == refund.id
    assert len(memory(engine).tables.refunds) == 1


async def test_only_succeeded_payments_are_refundable(engine, merchant):
    held = await confirmed(engine, merchant, authorized(), capture_method="manual")
    with pytest.raises(IllegalTransition):
        await create_refund(engine, merchant, CreateRefund(payment_id=held.id), None)
    with pytest.raises(NotFound) as missing:
        await create_refund(engine, merchant, CreateRefund(payment_id="pay_nope"), None)
    assert missing.value.param == "payment_id"
    with pytest.raises(NotFound):
        await get_refund(engine, merchant, "re_nope")
    assert memory(engine).tables.refunds == {}
