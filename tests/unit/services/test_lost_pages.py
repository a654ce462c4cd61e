"""engine/services/lost_pages.py: a resumed confirm whose page for the customer (3-D Secure,
bank, wallet) died with the first request -- 502 ``authentication_pending`` while the gateway
holds it open, a new attempt under the same key once the gateway failed it, never two charges."""

from __future__ import annotations

import pytest

from engine.errors import AuthenticationPending, OutcomePending
from engine.gateways.base import ChargeResult, Outcome
from engine.model import Payment
from engine.services import idempotency
from engine.services.charging import settle
from engine.services.confirm import confirm
from tests.support.fake_connector import captured, declined, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import a_claim, a_payment, claimed, confirm_cmd, upi

PAGE = "https://gw.example/pages/authenticate/pay_gw_2"


class Crash(BaseException):
    """The process died after the gateway answered (its answer -- the page -- is lost)."""


def pending_authentication() -> ChargeResult:
    """The gateway's status of a payment awaiting authentication: open, and no page in it."""
    return ChargeResult(Outcome.PROCESSING, "pay_gw_1", raw_status="created")


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def crashed(engine, merchant: str, payment: Payment, key: str, cmd=None) -> idempotency.Claim:
    """Confirm ``payment``, die in the gateway call, and return the retry's claim (taken over)."""
    path = f"/v1/payments/{payment.id}/confirm"
    fake(engine, "razorpay").will("authorize", Crash())
    with pytest.raises(Crash):
        await confirm(engine, merchant, payment.id, cmd or confirm_cmd(), await claimed(engine, merchant, key, path))
    return await retake(engine, merchant, payment, key)


async def retake(engine, merchant: str, payment: Payment, key: str) -> idempotency.Claim:
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, key, f"/v1/payments/{payment.id}/confirm"))
    assert isinstance(retry, idempotency.Claim)
    return retry


async def test_an_open_payment_whose_page_was_lost_is_authentication_pending_and_stores_nothing(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", pending_authentication())
    with pytest.raises(AuthenticationPending) as pending:
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    assert isinstance(pending.value, OutcomePending) and pending.value.status == 502
    assert pending.value.retry_after and pending.value.code == "authentication_pending"
    assert (await engine.db.idempotency.get(merchant, "k")).state == "in_flight"  # resumable
    attempt = await engine.db.attempts.latest(p.id, merchant)
    assert attempt.redirect_lost and attempt.status == "processing" and attempt.gateway_reference == "pay_gw_1"
    assert fake(engine, "razorpay").count("authorize") == 1


async def test_once_the_gateway_failed_it_the_same_key_starts_a_new_attempt_with_a_new_page(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", pending_authentication())
    with pytest.raises(AuthenticationPending):
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    await idempotency.unlock(engine, retry)  # the API layer's answer to OutcomePending
    again = await retake(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", declined("authentication_failed"))  # the session expired
    fake(engine, "razorpay").will("authorize", ChargeResult(Outcome.REQUIRES_ACTION, "pay_gw_2", redirect_url=PAGE))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), again)
    assert isinstance(result, Payment) and result.status == "requires_action"
    assert result.next_action == {"type": "redirect", "redirect_url": PAGE}
    first, second = await engine.db.attempts.of_payment(p.id, merchant)
    assert (first.status, second.status) == ("failed", "requires_action")
    assert fake(engine, "razorpay").count("authorize") == 2
    assert (await engine.db.idempotency.get(merchant, "k")).response_status == 200


async def test_a_failure_learnt_before_the_retry_also_starts_over(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", pending_authentication())
    with pytest.raises(AuthenticationPending):
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    await idempotency.unlock(engine, retry)
    attempt = await engine.db.attempts.latest(p.id, merchant)
    await settle(engine, merchant, attempt.id, declined("authentication_failed"))  # the reconciler
    again = await retake(engine, merchant, p, "k")
    fake(engine, "razorpay").will("authorize", captured(49900, reference="pay_gw_2"))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), again)
    assert isinstance(result, Payment) and result.status == "succeeded"
    assert fake(engine, "razorpay").count("sync") == 1  # the failure was known: no second sync


async def test_a_lost_page_the_customer_somehow_completed_is_answered_not_charged_again(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", pending_authentication(), captured(49900))
    with pytest.raises(AuthenticationPending):
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    await idempotency.unlock(engine, retry)
    result = await confirm(engine, merchant, p.id, confirm_cmd(), await retake(engine, merchant, p, "k"))
    assert isinstance(result, Payment) and result.status == "succeeded"
    assert fake(engine, "razorpay").count("authorize") == 1


async def test_a_status_check_that_cannot_tell_keeps_a_lost_page_pending(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k")
    fake(engine, "razorpay").will("sync", pending_authentication(), unknown())
    with pytest.raises(AuthenticationPending):
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    await idempotency.unlock(engine, retry)
    with pytest.raises(AuthenticationPending):  # never "processing" stored as the key's answer
        await confirm(engine, merchant, p.id, confirm_cmd(), await retake(engine, merchant, p, "k"))
    assert (await engine.db.idempotency.get(merchant, "k")).state == "in_flight"


async def test_a_upi_collect_needs_no_page_and_answers_processing(engine, merchant):
    p = await a_payment(engine, merchant)
    retry = await crashed(engine, merchant, p, "k", cmd=confirm_cmd(upi()))
    fake(engine, "razorpay").will("sync", pending_authentication())
    result = await confirm(engine, merchant, p.id, confirm_cmd(upi()), retry)
    assert isinstance(result, Payment) and result.status == "processing" and result.next_action is None
    assert not (await engine.db.attempts.latest(p.id, merchant)).redirect_lost
