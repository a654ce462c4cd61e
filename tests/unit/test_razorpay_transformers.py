"""Razorpay mapping without IO: every answer shape -> outcome, webhooks and callbacks.

Signatures in these tests are computed with the standard library's ``hmac``, independently of
``engine.signing``, so a mistake there cannot cancel itself out here.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import msgspec
import pytest

from engine.gateways.base import (
    AttemptRef,
    CardDetails,
    ChargeRequest,
    Outcome,
    PaymentMethod,
    RefundOutcome,
    RefundRequest,
)
from engine.gateways.common import webhook_verified
from engine.gateways.http import HttpResult, Transport, new_client, parse_json
from engine.gateways.razorpay import RazorpayConnector, RazorpayCredentials, events
from engine.gateways.razorpay import transformers as tf
from engine.gateways.razorpay.wire import PaymentCollection
from engine.gateways.registry import (
    SUPPORTED_GATEWAYS,
    build_connector,
    capabilities,
    default_base_url,
)

CARD = CardDetails(number="4111111111111111", exp_month=3, exp_year=2031, cvc="123", holder_name="A B")
CREDS = RazorpayCredentials("rzp_test_unit", "unit_key_secret", "unit_webhook_secret")
REF = AttemptRef("att_1", "pay_1", "order_1", amount=50000, currency="INR")


def charge(method: PaymentMethod | None = None, **kw: object) -> ChargeRequest:
    base: dict[str, object] = dict(
        attempt_id="att_1",
        payment_id="pay_eng_1",
        merchant_id="mer_1",
        amount=50000,
        currency="INR",
        method=method or PaymentMethod(type="card", card=CARD),
        capture=True,
        callback_url="https://shop.example/return",
    )
    base.update(kw)
    return ChargeRequest(**base)  # type: ignore[arg-type]


def answer(status: int, body: object | bytes) -> HttpResult:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed, data = parse_json(raw)
    return HttpResult(Transport.ANSWERED, status=status, body=raw, data=data, parsed=parsed)


NOT_SENT = HttpResult(Transport.NOT_SENT, error="ConnectError")
LOST = HttpResult(Transport.UNKNOWN, error="ReadTimeout")
GARBAGE = [b"", b"<html>502 Bad Gateway</html>", b'{"razorpay_payment_id": "pay_', b"[]", b"null"]


def err(
    code: str,
    reason: str,
    *,
    step: str = "payment_authorization",
    field: str | None = None,
    payment_id: str | None = None,
) -> dict[str, object]:
    meta = {"payment_id": payment_id, "order_id": "order_1"} if payment_id else {}
    return {
        "error": {
            "code": code,
            "description": f"{reason} happened",
            "source": "bank",
            "step": step,
            "reason": reason,
            "metadata": meta,
            "field": field,
        }
    }


def payment(status: str, **kw: object) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": "pay_1",
        "entity": "payment",
        "amount": 50000,
        "currency": "INR",
        "status": status,
        "order_id": "order_1",
        "method": "card",
        "notes": {"attempt_id": "att_1"},
        "created_at": 1700000000,
    }
    entity.update(kw)
    return entity


# --- requests -----------------------------------------------------------------------------------


def test_order_body_carries_our_references_and_capture_flag() -> None:
    body = msgspec.json.decode(msgspec.json.encode(tf.build_order(charge(capture=False))))
    assert body == {
        "amount": 50000,
        "currency": "INR",
        "receipt": "att_1",
        "payment_capture": False,
        "notes": {"merchant_id": "mer_1", "payment_id": "pay_eng_1", "attempt_id": "att_1"},
    }


def test_card_payment_body_and_placeholders() -> None:
    pc = tf.build_payment(charge(description="pills"), "order_1")
    body = msgspec.json.decode(msgspec.json.encode(pc))
    assert body["card"] == {
        "number": "4111111111111111",
        "name": "A B",
        "expiry_month": "03",
        "expiry_year": "31",
        "cvv": "123",
    }
    assert body["email"] == tf.PLACEHOLDER_EMAIL and body["contact"] == tf.PLACEHOLDER_CONTACT
    assert body["method"] == "card" and body["order_id"] == "order_1" and body["description"] == "pills"
    assert "upi" not in body and "bank" not in body
    assert "4111111111111111" not in repr(pc) and "123" not in repr(pc.card)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (
            PaymentMethod(type="upi", vpa="success@upi"),
            {"vpa": "success@upi", "upi": {"vpa": "success@upi", "flow": "collect"}},
        ),
        (PaymentMethod(type="netbanking", bank_code="HDFC"), {"bank": "HDFC"}),
        (PaymentMethod(type="wallet", wallet_provider="paytm"), {"wallet": "paytm"}),
    ],
)
def test_other_method_bodies(method: PaymentMethod, expected: dict[str, object]) -> None:
    body = msgspec.json.decode(
        msgspec.json.encode(
            tf.build_payment(charge(method, customer_email="a@b.co", customer_phone="9876543210"), "order_1")
        )
    )
    assert {k: body[k] for k in expected} == expected
    assert body["email"] == "a@b.co" and body["contact"] == "9876543210" and "card" not in body


@pytest.mark.parametrize("method", [PaymentMethod(type="upi"), PaymentMethod(type="emi"), PaymentMethod(type="card")])
def test_unsupported_or_incomplete_method(method: PaymentMethod) -> None:
    with pytest.raises(tf.UnsupportedMethod):
        tf.build_payment(charge(method), "order_1")


def test_refund_body() -> None:
    req = RefundRequest("re_0123456789", REF, 1000, "INR")
    body = msgspec.json.decode(msgspec.json.encode(tf.build_refund(req)))
    assert body == {
        "amount": 1000,
        "speed": "normal",
        "notes": {"refund_id": "re_0123456789"},
        "receipt": "re_0123456789",
    }


# --- order creation ------------------------------------------------------------------------------


def test_order_created() -> None:
    assert tf.map_order_created(answer(200, {"id": "order_X", "entity": "order"})) == "order_X"


@pytest.mark.parametrize(
    "result",
    [
        NOT_SENT,
        LOST,
        answer(500, err("SERVER_ERROR", "NA")),
        answer(503, b"<html>503</html>"),
        answer(200, b'{"id": '),
        answer(401, err("BAD_REQUEST_ERROR", "NA")),
    ],
)
def test_order_failures_are_retryable(result: HttpResult) -> None:
    out = tf.map_order_created(result)
    assert not isinstance(out, str) and out.outcome is Outcome.RETRYABLE


def test_order_refused_is_declined_invalid_request() -> None:
    out = tf.map_order_created(
        answer(
            400,
            err("BAD_REQUEST_ERROR", "input_validation_failed", step="payment_initiation", field="amount"),
        )
    )
    assert not isinstance(out, str)
    assert out.outcome is Outcome.DECLINED and out.decline_code == "invalid_request"


# --- payment creation ----------------------------------------------------------------------------


def created(result: HttpResult) -> tuple[object, str | None]:
    res, fetch = tf.map_payment_created(result, "order_1", trusted_hosts=frozenset({"127.0.0.1"}))
    return res, fetch


def test_sync_processed_payment_must_be_fetched() -> None:
    res, fetch = tf.map_payment_created(answer(200, {"razorpay_payment_id": "pay_9"}), "order_1")
    assert fetch == "pay_9" and res.outcome is Outcome.UNKNOWN and res.gateway_reference == "pay_9"


def test_redirect_is_requires_action() -> None:
    url = "https://api.razorpay.com/v1/payments/pay_9/authenticate"
    res, fetch = tf.map_payment_created(
        answer(200, {"razorpay_payment_id": "pay_9", "next": [{"action": "redirect", "url": url}]}), "order_1"
    )
    assert fetch is None and res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url == url
    assert res.gateway_reference == "pay_9" and res.gateway_order_id == "order_1"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://evil.example/x", "", "https://"])
def test_unsafe_redirect_is_not_shown(url: str) -> None:
    res, _ = created(answer(200, {"razorpay_payment_id": "pay_9", "next": [{"action": "redirect", "url": url}]}))
    assert res.outcome is Outcome.UNKNOWN and res.redirect_url is None  # type: ignore[attr-defined]


def test_http_redirect_allowed_on_trusted_host() -> None:
    url = "http://127.0.0.1:8001/razorpay/pages/pay_9"
    res, _ = created(answer(200, {"razorpay_payment_id": "pay_9", "next": [{"action": "redirect", "url": url}]}))
    assert res.outcome is Outcome.REQUIRES_ACTION  # type: ignore[attr-defined]


def test_upi_poll_is_processing() -> None:
    res, fetch = created(
        answer(
            200,
            {
                "razorpay_payment_id": "pay_9",
                "next": [{"action": "poll", "url": "https://api.razorpay.com/v1/p"}],
            },
        )
    )
    assert fetch is None and res.outcome is Outcome.PROCESSING  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("card_declined", "card_declined"),
        ("insufficient_funds", "insufficient_funds"),
        ("card_expired", "expired_card"),
        ("incorrect_otp", "authentication_failed"),
        ("something_new", "generic_decline"),
    ],
)
def test_bad_request_is_declined(reason: str, code: str) -> None:
    res, _ = created(answer(400, err("BAD_REQUEST_ERROR", reason, payment_id="pay_9")))
    assert res.outcome is Outcome.DECLINED and res.decline_code == code  # type: ignore[attr-defined]
    assert res.error_code == reason and res.gateway_reference == "pay_9"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("card[number]", "incorrect_number"),
        ("vpa", "invalid_vpa"),
        ("card[expiry_year]", "invalid_expiry_year"),
        ("amount", "invalid_request"),
        (None, "invalid_request"),
    ],
)
def test_input_validation_failed(field: str | None, code: str) -> None:
    res, _ = created(
        answer(400, err("BAD_REQUEST_ERROR", "input_validation_failed", step="payment_initiation", field=field))
    )
    assert res.outcome is Outcome.DECLINED and res.decline_code == code  # type: ignore[attr-defined]


@pytest.mark.parametrize("code", ["GATEWAY_ERROR", "SERVER_ERROR"])
def test_5xx_at_initiation_is_retryable(code: str) -> None:
    res, _ = created(answer(502, err(code, "gateway_technical_error", step="payment_initiation")))
    assert res.outcome is Outcome.RETRYABLE  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "result",
    [
        LOST,
        answer(500, err("SERVER_ERROR", "NA", step="NA")),
        answer(502, err("GATEWAY_ERROR", "x")),
        answer(503, b"<html>503</html>"),
        answer(500, b""),
        answer(302, b""),
        answer(404, b"<html/>"),
        answer(400, {"error": "nope"}),
    ]
    + [answer(200, g) for g in GARBAGE]
    + [answer(200, {"razorpay_payment_id": ""}), answer(200, {"razorpay_payment_id": 5})],
)
def test_everything_else_after_sending_is_unknown(result: HttpResult) -> None:
    res, fetch = created(result)
    assert res.outcome is Outcome.UNKNOWN and fetch is None  # type: ignore[attr-defined]
    assert res.gateway_order_id == "order_1"  # type: ignore[attr-defined]


def test_not_sent_payment_is_retryable() -> None:
    res, _ = created(NOT_SENT)
    assert res.outcome is Outcome.RETRYABLE  # type: ignore[attr-defined]


# --- payment entity / sync -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("created", Outcome.PROCESSING),
        ("authorized", Outcome.AUTHORIZED),
        ("captured", Outcome.CAPTURED),
        ("refunded", Outcome.CAPTURED),
        ("failed", Outcome.DECLINED),
        ("mystery", Outcome.UNKNOWN),
    ],
)
def test_payment_statuses(status: str, outcome: Outcome) -> None:
    res = tf.map_payment_answer(answer(200, payment(status)), REF)
    assert res.outcome is outcome and res.raw_status == status
    assert res.amount_captured == (50000 if outcome is Outcome.CAPTURED else 0)


def test_failed_payment_maps_error_reason() -> None:
    res = tf.map_payment_answer(
        answer(
            200,
            payment(
                "failed",
                error_code="BAD_REQUEST_ERROR",
                error_reason="card_expired",
                error_description="Card expired",
            ),
        ),
        REF,
    )
    assert res.decline_code == "expired_card" and res.error_code == "card_expired"


def test_partial_capture_amount_is_reported() -> None:
    res = tf.map_payment_answer(answer(200, payment("captured", amount_captured=20000)), REF)
    assert res.amount_captured == 20000


@pytest.mark.parametrize("bad", [{"amount": 1}, {"currency": "USD"}, {"order_id": "order_other"}])
def test_mismatching_success_is_unknown(bad: dict[str, object]) -> None:
    res = tf.map_payment_answer(answer(200, payment("captured", **bad)), REF)
    assert res.outcome is Outcome.UNKNOWN and res.error_code in {"amount_mismatch", "order_mismatch"}


@pytest.mark.parametrize(
    "result",
    [NOT_SENT, LOST, answer(500, b""), answer(400, err("BAD_REQUEST_ERROR", "NA"))]
    + [answer(200, g) for g in GARBAGE]
    + [answer(200, {"id": "pay_1"})],
)
def test_unreadable_fetch_is_unknown(result: HttpResult) -> None:
    assert tf.map_payment_answer(result, REF).outcome is Outcome.UNKNOWN


def test_order_payments_prefers_success_then_latest() -> None:
    items = [
        payment("failed", id="pay_a", created_at=1),
        payment("captured", id="pay_b", created_at=2),
        payment("failed", id="pay_c", created_at=3),
    ]
    res = tf.map_order_payments(answer(200, {"entity": "collection", "count": 3, "items": items}), REF)
    assert res.outcome is Outcome.CAPTURED and res.gateway_reference == "pay_b"
    latest = tf.pick_order_payment(
        msgspec.convert(
            {
                "items": [
                    payment("failed", id="pay_a", created_at=5),
                    payment("created", id="pay_b", created_at=9),
                ]
            },
            PaymentCollection,
        )
    )
    assert latest is not None and latest.id == "pay_b"


def test_order_without_payments_is_unknown() -> None:
    res = tf.map_order_payments(answer(200, {"entity": "collection", "count": 0, "items": []}), REF)
    assert res.outcome is Outcome.UNKNOWN and res.raw_status == "no_payment"


# --- capture / refund ----------------------------------------------------------------------------


def test_capture_refusal_detected() -> None:
    assert tf.map_capture_refused(answer(400, err("BAD_REQUEST_ERROR", "NA"))) is not None
    assert tf.map_capture_refused(answer(500, err("SERVER_ERROR", "NA"))) is None
    assert tf.map_capture_refused(LOST) is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("pending", RefundOutcome.PENDING),
        ("processed", RefundOutcome.SUCCEEDED),
        ("failed", RefundOutcome.FAILED),
        ("weird", RefundOutcome.PENDING),
    ],
)
def test_refund_statuses(status: str, outcome: RefundOutcome) -> None:
    req = RefundRequest("re_0123456789", REF, 1000, "INR")
    res = tf.map_refund(answer(200, {"id": "rfnd_1", "entity": "refund", "amount": 1000, "status": status}), req)
    assert res.outcome is outcome and res.gateway_refund_id == "rfnd_1"


def test_refund_failures() -> None:
    req = RefundRequest("re_0123456789", REF, 1000, "INR")
    over = tf.map_refund(answer(400, err("BAD_REQUEST_ERROR", "NA")), req)
    assert over.outcome is RefundOutcome.FAILED and over.error_message == "NA happened"
    assert tf.map_refund(NOT_SENT, req).outcome is RefundOutcome.FAILED
    for result in [LOST, answer(500, b""), answer(200, b"<html>")] + [answer(200, g) for g in GARBAGE]:
        assert tf.map_refund(result, req).outcome is RefundOutcome.UNKNOWN
    wrong = tf.map_refund(answer(200, {"id": "rfnd_1", "amount": 999, "status": "processed"}), req)
    assert wrong.outcome is RefundOutcome.UNKNOWN


# --- webhooks ------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(event: str, **payload: object) -> bytes:
    return json.dumps(
        {
            "entity": "event",
            "account_id": "acc_1",
            "event": event,
            "contains": list(payload),
            "payload": {k: {"entity": v} for k, v in payload.items()},
            "created_at": 1700000000,
        }
    ).encode()


@pytest.fixture
def connector() -> RazorpayConnector:
    return RazorpayConnector(CREDS, base_url="https://api.razorpay.com", client=new_client())


def test_webhook_signature(connector: RazorpayConnector) -> None:
    body = webhook("payment.captured", payment=payment("captured"))
    good = sign(CREDS.webhook_secret, body)
    assert webhook_verified(connector, {"X-Razorpay-Signature": good}, body)
    assert webhook_verified(connector, {"x-razorpay-signature": good}, body)
    assert not webhook_verified(connector, {"X-Razorpay-Signature": good}, body + b" ")
    assert not webhook_verified(connector, {"X-Razorpay-Signature": sign("wrong", body)}, body)
    assert not webhook_verified(connector, {"X-Razorpay-Signature": sign(CREDS.key_secret, body)}, body)
    assert not webhook_verified(connector, {}, body)
    assert not webhook_verified(connector, {"X-Razorpay-Signature": "zz"}, body)


@pytest.mark.parametrize(
    ("event", "outcome", "decline"),
    [
        ("payment.authorized", Outcome.AUTHORIZED, None),
        ("payment.captured", Outcome.CAPTURED, None),
        ("payment.failed", Outcome.DECLINED, "insufficient_funds"),
    ],
)
def test_payment_webhooks(connector: RazorpayConnector, event: str, outcome: Outcome, decline: str | None) -> None:
    status = event.split(".")[1]
    body = webhook(event, payment=payment(status, error_reason="insufficient_funds" if decline else None))
    ev = connector.parse_webhook({"X-Razorpay-Event-Id": "evt_1"}, body)
    assert ev.event_id == "evt_1" and ev.event_type == event and ev.attempt_id == "att_1"
    assert ev.gateway_reference == "pay_1" and ev.gateway_order_id == "order_1"
    assert ev.charge is not None and ev.charge.outcome is outcome and ev.charge.decline_code == decline


def test_order_paid_webhook(connector: RazorpayConnector) -> None:
    order = {"id": "order_1", "entity": "order", "status": "paid", "receipt": "att_1", "notes": []}
    ev = connector.parse_webhook({}, webhook("order.paid", payment=payment("captured", notes=[]), order=order))
    assert ev.charge is not None and ev.charge.outcome is Outcome.CAPTURED and ev.attempt_id == "att_1"
    assert ev.event_id == "order.paid:pay_1:captured"


@pytest.mark.parametrize(
    ("event", "status", "outcome"),
    [
        ("refund.created", "pending", RefundOutcome.PENDING),
        ("refund.processed", "processed", RefundOutcome.SUCCEEDED),
        ("refund.failed", "failed", RefundOutcome.FAILED),
    ],
)
def test_refund_webhooks(connector: RazorpayConnector, event: str, status: str, outcome: RefundOutcome) -> None:
    refund = {
        "id": "rfnd_1",
        "entity": "refund",
        "amount": 100,
        "payment_id": "pay_1",
        "status": status,
        "notes": {"refund_id": "re_0123456789"},
        "receipt": "re_0123456789",
    }
    ev = connector.parse_webhook({}, webhook(event, refund=refund))
    assert ev.refund is not None and ev.refund.outcome is outcome and ev.refund.gateway_refund_id == "rfnd_1"
    assert ev.refund_reference == "re_0123456789" and ev.gateway_reference == "pay_1"
    assert ev.event_id == f"{event}:rfnd_1:{status}"
    by_receipt = connector.parse_webhook({}, webhook(event, refund={**refund, "notes": []}))
    assert by_receipt.refund_reference == "re_0123456789"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>",
        b"[]",
        b'{"entity": "event"}',
        b'{"event": 1}',
        b'{"entity":"event","event":"payment.captured","payload":{}}',
        b'{"entity":"account","event":"x","payload":{"payment":{"entity":{}}}}',
    ],
)
def test_webhook_garbage_raises_value_error(connector: RazorpayConnector, body: bytes) -> None:
    with pytest.raises(ValueError):
        connector.parse_webhook({}, body)


# --- browser callbacks ---------------------------------------------------------------------------


def test_success_callback(connector: RazorpayConnector) -> None:
    ref = AttemptRef("att_1", None, "order_1")
    sig = sign(CREDS.key_secret, b"order_1|pay_9")
    params = {"razorpay_payment_id": "pay_9", "razorpay_order_id": "order_1", "razorpay_signature": sig}
    res = connector.verify_callback(params, ref)
    assert res is not None and res.outcome is Outcome.UNKNOWN and res.gateway_reference == "pay_9"
    assert res.raw_status == "callback_verified"
    # tampered payment id, an order id other than ours, a missing stored order: all rejected
    assert connector.verify_callback({**params, "razorpay_payment_id": "pay_8"}, ref) is None
    other = sign(CREDS.key_secret, b"order_2|pay_9")
    assert (
        connector.verify_callback({**params, "razorpay_order_id": "order_2", "razorpay_signature": other}, ref) is None
    )
    assert connector.verify_callback(params, AttemptRef("att_1")) is None
    assert connector.verify_callback({}, ref) is None


def test_error_callback_is_never_final(connector: RazorpayConnector) -> None:
    params = {
        "error[code]": "BAD_REQUEST_ERROR",
        "error[description]": "Payment failed",
        "error[reason]": "payment_failed",
        "error[metadata]": json.dumps({"payment_id": "pay_evil", "order_id": "order_1"}),
    }
    res = connector.verify_callback(params, AttemptRef("att_1", None, "order_1"))
    assert res is not None and res.outcome is Outcome.UNKNOWN and res.raw_status == "callback_error"
    assert res.gateway_reference is None  # the unsigned payment id is not trusted


# --- hygiene, transport parsing, registry --------------------------------------------------------


def test_no_secrets_or_card_in_reprs(connector: RazorpayConnector) -> None:
    text = repr(CREDS) + repr(connector) + repr(tf.build_payment(charge(), "order_1"))
    for secret in (CREDS.key_secret, CREDS.webhook_secret, CARD.number, "cvv='123'"):
        assert secret not in text


@pytest.mark.parametrize("body", [b"", b"   ", b"<html>", b"{", b"\xff\xfe"])
def test_parse_json_never_raises(body: bytes) -> None:
    assert parse_json(body) == (False, None)


def test_registry() -> None:
    assert "razorpay" in SUPPORTED_GATEWAYS
    assert default_base_url("razorpay") == "https://api.razorpay.com"
    caps = capabilities("razorpay")
    assert caps.supports("card", "USD") and caps.supports("upi", "INR") and not caps.supports("upi", "USD")
    assert caps.methods == {"card", "upi", "netbanking", "wallet"} and "INR" in caps.currencies
    conn = build_connector(
        "razorpay",
        {"key_id": "k", "key_secret": "s", "webhook_secret": "w"},
        base_url="http://127.0.0.1:1/razorpay",
        client=new_client(),
    )
    assert conn.name == "razorpay"
    with pytest.raises(ValueError, match="key_secret"):
        build_connector("razorpay", {"key_id": "k"}, base_url="x", client=new_client())
    with pytest.raises(ValueError):
        default_base_url("nope")


def test_decline_code_table_is_consistent() -> None:
    assert tf.decline_code("card_expired") == "expired_card"
    assert tf.decline_code(None) == "generic_decline"
    assert events.callback_kind({"razorpay_payment_id": "p"}) is None


# The shared transport helper (``http.send``) is proven against real sockets, fault by fault, in
# tests/unit/test_gateway_http.py.
