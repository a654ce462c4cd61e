"""Juspay mapping without IO: the return-URL HMAC vector, form bodies, amounts, every answer shape,
webhook authentication and events.

The HMAC here is computed with the standard library (``hmac``, ``base64``), independently of
``engine.signing``, so a mistake there cannot cancel itself out here.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

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
from engine.gateways.juspay import JuspayConnector, JuspayCredentials, builders, codes, events
from engine.gateways.juspay import transformers as tf
from engine.gateways.registry import build_connector, capabilities, default_base_url

CREDS = JuspayCredentials("unit_merchant", "unit_api_key", "unit_response_key", "hookuser", "hook_password")
CARD = CardDetails(number="4111111111111111", exp_month=3, exp_year=2031, cvc="123", holder_name="Asha Rao")
ORDER = "abcdefghijklmnopqrst"
REF = AttemptRef("att_abcdefghijklmnopqrst", "eul123", ORDER, amount=50000, currency="INR")
NOT_SENT = HttpResult(Transport.NOT_SENT, error="ConnectError")
LOST = HttpResult(Transport.UNKNOWN, error="ReadTimeout")
GARBAGE = [b"", b"<html>502 Bad Gateway</html>", b'{"order_id": "ab', b"[]", b"null"]
# reference/gateways.md §4.7 vector.
VEC_PARAMS = {"order_id": "ord_1", "status": "CHARGED", "status_id": "21"}
VEC_KEY = "resp_key_123"
VEC_MESSAGE = "order_id%3Dord_1%26status%3DCHARGED%26status_id%3D21"
VEC_SIGNATURE = "yxeqe+ZCkFmTRnRrO25UcFF+kz1N0xBGsqqPyyM92eo="


def charge(method: PaymentMethod | None = None, **kw: object) -> ChargeRequest:
    base: dict[str, object] = dict(
        attempt_id=REF.attempt_id, payment_id="pay_eng_1", merchant_id="mer_1", amount=50000, currency="INR",
        method=method or PaymentMethod(type="card", card=CARD), capture=True, callback_url="https://eng.example/cb",
    )  # fmt: skip
    base.update(kw)
    return ChargeRequest(**base)  # type: ignore[arg-type]


def answer(status: int, body: object | bytes) -> HttpResult:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed, data = parse_json(raw)
    return HttpResult(Transport.ANSWERED, status=status, body=raw, data=data, parsed=parsed)


def error(code: str, message: str = "m") -> dict[str, str]:
    return {"status": "error", "error_code": code, "error_message": message}


def order(status: str = "CHARGED", **kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": "ordeh_1", "order_id": ORDER, "merchant_id": "unit_merchant", "status": status, "status_id": 21,
        "amount": 500.0, "currency": "INR", "txn_id": f"unit_merchant-{ORDER}-1", "txn_uuid": "eul123",
        "udf1": "mer_1", "udf6": REF.attempt_id, "refunds": [], "bank_error_code": "", "bank_error_message": "",
    }  # fmt: skip
    body.update(kw)
    return body


def sign(params: dict[str, str], key: str = CREDS.response_key, encode: object = None) -> str:
    enc = encode or (lambda s: quote(s, safe=""))
    pairs = sorted((enc(k), enc(v)) for k, v in params.items())  # type: ignore[operator]
    message = enc("&".join(f"{k}={v}" for k, v in pairs))  # type: ignore[operator]
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def connector() -> JuspayConnector:
    return JuspayConnector(CREDS, base_url="https://sandbox.juspay.in", client=new_client())


# --- return-URL signature vector through the connector's code paths ----------------------------------


def test_reference_return_url_vector() -> None:
    assert events.return_url_message(VEC_PARAMS) == VEC_MESSAGE
    assert events.return_url_signature(VEC_PARAMS, VEC_KEY) == VEC_SIGNATURE
    params = {**VEC_PARAMS, "signature": VEC_SIGNATURE, "signature_algorithm": "HMAC-SHA256"}
    assert events.verify_return_url(params, VEC_KEY)
    assert events.verify_return_url({**params, "signature": quote(VEC_SIGNATURE, safe="")}, VEC_KEY)  # double-encoded
    assert events.verify_return_url({**params, "signature": VEC_SIGNATURE.replace("+", " ")}, VEC_KEY)
    creds = JuspayCredentials("m", "k", VEC_KEY, "u", "p")
    paytm = JuspayConnector(creds, base_url="https://x.example", client=new_client())
    result = paytm.verify_callback(params, AttemptRef("att_x", None, "ord_1", 1000, "INR"))
    assert result is not None and result.outcome is Outcome.CAPTURED and result.amount_captured == 1000
    assert paytm.verify_callback({**params, "status": "AUTHORIZATION_FAILED"}, AttemptRef("a", None, "ord_1")) is None


@pytest.mark.parametrize("encode", [quote_plus, lambda s: quote(s, safe="")])
def test_both_percent_encodings_verify(encode: object) -> None:
    params = {"order_id": ORDER, "status": "AUTHENTICATION_FAILED", "status_id": "26", "note": "a b~c*"}
    params["signature"] = sign(params, encode=encode)
    params["signature_algorithm"] = "HMAC-SHA256"
    res = connector().verify_callback(params, REF)
    assert res is not None and res.outcome is Outcome.DECLINED and res.decline_code == "authentication_failed"


@pytest.mark.parametrize(
    "params",
    [{"order_id": ORDER, "status": "CHARGED", "signature": "nope", "signature_algorithm": "HMAC-SHA256"},
     {"order_id": ORDER, "status": "CHARGED"}, {"order_id": ORDER, "status": "CHARGED", "signature": ""},
     {"order_id": ORDER, "status": "CHARGED", "signature_algorithm": "MD5"}],
)  # fmt: skip
def test_bad_return_urls_are_rejected(params: dict[str, str]) -> None:
    if params.get("signature_algorithm") == "MD5":
        params["signature"] = sign({"order_id": ORDER, "status": "CHARGED"})
    assert connector().verify_callback(params, REF) is None


def test_signed_return_url_for_another_order_or_key_is_rejected() -> None:
    other = {"order_id": "other", "status": "CHARGED"}
    assert connector().verify_callback({**other, "signature": sign(other)}, REF) is None
    ours = {"order_id": ORDER, "status": "CHARGED"}
    assert connector().verify_callback({**ours, "signature": sign(ours, key="wrong")}, REF) is None


# --- amounts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [(10, "INR", 1000), (10.0, "INR", 1000), (10.5, "INR", 1050), (0.1, "INR", 10), (123.45, "INR", 12345),
     ("10.00", "INR", 1000), ("10", "INR", 1000), (5.0, "JPY", 5), (1.5, "KWD", 1500), (0, "INR", 0),
     (10.123, "INR", None), (0.1 + 0.2, "INR", None), (True, "INR", None), (-1, "INR", None), ("abc", "INR", None),
     (float("nan"), "INR", None), (float("inf"), "INR", None), (None, "INR", None), (1e30, "INR", None), (10, "XXX", None)],
)  # fmt: skip
def test_lenient_amounts(value: object, currency: str, minor: int | None) -> None:
    assert tf.amount_minor(value, currency) == minor


# --- form bodies -----------------------------------------------------------------------------------------


def test_order_form() -> None:
    form = builders.order_form(charge(description="pills", customer_email="a@b.co"))
    assert form == {"order_id": ORDER, "amount": "500.00", "currency": "INR", "return_url": "https://eng.example/cb",
                    "udf1": "mer_1", "udf6": REF.attempt_id, "udf7": "pay_eng_1", "description": "pills",
                    "customer_email": "a@b.co"}  # fmt: skip
    assert builders.order_form(charge(capture=False))["metadata.txns.auto_capture"] == "false"


@pytest.mark.parametrize(
    ("attempt", "order_id"),
    [("att_1", "att1"), ("att_Ab3dEfGhIjKlMnOpQrStUvWx", "3dEfGhIjKlMnOpQrStUvWx"[-20:])],
)  # fmt: skip
def test_order_id_is_alphanumeric_under_21(attempt: str, order_id: str) -> None:
    assert builders.order_id_for(attempt) == order_id and len(order_id) <= 20 and order_id.isalnum()
    assert builders.request_id_for("re_" + "x" * 24) == "x" * 20


@pytest.mark.parametrize(
    ("method", "expected"),
    [(PaymentMethod(type="card", card=CARD), {"payment_method_type": "CARD", "payment_method": "VISA", "card_number": "4111111111111111",
      "card_exp_month": "03", "card_exp_year": "31", "card_security_code": "123", "name_on_card": "Asha Rao", "save_to_locker": "false"}),
     (PaymentMethod(type="upi", vpa="success@upi"), {"payment_method_type": "UPI", "payment_method": "UPI", "txn_type": "UPI_COLLECT", "upi_vpa": "success@upi"}),
     (PaymentMethod(type="netbanking", bank_code="hdfc"), {"payment_method_type": "NB", "payment_method": "NB_HDFC"}),
     (PaymentMethod(type="wallet", wallet_provider="mobikwik"), {"payment_method_type": "WALLET", "payment_method": "MOBIKWIK"})],
)  # fmt: skip
def test_txn_forms(method: PaymentMethod, expected: dict[str, str]) -> None:
    form = builders.txn_form(charge(method), order_id=ORDER, merchant_id="unit_merchant")
    common = {"order_id": ORDER, "merchant_id": "unit_merchant", "redirect_after_payment": "true", "format": "json"}
    assert form == {**common, **expected}


@pytest.mark.parametrize(
    ("number", "brand"),
    [("4111111111111111", "VISA"), ("5555555555554444", "MASTERCARD"), ("2221000000000009", "MASTERCARD"),
     ("6521111111111110", "RUPAY"), ("378282246310005", "AMEX"), ("3530111333300000", None)],
)  # fmt: skip
def test_card_brand(number: str, brand: str | None) -> None:
    assert builders.card_brand(number) == brand


@pytest.mark.parametrize("method", [PaymentMethod(type="upi"), PaymentMethod(type="emi"), PaymentMethod(type="card")])
def test_unsupported_or_incomplete_method(method: PaymentMethod) -> None:
    with pytest.raises(builders.UnsupportedMethod):
        builders.txn_form(charge(method), order_id=ORDER, merchant_id="m")


@pytest.mark.parametrize(
    ("phone", "name", "expected"),
    [("+91 98765 43210", "Asha Rao", {"mobile_number": "9876543210", "mobile_country_code": "91", "first_name": "Asha", "last_name": "Rao"}),
     ("9876543210", "Asha", {"mobile_number": "9876543210", "first_name": "Asha"}),
     (None, None, {"mobile_number": builders.PLACEHOLDER_PHONE})],
)  # fmt: skip
def test_customer_form(phone: str | None, name: str | None, expected: dict[str, str]) -> None:
    form = builders.customer_form("cus_12345678", "a@b.co", phone, name)
    assert form == {"object_reference_id": "cus_12345678", "email_address": "a@b.co", **expected}


def test_refund_form_always_names_the_amount() -> None:
    req = RefundRequest("re_" + "R" * 24, REF, 1050, "INR")
    assert builders.refund_form(req) == {"unique_request_id": "R" * 20, "amount": "10.50"}


# --- order create and /txns ----------------------------------------------------------------------------------


def test_order_created() -> None:
    assert tf.map_order_created(answer(200, {**order("CREATED"), "status_id": 1}), ORDER) == ORDER


@pytest.mark.parametrize(
    "result",
    [NOT_SENT, LOST, answer(500, error("internal_error")), answer(503, b"<html>503</html>"), answer(200, b'{"id": '),
     answer(401, error("access_denied")), answer(200, {**order(), "order_id": "other"})],
)  # fmt: skip
def test_order_failures_are_retryable(result: HttpResult) -> None:
    out = tf.map_order_created(result, ORDER)
    assert not isinstance(out, str) and out.outcome is Outcome.RETRYABLE


def test_order_refused_is_invalid_request() -> None:
    out = tf.map_order_created(answer(400, error("invalid_request", "Invalid amount")), ORDER)
    assert not isinstance(out, str) and out.outcome is Outcome.DECLINED and out.decline_code == "invalid_request"


def txn(result: HttpResult, *, upi: bool = False) -> object:
    return tf.map_txn(result, REF, ORDER, upi=upi, trusted_hosts=frozenset({"127.0.0.1"}))


def txn_body(status: str, **kw: object) -> dict[str, object]:
    return {"order_id": ORDER, "txn_id": f"m-{ORDER}-1", "txn_uuid": "eul9", "status": status, **kw}


def test_charged_txn_is_captured() -> None:
    res = txn(answer(200, txn_body("CHARGED")))
    assert res.outcome is Outcome.CAPTURED and res.amount_captured == 50000 and res.gateway_reference == "eul9"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "decline"),
    [("05", "card_declined"), ("51", "insufficient_funds"), ("54", "expired_card"), ("N7", "incorrect_cvc"), ("99", "card_declined")],
)  # fmt: skip
def test_declined_txn(code: str, decline: str) -> None:
    res = txn(answer(200, txn_body("AUTHORIZATION_FAILED", bank_error_code=code, bank_error_message="x")))
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline and res.error_code == code  # type: ignore[attr-defined]


def test_pending_vbv_requires_action_except_upi() -> None:
    auth = {"authentication": {"method": "GET", "url": "https://api.juspay.in/pay/start/m/eul9"}}
    res = txn(answer(200, txn_body("PENDING_VBV", payment=auth)))
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url == auth["authentication"]["url"]  # type: ignore[attr-defined]
    upi = txn(answer(200, txn_body("PENDING_VBV", payment=auth)), upi=True)
    assert upi.outcome is Outcome.PROCESSING  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "auth",
    [{"method": "GET", "url": "javascript:alert(1)"}, {"method": "POST", "url": "https://api.juspay.in/x"}, {}, None],
)  # fmt: skip
def test_unusable_authentication_is_unknown(auth: object) -> None:
    res = txn(answer(200, txn_body("PENDING_VBV", payment={"authentication": auth})))
    assert res.outcome is Outcome.UNKNOWN and res.redirect_url is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "body", "outcome", "decline"),
    [(400, error("invalid_card"), Outcome.DECLINED, "incorrect_number"), (400, error("invalid_vpa"), Outcome.DECLINED, "invalid_vpa"),
     (400, error("invalid_request"), Outcome.DECLINED, "invalid_request"), (400, error("invalid_order_state"), Outcome.UNKNOWN, None),
     (401, error("access_denied"), Outcome.RETRYABLE, None), (502, error("gateway_error"), Outcome.RETRYABLE, None),
     (500, error("internal_error"), Outcome.UNKNOWN, None)],
)  # fmt: skip
def test_txn_errors(status: int, body: dict[str, str], outcome: Outcome, decline: str | None) -> None:
    res = txn(answer(status, body))
    assert res.outcome is outcome and res.decline_code == decline  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "result",
    [LOST, answer(503, b"<html>503</html>"), answer(200, txn_body("MYSTERY")), answer(200, {**txn_body("CHARGED"), "order_id": "x"}),
     answer(200, {"order_id": ORDER})] + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_everything_unproven_after_sending_is_unknown(result: HttpResult) -> None:
    res = txn(result)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id == ORDER  # type: ignore[attr-defined]


def test_txn_not_sent_is_retryable() -> None:
    assert txn(NOT_SENT).outcome is Outcome.RETRYABLE  # type: ignore[attr-defined]


# --- order status table -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("CHARGED", Outcome.CAPTURED), ("AUTHORIZED", Outcome.AUTHORIZED), ("CAPTURE_INITIATED", Outcome.AUTHORIZED),
     ("CAPTURE_FAILED", Outcome.AUTHORIZED), ("VOID_INITIATED", Outcome.AUTHORIZED), ("VOID_FAILED", Outcome.AUTHORIZED),
     ("VOIDED", Outcome.VOIDED), ("PENDING_VBV", Outcome.PROCESSING), ("VBV_SUCCESSFUL", Outcome.PROCESSING),
     ("AUTHORIZING", Outcome.PROCESSING), ("STARTED", Outcome.PROCESSING), ("JUSPAY_DECLINED", Outcome.DECLINED),
     ("AUTHENTICATION_FAILED", Outcome.DECLINED), ("AUTHORIZATION_FAILED", Outcome.DECLINED), ("AUTO_REFUNDED", Outcome.DECLINED),
     ("NEW", Outcome.UNKNOWN), ("CREATED", Outcome.UNKNOWN), ("NOT_FOUND", Outcome.UNKNOWN), ("COD_INITIATED", Outcome.UNKNOWN),
     ("SOMETHING_NEW", Outcome.UNKNOWN)],
)  # fmt: skip
def test_status_table(status: str, outcome: Outcome) -> None:
    res = tf.map_status(answer(200, order(status)), REF, ORDER)
    assert res.outcome is outcome and res.raw_status == (status if status not in codes.NO_TRANSACTION else "no_payment")
    assert res.amount_captured == (50000 if outcome is Outcome.CAPTURED else 0)
    if outcome is Outcome.DECLINED:
        assert res.decline_code == codes.STATUS_DECLINES[status]


@pytest.mark.parametrize(("code", "decline"), list(codes.BANK_DECLINES.items()))
def test_bank_decline_codes(code: str, decline: str) -> None:
    res = tf.map_status(answer(200, order("AUTHORIZATION_FAILED", bank_error_code=code)), REF, ORDER)
    assert res.decline_code == decline


def test_unknown_order_is_no_payment() -> None:
    res = tf.map_status(answer(404, error("object_not_found")), REF, ORDER)
    assert res.outcome is Outcome.UNKNOWN and res.raw_status == "no_payment"


@pytest.mark.parametrize(
    "result",
    [NOT_SENT, LOST, answer(500, error("internal_error")), answer(404, b"<html/>"), answer(200, order(amount=5.0)),
     answer(200, order(amount="500.001")), answer(200, order(currency="USD")), answer(200, order(order_id="other")),
     answer(401, error("access_denied"))] + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_unproven_status_is_unknown(result: HttpResult) -> None:
    res = tf.map_status(result, REF, ORDER)
    assert res.outcome is Outcome.UNKNOWN and res.raw_status != "no_payment"


# --- refunds --------------------------------------------------------------------------------------------------


REFUND = RefundRequest("re_" + "R" * 24, REF, 1000, "INR")
UNIQUE = "R" * 20


def refund_item(status: str, **kw: object) -> dict[str, object]:
    return {"id": "rfd_1", "unique_request_id": UNIQUE, "amount": 10.0, "status": status, "error_code": None, **kw}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("PENDING", RefundOutcome.PENDING), ("MANUAL_REVIEW", RefundOutcome.PENDING), ("SUCCESS", RefundOutcome.SUCCEEDED),
     ("FAILURE", RefundOutcome.FAILED), ("SOMETHING", RefundOutcome.PENDING)],
)  # fmt: skip
def test_refund_statuses(status: str, outcome: RefundOutcome) -> None:
    other = refund_item("SUCCESS", unique_request_id="other")
    res = tf.map_refund(answer(200, order(refunds=[other, refund_item(status)])), UNIQUE, 1000, "INR")
    assert res.outcome is outcome and res.gateway_refund_id == UNIQUE


@pytest.mark.parametrize(
    ("result", "outcome"),
    [(answer(400, error("invalid.order.not_successful")), RefundOutcome.FAILED),
     (answer(400, error("invalid.refund.amount")), RefundOutcome.FAILED), (NOT_SENT, RefundOutcome.FAILED),
     (LOST, RefundOutcome.UNKNOWN), (answer(500, error("internal_error")), RefundOutcome.UNKNOWN),
     (answer(200, order(refunds=[])), RefundOutcome.UNKNOWN),
     (answer(200, order(refunds=[refund_item("SUCCESS", amount=9.99)])), RefundOutcome.UNKNOWN)]
    + [(answer(200, g), RefundOutcome.UNKNOWN) for g in GARBAGE],
)  # fmt: skip
def test_refund_answers(result: HttpResult, outcome: RefundOutcome) -> None:
    assert tf.map_refund(result, UNIQUE, 1000, "INR").outcome is outcome


# --- webhooks --------------------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    ("headers", "ok"),
    [(basic("hookuser", "hook_password"), True), ({"authorization": basic("hookuser", "hook_password")["Authorization"]}, True),
     (basic("hookuser", "wrong"), False), (basic("other", "hook_password"), False), ({}, False),
     ({"Authorization": "Bearer hook_password"}, False), ({"Authorization": "Basic !!!"}, False),
     ({"Authorization": "Basic " + base64.b64encode(b"hookuser:hook_password:x").decode()}, False)],
)  # fmt: skip
def test_webhook_basic_auth(headers: dict[str, str], ok: bool) -> None:
    assert webhook_verified(connector(), headers, b"{}") is ok


def hook(name: str, body_order: dict[str, object], event_id: str = "evt_V2_1") -> bytes:
    return json.dumps({"id": event_id, "date_created": "2023-08-10T07:00:48Z", "event_name": name,
                       "content": {"order": body_order}}).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("name", "status", "outcome"),
    [("ORDER_SUCCEEDED", "CHARGED", Outcome.CAPTURED), ("ORDER_FAILED", "AUTHORIZATION_FAILED", Outcome.DECLINED),
     ("TXN_CREATED", "PENDING_VBV", Outcome.PROCESSING), ("AUTO_REFUND_SUCCEEDED", "AUTO_REFUNDED", Outcome.DECLINED)],
)  # fmt: skip
def test_payment_events(name: str, status: str, outcome: Outcome) -> None:
    event = connector().parse_webhook({}, hook(name, order(status, bank_error_code="05")))
    assert event.event_id == "evt_V2_1" and event.event_type == name and event.attempt_id == REF.attempt_id
    assert event.gateway_order_id == ORDER and event.gateway_reference == "eul123"
    assert event.charge is not None and event.charge.outcome is outcome and event.refund is None


@pytest.mark.parametrize(
    ("name", "outcome"),
    [("ORDER_REFUNDED", RefundOutcome.SUCCEEDED), ("ORDER_REFUND_FAILED", RefundOutcome.FAILED),
     ("REFUND_MANUAL_REVIEW_NEEDED", RefundOutcome.PENDING)],
)  # fmt: skip
def test_refund_events(name: str, outcome: RefundOutcome) -> None:
    status = events.REFUND_EVENTS[name]
    refunds = [refund_item("SUCCESS", unique_request_id="older"), refund_item(status)]
    event = connector().parse_webhook({}, hook(name, order(refunds=refunds)))
    assert event.refund is not None and event.refund.outcome is outcome and event.refund_reference == UNIQUE
    assert event.charge is None


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"[]", b"{}", json.dumps({"event_name": "ORDER_SUCCEEDED", "content": {}}).encode(),
     hook("ORDER_REFUNDED", order(refunds=[]))],
)  # fmt: skip
def test_garbage_webhooks(body: bytes) -> None:
    with pytest.raises(ValueError):
        connector().parse_webhook({}, body)


def test_webhook_without_id_gets_a_stable_one() -> None:
    raw = json.dumps({"event_name": "ORDER_SUCCEEDED", "content": {"order": order()}}).encode()
    assert connector().parse_webhook({}, raw).event_id == connector().parse_webhook({}, raw).event_id


# --- registry, secrets, guards --------------------------------------------------------------------------------


def test_registry_builds_juspay_and_hides_secrets() -> None:
    creds = {"merchant_id": "m", "api_key": "K_SECRET", "response_key": "R_SECRET", "webhook_username": "u",
             "webhook_password": "P_SECRET"}  # fmt: skip
    built = build_connector("juspay", creds, base_url="https://x.example", client=new_client())
    assert isinstance(built, JuspayConnector)
    for secret in ("K_SECRET", "R_SECRET", "P_SECRET"):
        assert secret not in repr(built) and secret not in repr(built._creds)
    with pytest.raises(ValueError, match="response_key"):
        build_connector("juspay", {**creds, "response_key": ""}, base_url="https://x", client=new_client())
    caps = capabilities("juspay")
    assert caps.customers and caps.manual_capture and caps.void and caps.partial_capture and caps.partial_refund
    assert caps.currencies == {"INR"} and caps.methods == {"card", "upi", "netbanking", "wallet"}
    assert default_base_url("juspay") == "https://api.juspay.in"
    assert not capabilities("razorpay").customers and capabilities("razorpay").manual_capture


async def test_guards_before_any_io() -> None:
    juspay = JuspayConnector(CREDS, base_url="http://127.0.0.1:9", client=new_client())
    assert (await juspay.authorize(charge(currency="USD"))).error_code == "currency_unsupported"
    bad = await juspay.authorize(charge(PaymentMethod(type="emi")))
    assert bad.outcome is Outcome.DECLINED and bad.decline_code == "invalid_request"


# --- pre-auth, capture and void (Juspay's documented flow; the sandbox has no pre-auth: a scripted
# --- Juspay on a loopback port stands in) ---------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    content: bytes


class FakeJuspay:
    """A scripted Juspay for the pre-auth flow, served on a loopback port, recording every
    request it sees."""

    def __init__(self) -> None:
        self.status = "NEW"
        self.seen: list[Seen] = []

    async def handle(self, request: web.Request) -> web.Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append(Seen(request.method, request.path, headers, await request.read()))
        path = request.path
        if path == "/orders" and request.method == "POST":
            return web.json_response({**order("CREATED"), "status_id": 1})
        if path == "/txns":
            self.status = "AUTHORIZED"
            return web.json_response(txn_body("AUTHORIZED"))
        if path.endswith("/capture"):
            self.status = "CHARGED"
            return web.json_response({"txn_uuid": "eul9", "status": "CHARGED"})
        if path.endswith("/void"):
            self.status = "VOIDED"
            return web.json_response({"txn_uuid": "eul9", "status": "VOIDED"})
        if path == f"/orders/{ORDER}":
            return web.json_response(order(self.status, txn_uuid="eul9"))
        return web.json_response(error("not_found"), status=404)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        async with TestServer(app, host="127.0.0.1") as server:
            yield str(server.make_url("")).rstrip("/")


@pytest.mark.parametrize("action", ["capture", "void"])
async def test_preauth_then_capture_or_void(action: str) -> None:
    fake = FakeJuspay()
    async with fake.serving() as url, new_client() as client:
        juspay = JuspayConnector(CREDS, base_url=url, client=client)
        req = charge(capture=False)
        held = await juspay.authorize(req)
        assert held.outcome is Outcome.AUTHORIZED and held.amount_captured == 0 and held.gateway_reference == "eul9"
        ref = AttemptRef(req.attempt_id, None, held.gateway_order_id, req.amount, req.currency)  # txn_uuid looked up
        if action == "capture":
            done = await juspay.capture(ref, req.amount)
            assert done.outcome is Outcome.CAPTURED and done.amount_captured == req.amount
        else:
            done = await juspay.void(ref)
            assert done.outcome is Outcome.VOIDED
    created = fake.seen[0]
    assert b"metadata.txns.auto_capture=false" in created.content
    assert created.headers["content-type"] == "application/x-www-form-urlencoded"
    assert created.headers["authorization"] == "Basic " + base64.b64encode(b"unit_api_key:").decode()
    assert created.headers["x-merchantid"] == "unit_merchant" and created.headers["x-routing-id"] == ORDER
    assert any(r.path == f"/v2/txns/eul9/{action}" and r.method == "POST" for r in fake.seen)
    assert all("content-type" not in r.headers for r in fake.seen if r.method == "GET")


async def test_capture_not_sent_is_retryable() -> None:
    with socket.socket() as held:  # bound, not listening: every connection is refused
        held.bind(("127.0.0.1", 0))
        async with new_client() as client:
            juspay = JuspayConnector(CREDS, base_url=f"http://127.0.0.1:{held.getsockname()[1]}", client=client)
            assert (await juspay.capture(REF, 50000)).outcome is Outcome.RETRYABLE
            assert (
                await juspay.void(AttemptRef("att_1", None, ORDER))
            ).outcome is Outcome.UNKNOWN  # no txn_uuid learnt
