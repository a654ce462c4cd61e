"""engine/services/inbound.py: webhooks verified, deduped and applied in one transaction;
browser callbacks verified and confirmed by a status sync."""

from __future__ import annotations

import pytest

from engine.errors import InvalidRequest, NotFound
from engine.gateways.base import ChargeResult, Outcome, RefundOutcome, RefundResult, WebhookEvent
from engine.services import inbound
from engine.services.inbound import SignatureInvalid, receive_callback, receive_webhook
from tests.support.fake_connector import SIGNATURE_HEADER, authorized, captured, declined, sign, unknown, webhook
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import confirmed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


async def pending_payment(engine, merchant, **kw):
    p = await confirmed(engine, merchant, unknown(), **kw)
    return p, await engine.db.attempts.latest(p.id, merchant)


def charge_event(attempt, result: ChargeResult, event_id: str = "evt_gw_1") -> WebhookEvent:
    return WebhookEvent(event_id, "payment.captured", attempt_id=attempt.id, charge=result)


async def test_a_verified_webhook_settles_its_attempt_once(engine, merchant):
    p, attempt = await pending_payment(engine, merchant)
    headers, body = webhook(fake(engine, "razorpay"), charge_event(attempt, captured(49900)))
    assert await receive_webhook(engine, "razorpay", merchant, headers, body) == {"received": True, "duplicate": False}
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"
    version = (await engine.db.payments.get(p.id, merchant)).version
    again = await receive_webhook(engine, "razorpay", merchant, headers, body)
    assert again == {"received": True, "duplicate": True}
    assert (await engine.db.payments.get(p.id, merchant)).version == version
    assert list(memory(engine).tables.webhooks) == [("razorpay", merchant, "evt_gw_1")]


async def test_an_unsigned_or_misrouted_webhook_applies_nothing(engine, merchant):
    p, attempt = await pending_payment(engine, merchant)
    headers, body = webhook(fake(engine, "razorpay"), charge_event(attempt, captured()))
    for gateway, merchant_id, hdrs in (
        ("razorpay", merchant, {SIGNATURE_HEADER: "0" * 64}),
        ("razorpay", "mer_other0000000000000000", headers),
        ("payu", merchant, headers),  # no payu account
        ("razorpay", "not a merchant!", headers),
    ):
        with pytest.raises(SignatureInvalid):
            await receive_webhook(engine, gateway, merchant_id, hdrs, body)
    assert memory(engine).tables.webhooks == {}
    assert (await engine.db.payments.get(p.id, merchant)).status == "processing"


async def test_a_signed_body_that_is_no_event_is_rejected(engine, merchant):
    body = b"not json"
    headers = {SIGNATURE_HEADER: sign(fake(engine, "razorpay").webhook_secret, body)}
    with pytest.raises(InvalidRequest) as caught:
        await receive_webhook(engine, "razorpay", merchant, headers, body)
    assert caught.value.code == "webhook_unrecognised"


async def test_a_receipt_is_rolled_back_with_a_settlement_that_failed(engine, merchant, monkeypatch):
    p, attempt = await pending_payment(engine, merchant)
    headers, body = webhook(fake(engine, "razorpay"), charge_event(attempt, captured()))

    async def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(inbound, "settle_in", broken)
    with pytest.raises(RuntimeError):
        await receive_webhook(engine, "razorpay", merchant, headers, body)
    assert memory(engine).tables.webhooks == {}  # the gateway's redelivery will be applied
    monkeypatch.undo()
    await receive_webhook(engine, "razorpay", merchant, headers, body)
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"


async def test_out_of_order_webhooks_never_move_a_payment_back(engine, merchant):
    p, attempt = await pending_payment(engine, merchant)
    connector = fake(engine, "razorpay")
    await receive_webhook(engine, "razorpay", merchant, *webhook(connector, charge_event(attempt, captured(), "e2")))
    await receive_webhook(engine, "razorpay", merchant, *webhook(connector, charge_event(attempt, declined(), "e1")))
    payment = await engine.db.payments.get(p.id, merchant)
    assert (payment.status, payment.amount_received) == ("succeeded", 49900)


async def test_a_webhook_found_by_the_gateways_reference_and_an_authorization_captured(engine, merchant):
    p, attempt = await pending_payment(engine, merchant)
    connector = fake(engine, "razorpay")
    await receive_webhook(engine, "razorpay", merchant, *webhook(connector, charge_event(attempt, ChargeResult(
        Outcome.PROCESSING, gateway_reference="pay_gw_9"), "e0")))  # fmt: skip
    event = WebhookEvent("e1", "payment.authorized", gateway_reference="pay_gw_9", charge=authorized("pay_gw_9"))
    connector.will("capture", captured(49900))
    await receive_webhook(engine, "razorpay", merchant, *webhook(connector, event))
    assert (await engine.db.payments.get(p.id, merchant)).status == "succeeded"
    assert connector.sent("capture")[0].args[0].gateway_reference == "pay_gw_9"


