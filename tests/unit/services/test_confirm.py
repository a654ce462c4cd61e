"""engine/services/confirm.py: charge through the routed gateways, fail over only when nothing
moved, never charge twice for one key."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from engine.errors import (
    CardDeclined,
    ConnectorBug,
    GatewayFailure,
    IdempotencyError,
    IllegalTransition,
    NotFound,
    OutcomePending,
    ValidationError,
)
from engine.gateways.base import ChargeResult, Outcome
from engine.model import Payment
from engine.results import Declined
from engine.services import charging, idempotency
from engine.services.confirm import confirm
from engine.services.idempotency import RecoveryPoint
from engine.views import PaymentObject
from tests.support.fake_connector import BeforeSend, authorized, captured, declined, retryable, unknown
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import a_claim, a_payment, card, claimed, confirm_cmd


class Crash(BaseException):
    """The process died mid-call (nothing after this line of the request runs)."""


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay", "payu")


async def test_a_captured_answer_succeeds_the_payment_and_stores_the_keys_response(engine, merchant):
    p = await a_payment(engine, merchant, 49900)
    fake(engine, "razorpay").will("authorize", captured(49900))
    claim = await claimed(engine, merchant, "c1", path=f"/v1/payments/{p.id}/confirm")
    result = await confirm(engine, merchant, p.id, confirm_cmd(), claim)
    assert isinstance(result, Payment)
    assert (result.status, result.amount_received, result.gateway) == ("succeeded", 49900, "razorpay")
    assert result.payment_method == {"type": "card", "brand": "visa", "last4": "1111", "exp_month": 12,
                                     "exp_year": 2030}  # fmt: skip
    [call] = fake(engine, "razorpay").sent("authorize")
    request = call.args[0]
    assert (request.amount, request.capture, request.payment_id) == (49900, True, p.id)
    assert request.method.card.number == "4111111111111111"  # the raw card reaches the connector only
    assert request.callback_url.endswith(f"/v1/callbacks/razorpay/{merchant}/{p.id}")
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert (attempt.status, attempt.amount_captured, attempt.gateway_reference) == ("captured", 49900, "pay_gw_1")
    row = await engine.db.idempotency.get(merchant, "c1")
    assert row.state == "done" and row.response_status == 200
    assert msgspec.json.decode(row.response_body, type=PaymentObject).status == "succeeded"
    assert fake(engine, "payu").calls == []
    types = [e["type"] for e in await engine.db.events.of_object(merchant, p.id)]
    assert types == ["payment.created", "payment.processing", "payment.succeeded"]
    assert b"4111111111111111" not in repr(memory(engine).tables.__dict__).encode()


async def test_a_decline_returns_declined_and_the_payment_awaits_a_new_method(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", declined("insufficient_funds"))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert isinstance(result, Declined) and isinstance(result.error, CardDeclined)
    assert result.error.decline_code == "insufficient_funds"
    assert result.payment.status == "requires_payment_method"
    assert result.payment.last_error["decline_code"] == "insufficient_funds"
    assert fake(engine, "payu").calls == []  # a decline is the issuer's answer: no failover
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert (attempt.status, attempt.decline_code) == ("failed", "insufficient_funds")
    fake(engine, "razorpay").will("authorize", captured())
    again = await confirm(engine, merchant, p.id, confirm_cmd(), None)  # another method may be tried
    assert isinstance(again, Payment) and again.status == "succeeded"


async def test_a_retryable_failure_fails_over_to_the_next_gateway(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", retryable("gateway_5xx"))
    fake(engine, "payu").will("authorize", captured(49900, reference="payu_1"))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert isinstance(result, Payment) and (result.status, result.gateway) == ("succeeded", "payu")
    first, second = await engine.db.attempts.of_payment(p.id, merchant)
    assert (first.gateway, first.status, first.failover_reason) == ("razorpay", "failed", "gateway_5xx")
    assert (second.gateway, second.status) == ("payu", "captured")
    [failover] = result.routing["failovers"]
    assert (failover["from"], failover["to"], failover["attempt_id"]) == ("razorpay", "payu", first.id)
    assert fake(engine, "razorpay").count("authorize") == fake(engine, "payu").count("authorize") == 1


async def test_a_retryable_failure_on_the_last_gateway_is_a_gateway_failure(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", retryable())
    fake(engine, "payu").will("authorize", retryable())
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert isinstance(result, Declined) and isinstance(result.error, GatewayFailure)
    assert result.error.code == "gateway_unavailable"


async def test_a_named_gateway_never_fails_over(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", retryable())
    result = await confirm(engine, merchant, p.id, confirm_cmd(gateway="razorpay"), None)
    assert isinstance(result, Declined)
    assert fake(engine, "payu").calls == []


async def test_an_unknown_outcome_never_fails_over_and_stays_processing(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", unknown())
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert isinstance(result, Payment) and result.status == "processing"
    assert fake(engine, "payu").calls == []  # the first gateway may have charged
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert attempt.status == "unknown"
    assert (attempt.next_sync_at - attempt.updated_at).total_seconds() <= 5.0


async def test_a_connector_that_raises_after_sending_is_an_unknown_outcome(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", ConnectionResetError("dropped after the request left"))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert isinstance(result, Payment) and result.status == "processing"
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert (attempt.status, attempt.error_code) == ("unknown", None)
    assert fake(engine, "payu").calls == []


async def test_a_connector_bug_before_sending_is_500_and_the_attempt_fails_internal_error(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", BeforeSend(KeyError("builder bug")))
    with pytest.raises(ConnectorBug):
        await confirm(engine, merchant, p.id, confirm_cmd(), None)
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert (attempt.status, attempt.error_code) == ("failed", "internal_error")
    payment = await engine.db.payments.get(p.id, merchant)
    assert payment.status == "requires_payment_method"
    assert fake(engine, "payu").calls == []  # a bug is not a gateway outage: no failover


async def test_a_manual_payment_stops_at_requires_capture_without_capturing(engine, merchant):
    p = await a_payment(engine, merchant, capture_method="manual")
    fake(engine, "razorpay").will("authorize", authorized())
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert (result.status, result.amount_capturable) == ("requires_capture", 49900)
    assert fake(engine, "razorpay").sent("authorize")[0].args[0].capture is False
    assert fake(engine, "razorpay").count("capture") == 0
    assert memory(engine).tables.work == {}


async def test_an_automatic_payment_answered_authorized_is_captured_at_once(engine, merchant):
    p = await a_payment(engine, merchant)
    claim = await claimed(engine, merchant, "c-auto", path=f"/v1/payments/{p.id}/confirm")
    fake(engine, "razorpay").will("authorize", authorized()).will("capture", captured())
    result = await confirm(engine, merchant, p.id, confirm_cmd(), claim)
    assert (result.status, result.amount_received) == ("succeeded", 49900)
    [capture] = fake(engine, "razorpay").sent("capture")
    assert capture.args[1] == 49900
    [work] = memory(engine).tables.work.values()
    assert (work.kind, work.state) == ("capture", "done")
    row = await engine.db.idempotency.get(merchant, "c-auto")
    assert msgspec.json.decode(row.response_body)["status"] == "succeeded"


async def test_the_gateway_order_is_recorded_on_the_attempt_before_the_payment_is_created(engine, merchant):
    p = await a_payment(engine, merchant)
    seen = {}

    async def create_order_then_payment(request):
        await request.record_order("order_123")
        seen["order"] = (await engine.db.attempts.get(request.attempt_id, merchant)).gateway_order_id
        return captured(gateway_order_id="order_123")

    fake(engine, "razorpay").will("authorize", create_order_then_payment)
    await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert seen["order"] == "order_123"  # committed before the payment call
    assert (await engine.db.attempts.latest(p.id, merchant)).gateway_order_id == "order_123"


async def test_a_retry_after_a_crash_asks_the_gateway_and_never_charges_again(engine, merchant):
    p = await a_payment(engine, merchant)
    path, body = f"/v1/payments/{p.id}/confirm", b'{"payment_method":"..."}'
    first = await claimed(engine, merchant, "c-crash", path=path, body=body)
    fake(engine, "razorpay").will("authorize", Crash())  # charged, then the process died
    with pytest.raises(Crash):
        await confirm(engine, merchant, p.id, confirm_cmd(), first)
    row = await engine.db.idempotency.get(merchant, "c-crash")
    assert (row.state, row.recovery_point, row.object_id) == ("in_flight", "charge_started", p.id)
    with pytest.raises(Exception) as busy:  # still held: 409, nothing resumed
        await idempotency.claim(engine, a_claim(engine, merchant, "c-crash", path, body))
    assert getattr(busy.value, "status", None) == 409
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "c-crash", path, body))
    assert isinstance(retry, idempotency.Claim) and retry.resumes(RecoveryPoint.CHARGE_STARTED) == p.id
    fake(engine, "razorpay").will("sync", captured(49900))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    assert isinstance(result, Payment) and result.status == "succeeded"
    assert fake(engine, "razorpay").count("authorize") == 1  # no second charge
    [sync] = fake(engine, "razorpay").sent("sync")
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert sync.args[0].attempt_id == attempt.id
    replay = await idempotency.claim(engine, a_claim(engine, merchant, "c-crash", path, body))
    assert isinstance(replay, idempotency.Replay) and msgspec.json.decode(replay.body)["status"] == "succeeded"


async def test_a_resumed_confirm_of_an_attempt_settled_meanwhile_only_answers(engine, merchant):
    p = await a_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/confirm"
    first = await claimed(engine, merchant, "c-late", path=path)
    fake(engine, "razorpay").will("authorize", Crash())
    with pytest.raises(Crash):
        await confirm(engine, merchant, p.id, confirm_cmd(), first)
    from engine.services.charging import settle

    attempt = await engine.db.attempts.latest(p.id, merchant)
    await settle(engine, merchant, attempt.id, declined())  # a webhook brought the news
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "c-late", path))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    assert isinstance(result, Declined)
    assert fake(engine, "razorpay").count("authorize") == 1 and fake(engine, "razorpay").count("sync") == 0
    assert (await engine.db.idempotency.get(merchant, "c-late")).response_status == 402


async def test_confirm_refuses_a_payment_not_awaiting_a_method(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", captured())
    await confirm(engine, merchant, p.id, confirm_cmd(), None)
    with pytest.raises(IllegalTransition):
        await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert fake(engine, "razorpay").count("authorize") == 1


async def test_confirm_rejects_bad_input_before_any_write(engine, merchant):
    p = await a_payment(engine, merchant)
    with pytest.raises(ValidationError):
        await confirm(engine, merchant, p.id, confirm_cmd(card("4111111111111112")), None)  # Luhn
    from engine.commands import ConfirmPayment

    with pytest.raises(ValidationError):
        await confirm(engine, merchant, p.id, ConfirmPayment(payment_method=None), None)
    with pytest.raises(NotFound):
        await confirm(engine, merchant, "pay_missing", confirm_cmd(), None)
    assert (await engine.db.payments.get(p.id, merchant)).version == 1
    assert await engine.db.attempts.of_payment(p.id, merchant) == []


async def test_failures_feed_the_breaker_and_an_open_breaker_is_skipped(engine, merchant):
    engine.breaker.threshold = 2
    for _ in range(2):
        p = await a_payment(engine, merchant)
        fake(engine, "razorpay").will("authorize", retryable())
        fake(engine, "payu").will("authorize", captured())
        await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert await engine.breaker.state("razorpay") == "open"
    p = await a_payment(engine, merchant)
    fake(engine, "payu").will("authorize", captured())
    result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    assert result.gateway == "payu" and fake(engine, "razorpay").count("authorize") == 2
    assert {"gateway": "razorpay", "reason": "circuit_open"} in result.routing["skipped"]


async def test_two_concurrent_confirms_charge_once(engine, merchant):
    p = await a_payment(engine, merchant)
    real_read = engine.db.phases.read_for_confirm

    async def read_then_yield(*args):  # both requests read the payment before either writes
        found = await real_read(*args)
        await asyncio.sleep(0)
        return found

    engine.db.phases.read_for_confirm = read_then_yield
    fake(engine, "razorpay").will("authorize", captured())
    results = await asyncio.gather(
        *(confirm(engine, merchant, p.id, confirm_cmd(), None) for _ in range(2)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["IllegalTransition", "Payment"]
    assert fake(engine, "razorpay").count("authorize") == 1
    assert len(await engine.db.attempts.of_payment(p.id, merchant)) == 1


async def test_a_capture_bug_after_an_authorization_does_not_answer_nothing_was_charged(engine, merchant):
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", authorized()).will("capture", BeforeSend(KeyError("builder bug")))
    try:
        result = await confirm(engine, merchant, p.id, confirm_cmd(), None)
    except ConnectorBug:
        result = None
    stored = await engine.db.payments.get(p.id, merchant)
    assert stored.status == "requires_capture" and stored.amount_capturable == 49900  # money is held
    [work] = memory(engine).tables.work.values()
    assert work.state == "pending" and work.run_at is not None  # the worker will capture it
    assert isinstance(result, Payment) and result.status == "requires_capture"


async def test_a_crash_after_failing_over_resumes_on_the_second_gateway(engine, merchant):
    p = await a_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/confirm"
    first = await claimed(engine, merchant, "c-fo", path=path)
    fake(engine, "razorpay").will("authorize", retryable())
    fake(engine, "payu").will("authorize", Crash())
    with pytest.raises(Crash):
        await confirm(engine, merchant, p.id, confirm_cmd(), first)
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "c-fo", path))
    fake(engine, "payu").will("sync", captured(49900, reference="payu_9"))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    assert (result.status, result.gateway) == ("succeeded", "payu")
    assert fake(engine, "razorpay").count("sync") == 0 and fake(engine, "razorpay").count("authorize") == 1
    assert fake(engine, "payu").count("authorize") == 1


async def test_the_customers_contact_reaches_the_gateway(engine, merchant):
    from engine.commands import CreateCustomer
    from engine.services.customers import create_customer

    customer = await create_customer(
        engine, merchant, CreateCustomer(email="asha@example.in", phone="+919876543210"), None
    )
    p = await a_payment(engine, merchant, customer_id=customer.id)
    fake(engine, "razorpay").will("authorize", captured())
    await confirm(engine, merchant, p.id, confirm_cmd(), None)
    request = fake(engine, "razorpay").sent("authorize")[0].args[0]
    assert (request.customer_email, request.customer_phone) == ("asha@example.in", "+919876543210")


async def test_create_with_confirm_resumes_the_payment_it_created(engine, merchant):
    from engine.commands import CreatePayment
    from engine.services.payments import create_for_confirm, new_payment

    first = await claimed(engine, merchant, "cc", path="/v1/payments")
    payment_id = await create_for_confirm(
        engine, new_payment(merchant, CreatePayment(amount=900, currency="INR")), first
    )
    # the process died here, before confirming
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "cc", "/v1/payments"))
    assert retry.resumes(RecoveryPoint.PAYMENT_CREATED) == payment_id
    fake(engine, "razorpay").will("authorize", captured(900))
    result = await confirm(engine, merchant, payment_id, confirm_cmd(), retry)
    assert result.status == "succeeded" and list(memory(engine).tables.payments) == [payment_id]
    assert (await engine.db.idempotency.get(merchant, "cc")).state == "done"


async def test_a_confirms_key_is_claimed_by_its_first_write(engine, merchant):
    p = await a_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/confirm"
    claim = a_claim(engine, merchant, "k-first-write", path)  # not stored: the API leaves it to confirm
    keys = memory(engine).tables.keys
    seen_at_authorize: list[object] = []

    def authorize(request):  # the key is stored, at charge_started, before the gateway is called
        seen_at_authorize.append(keys[merchant, "k-first-write"].recovery_point)
        return captured()

    fake(engine, "razorpay").will("authorize", authorize)
    outcome = await confirm(engine, merchant, p.id, confirm_cmd(), claim)
    assert isinstance(outcome, Payment) and outcome.status == "succeeded"
    assert seen_at_authorize == ["charge_started"] and claim.hold.held
    assert keys[merchant, "k-first-write"].state == "done"
    replay = await confirm(engine, merchant, p.id, confirm_cmd(), a_claim(engine, merchant, "k-first-write", path))
    assert isinstance(replay, idempotency.Replay) and replay.status == 200
    assert fake(engine, "razorpay").count("authorize") == 1


async def test_a_key_claimed_by_another_request_meanwhile_charges_nothing_here(engine, merchant):
    p = await a_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/confirm"
    real_read = engine.db.phases.read_for_confirm

    async def read_then_another_request_claims(*args):
        found = await real_read(*args)
        await claimed(engine, merchant, "k-race", path)  # the other request holds the key now
        return found

    engine.db.phases.read_for_confirm = read_then_another_request_claims
    mine = a_claim(engine, merchant, "k-race", path)
    with pytest.raises(IdempotencyError) as refused:
        await confirm(engine, merchant, p.id, confirm_cmd(), mine)
    assert refused.value.status == 409 and refused.value.code == "idempotency_key_in_use"
    assert not mine.hold.held  # so the API layer never unlocks or answers the other request's key
    assert (await engine.db.payments.get(p.id, merchant)).status == "requires_payment_method"
    assert await engine.db.attempts.of_payment(p.id, merchant) == []
    assert fake(engine, "razorpay").count("authorize") == 0


async def test_a_confirm_rejected_before_its_first_write_stores_no_key(engine, merchant):
    p = await a_payment(engine, merchant)
    claim = a_claim(engine, merchant, "k-bad", f"/v1/payments/{p.id}/confirm")
    with pytest.raises(ValidationError):
        await confirm(engine, merchant, p.id, confirm_cmd(card(number="4111111111111112")), claim)
    assert (merchant, "k-bad") not in memory(engine).tables.keys and not claim.hold.held


async def test_a_retry_continues_an_attempt_the_gateway_never_got_a_payment_for(engine, merchant):
    """Died during the order call: the gateway has the order (found by receipt) but no payment."""
    p = await a_payment(engine, merchant)
    path = f"/v1/payments/{p.id}/confirm"
    first = await claimed(engine, merchant, "c-order", path=path)
    fake(engine, "razorpay").will("authorize", Crash())
    with pytest.raises(Crash):
        await confirm(engine, merchant, p.id, confirm_cmd(), first)
    no_payment = ChargeResult(Outcome.UNKNOWN, gateway_order_id="order_found", raw_status="no_payment")

    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout + 1)  # taken over, but young
    retry = await idempotency.claim(engine, a_claim(engine, merchant, "c-order", path))
    fake(engine, "razorpay").will("sync", no_payment)
    with pytest.raises(OutcomePending) as pending:
        await confirm(engine, merchant, p.id, confirm_cmd(), retry)
    assert pending.value.code == "charge_pending"  # a live request could still be creating it
    assert (await engine.db.idempotency.get(merchant, "c-order")).state == "in_flight"  # nothing final
    assert fake(engine, "razorpay").count("authorize") == 1

    memory(engine).clock.advance(charging.absent_after_s(engine))
    await idempotency.unlock(engine, retry)
    again = await idempotency.claim(engine, a_claim(engine, merchant, "c-order", path))
    fake(engine, "razorpay").will("sync", no_payment).will("authorize", captured(49900))
    result = await confirm(engine, merchant, p.id, confirm_cmd(), again)
    assert isinstance(result, Payment) and result.status == "succeeded"
    first_call, continued = fake(engine, "razorpay").sent("authorize")
    assert continued.args[0].attempt_id == first_call.args[0].attempt_id  # the same attempt, continued
    assert continued.args[0].gateway_order_id == "order_found"  # on the order the first request made
    [attempt] = await engine.db.attempts.of_payment(p.id, merchant)
    assert attempt.gateway_order_id == "order_found" and attempt.status == "captured"