async def test_a_webhook_about_an_unknown_attempt_is_acknowledged_and_ignored(engine, merchant):
    event = WebhookEvent("e9", "payment.captured", gateway_reference="pay_unknown", charge=captured())
    ack = await receive_webhook(engine, "razorpay", merchant, *webhook(fake(engine, "razorpay"), event))
    assert ack == {"received": True, "duplicate": False}
    assert memory(engine).tables.payments == {}


async def test_a_refund_webhook_settles_the_refund(engine, merchant):
    from engine.commands import CreateRefund
    from engine.services.refunds import create_refund

    paid = await confirmed(engine, merchant, captured(49900))
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.PENDING, gateway_refund_id="rf_gw"))
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    event = WebhookEvent("e-r", "refund.processed", refund=RefundResult(RefundOutcome.SUCCEEDED, "rf_gw"))
    await receive_webhook(engine, "razorpay", merchant, *webhook(fake(engine, "razorpay"), event))
    assert (await engine.db.refunds.get(refund.id, merchant)).status == "succeeded"


async def test_a_callback_is_verified_then_confirmed_by_the_gateways_status(engine, merchant):
    p, _ = await pending_payment(engine, merchant, return_url="https://shop.example/done?o=1")
    connector = fake(engine, "razorpay")
    connector.will("verify_callback", captured(reference="pay_gw_cb")).will("sync", captured(49900))
    payment, url = await receive_callback(engine, "razorpay", merchant, p.id, {"sig": "ok"})
    assert payment.status == "succeeded"
    assert url == f"https://shop.example/done?o=1&payment_id={p.id}&status=succeeded"
    assert connector.sent("sync")[0].args[0].gateway_reference == "pay_gw_cb"


async def test_a_callback_the_gateway_cannot_confirm_falls_back_to_the_verified_hint(engine, merchant):
    p, _ = await pending_payment(engine, merchant)
    fake(engine, "razorpay").will("verify_callback", declined()).will("sync", unknown())
    payment, url = await receive_callback(engine, "razorpay", merchant, p.id, {})
    assert payment.status == "requires_payment_method" and url is None


async def test_a_forged_callback_changes_nothing(engine, merchant):
    p, _ = await pending_payment(engine, merchant)
    fake(engine, "razorpay").will("verify_callback", None)
    with pytest.raises(SignatureInvalid):
        await receive_callback(engine, "razorpay", merchant, p.id, {"sig": "forged"})
    assert fake(engine, "razorpay").count("sync") == 0
    with pytest.raises(NotFound):
        await receive_callback(engine, "payu", merchant, p.id, {})
    assert (await engine.db.payments.get(p.id, merchant)).status == "processing"


async def test_a_refund_webhook_whose_settlement_failed_is_applied_on_redelivery(engine, merchant, monkeypatch):
    from engine.commands import CreateRefund
    from engine.services.refunds import create_refund

    paid = await confirmed(engine, merchant, captured(49900))
    fake(engine, "razorpay").will("refund", RefundResult(RefundOutcome.PENDING, gateway_refund_id="rf_gw"))
    refund = await create_refund(engine, merchant, CreateRefund(payment_id=paid.id), None)
    event = WebhookEvent("e-r", "refund.processed", refund=RefundResult(RefundOutcome.SUCCEEDED, "rf_gw"))
    headers, body = webhook(fake(engine, "razorpay"), event)

    async def database_went_away(*args, **kwargs):
        raise ConnectionError("database went away")

    monkeypatch.setattr(inbound, "settle_refund_in", database_went_away)
    with pytest.raises(ConnectionError):
        await receive_webhook(engine, "razorpay", merchant, headers, body)
    monkeypatch.undo()
    await receive_webhook(engine, "razorpay", merchant, headers, body)  # the gateway redelivers
    assert (await engine.db.refunds.get(refund.id, merchant)).status == "succeeded"


async def test_a_webhook_is_acknowledged_even_when_its_follow_up_capture_fails(engine, merchant):
    p, attempt = await pending_payment(engine, merchant)
    from tests.support.fake_connector import BeforeSend

    fake(engine, "razorpay").will("capture", BeforeSend(KeyError("builder bug")))
    headers, body = webhook(fake(engine, "razorpay"), charge_event(attempt, authorized()))
    try:
        ack = await receive_webhook(engine, "razorpay", merchant, headers, body)
    except Exception:
        ack = None
    assert (await engine.db.payments.get(p.id, merchant)).status == "requires_capture"
    [work] = memory(engine).tables.work.values()
    assert work.state == "pending"  # the worker finishes the capture
    assert ack == {"received": True, "duplicate": False}
