"""PayU mapping without IO: hash vectors, form bodies, every answer shape, callbacks, webhooks.

Hashes here are computed with ``hashlib`` from the reference's layouts and checked against its
vectors, independently of ``engine.signing``, so a mistake there cannot cancel itself out here.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

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
from engine.gateways.payu import PayuConnector, PayuCredentials, builders, codes, events
from engine.gateways.payu import transformers as tf
from engine.gateways.registry import build_connector, capabilities, default_base_url

KEY, SALT = "unitkey", "unitsalt"
CREDS = PayuCredentials(KEY, SALT)
CARD = CardDetails(number="4111111111111111", exp_month=3, exp_year=2031, cvc="123", holder_name="Asha Rao")
REF = AttemptRef("att_1", "403993715531077182", "att_1", amount=50000, currency="INR")
NOT_SENT = HttpResult(Transport.NOT_SENT, error="ConnectError")
LOST = HttpResult(Transport.UNKNOWN, error="ReadTimeout")
GARBAGE = [b"", b"<html>502 Bad Gateway</html>", b'{"metaData": {"txnS', b"[]", b"null"]

# reference/gateways.md §3 vectors.
VEC = {"key": "C0Dr8m", "txnid": "12345", "amount": "10", "productinfo": "Shopping", "firstname": "Test",
       "email": "test@test.com", "udf2": "abc", "udf4": "15"}  # fmt: skip
VEC_SALT = "3sf0jURk"
VEC_REVERSE = "012af4d4cc8a3d93ef15ff56da20f74ac9f3f3d713f7d34fba17ff606793eda269b807ef06dd5c9267ed3113d0cc1050dd2ebc2079cad68e03215c2593c61d4f"
VEC_REVERSE_CHARGES = "597a5f85fde83a520a2ed76ddeb107113aaf8c6a9749749629166a769158070d85cc111ef91f98ec14ac443c464fbcd558ae98af9c246b5980610ac1e1bc297c"
VEC_COMMAND = "26e3f2b1fdc9c224abcd789fc54f067c08802e8739f25ca57b51b796b851a692cdc0568d1a89a644147a0d87be7ccc8a2b1da6cbfc0df515b1335ab055049fb6"


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def reverse_hash(fields: dict[str, str], salt: str = SALT) -> str:
    """The documented reverse-hash layout, written out independently."""
    udfs = [fields.get(f"udf{i}", "") for i in (5, 4, 3, 2, 1)]
    tail = [fields.get(n, "") for n in ("email", "firstname", "productinfo", "amount", "txnid", "key")]
    parts = [salt, fields.get("status", ""), "", "", "", "", "", *udfs, *tail]
    charges = fields.get("additionalCharges")
    return sha512("|".join([charges, *parts] if charges else parts))


def charge(method: PaymentMethod | None = None, **kw: object) -> ChargeRequest:
    base: dict[str, object] = dict(
        attempt_id="att_1", payment_id="pay_eng_1", merchant_id="mer_1", amount=50000, currency="INR",
        method=method or PaymentMethod(type="card", card=CARD), capture=True, callback_url="https://eng.example/cb",
    )  # fmt: skip
    base.update(kw)
    return ChargeRequest(**base)  # type: ignore[arg-type]


def answer(status: int, body: object | bytes) -> HttpResult:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    parsed, data = parse_json(raw)
    return HttpResult(Transport.ANSWERED, status=status, body=raw, data=data, parsed=parsed)


def response(status: str = "success", unmapped: str = "captured", **kw: str) -> dict[str, str]:
    """Signed response fields (callback, webhook, S2S result)."""
    fields = {
        "mihpayid": "403993715531077182", "mode": "CC", "status": status, "unmappedstatus": unmapped, "key": KEY,
        "txnid": "att_1", "amount": "500.00", "productinfo": "payment", "firstname": "Asha",
        "email": "customer@example.com", "phone": "9999999999", "udf1": "mer_1", "udf2": "att_1",
        "udf3": "pay_eng_1", "error": "E000", "error_Message": "No Error", "field9": "Transaction Completed Successfully",
    }  # fmt: skip
    fields.update(kw)
    fields["hash"] = reverse_hash(fields)
    return fields


def connector() -> PayuConnector:
    return PayuConnector(CREDS, base_url="https://test.payu.in", client=new_client())


# --- hash vectors through the connector's code paths ----------------------------------------------


def test_reference_reverse_hash_vectors_verify_callbacks() -> None:
    fields = {**VEC, "status": "success"}
    assert tf.verify_fields({**fields, "hash": VEC_REVERSE}, VEC_SALT)
    assert tf.verify_fields({**fields, "hash": VEC_REVERSE.upper()}, VEC_SALT)
    assert not tf.verify_fields({**fields, "hash": VEC_REVERSE_CHARGES}, VEC_SALT)
    with_charges = {**fields, "additionalCharges": "2.00", "hash": VEC_REVERSE_CHARGES}
    assert tf.verify_fields(with_charges, VEC_SALT)
    assert tf.verify_fields({**fields, "additional_charges": "2.00", "hash": VEC_REVERSE_CHARGES}, VEC_SALT)
    assert not tf.verify_fields({**with_charges, "additionalCharges": "3.00"}, VEC_SALT)
    assert not tf.verify_fields({**fields, "status": "failure", "hash": VEC_REVERSE}, VEC_SALT)


def test_reference_command_hash_vector() -> None:
    form = builders.command_form("C0Dr8m", VEC_SALT, "verify_payment", "12345")
    assert form == {"key": "C0Dr8m", "command": "verify_payment", "var1": "12345", "hash": VEC_COMMAND}
    refund = builders.command_form("k", "s", "cancel_refund_transaction", "123", "re_1", "10.00")
    assert refund["var2"] == "re_1" and refund["var3"] == "10.00"
    assert refund["hash"] == sha512("k|cancel_refund_transaction|123|s")  # var1 only


def test_payment_form_hash_follows_the_documented_layout() -> None:
    form = builders.payment_form(charge(), key=KEY, salt=SALT)
    layout = [form[n] for n in ("key", "txnid", "amount", "productinfo", "firstname", "email")]
    layout += [form.get(f"udf{i}", "") for i in range(1, 6)]
    assert form["hash"] == sha512("|".join(layout) + "||||||" + SALT)


# --- form bodies ---------------------------------------------------------------------------------


def test_card_payment_form() -> None:
    form = builders.payment_form(charge(description="pills"), key=KEY, salt=SALT)
    assert {k: v for k, v in form.items() if k != "hash"} == {
        "key": KEY, "txnid": "att_1", "amount": "500.00", "productinfo": "pills", "firstname": "Asha",
        "email": builders.PLACEHOLDER_EMAIL, "phone": builders.PLACEHOLDER_PHONE, "surl": "https://eng.example/cb",
        "furl": "https://eng.example/cb", "udf1": "mer_1", "udf2": "att_1", "udf3": "pay_eng_1", "txn_s2s_flow": "4",
        "s2s_client_ip": "127.0.0.1", "s2s_device_info": "web", "pg": "CC", "bankcode": "CC",
        "ccnum": "4111111111111111", "ccname": "Asha Rao", "ccvv": "123", "ccexpmon": "03", "ccexpyr": "2031",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("method", "expected"),
    [(PaymentMethod(type="upi", vpa="success@upi"), {"pg": "UPI", "bankcode": "UPI", "vpa": "success@upi", "txn_s2s_flow": "2"}),
     (PaymentMethod(type="netbanking", bank_code="hdfb"), {"pg": "NB", "bankcode": "HDFB", "txn_s2s_flow": "4"}),
     (PaymentMethod(type="wallet", wallet_provider="phonepe"), {"pg": "CASH", "bankcode": "PHONEPE", "txn_s2s_flow": "4"})],
)  # fmt: skip
def test_other_method_forms(method: PaymentMethod, expected: dict[str, str]) -> None:
    form = builders.payment_form(
        charge(method, customer_email="a@b.co", customer_phone="9876543210"), key=KEY, salt=SALT
    )
    assert {k: form[k] for k in expected} == expected
    assert form["email"] == "a@b.co" and form["phone"] == "9876543210" and "ccnum" not in form


@pytest.mark.parametrize("method", [PaymentMethod(type="upi"), PaymentMethod(type="emi"), PaymentMethod(type="card")])
def test_unsupported_or_incomplete_method(method: PaymentMethod) -> None:
    with pytest.raises(builders.UnsupportedMethod):
        builders.payment_form(charge(method), key=KEY, salt=SALT)


@pytest.mark.parametrize(
    ("attempt", "txnid"),
    [("att_1", "att_1"), ("att_" + "A" * 21, "att_" + "A" * 21),
     ("att_abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx")],
)  # fmt: skip
def test_txnid_fits_25_characters(attempt: str, txnid: str) -> None:
    assert builders.txnid_for(attempt) == txnid and len(txnid) <= 25


# --- _payment (server to server) ---------------------------------------------------------------------


def meta(status: str, mihpayid: str = "403993715531077182", **kw: object) -> dict[str, object]:
    return {"message": None, "referenceId": mihpayid, "statusCode": None, "txnId": "att_1", "txnStatus": status,
            "unmappedStatus": status, **kw}  # fmt: skip


def pay(result: HttpResult) -> object:
    return tf.map_payment(result, SALT, "att_1", REF, trusted_hosts=frozenset({"127.0.0.1"}))


def test_signed_success_is_captured() -> None:
    res = pay(answer(200, {"metaData": meta("success"), "result": response()}))
    assert res.outcome is Outcome.CAPTURED and res.amount_captured == 50000  # type: ignore[attr-defined]
    assert res.gateway_reference == "403993715531077182" and res.gateway_order_id == "att_1"  # type: ignore[attr-defined]


def test_signed_auth_only_is_authorized() -> None:
    res = pay(answer(200, {"metaData": meta("success"), "result": response(unmapped="auth")}))
    assert res.outcome is Outcome.AUTHORIZED and res.amount_captured == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "message", "decline"),
    [("E308", "Transaction declined by the bank", "card_declined"), ("E208", "Insufficient funds", "insufficient_funds"),
     ("E217", "Card expired", "expired_card"), ("E1605", "cancelled", "customer_canceled"),
     ("E999", "Your card has insufficient balance", "insufficient_funds"), ("E998", "mystery", "generic_decline")],
)  # fmt: skip
def test_signed_failure_is_declined(error: str, message: str, decline: str) -> None:
    fields = response("failure", "failed", error=error, error_Message=message, field9=message)
    res = pay(answer(200, {"metaData": meta("failure"), "result": fields}))
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline and res.error_code == error  # type: ignore[attr-defined]


def test_pending_with_issuer_url_requires_action() -> None:
    url = "https://test.payu.in/pages/pay/1"
    res = pay(
        answer(200, {"metaData": meta("pending"), "result": {"issuerUrl": url, "acsTemplate": "", "enrolled": "1"}})
    )
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url == url  # type: ignore[attr-defined]
    unsafe = {"issuerUrl": "javascript:alert(1)"}
    assert pay(answer(200, {"metaData": meta("pending"), "result": unsafe})).outcome is Outcome.UNKNOWN  # type: ignore[attr-defined]


def test_upi_collect_pending_is_processing() -> None:
    result = {"paymentId": "1", "mihpayid": "1", "status": "pending", "merchantVpa": "m@payu"}
    res = pay(answer(200, {"metaData": meta("pending", "1"), "result": result}))
    assert res.outcome is Outcome.PROCESSING and res.gateway_reference == "1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("status", "error", "outcome", "decline"),
    [(200, "E1005", Outcome.DECLINED, "incorrect_number"), (200, "E1006", Outcome.DECLINED, "invalid_vpa"),
     (200, "E1002", Outcome.DECLINED, "invalid_request"), (200, "E1003", Outcome.DECLINED, "invalid_request"),
     (200, "E1001", Outcome.RETRYABLE, None), (200, "E1007", Outcome.RETRYABLE, None),
     (502, "E500", Outcome.RETRYABLE, None), (503, "E1005", Outcome.RETRYABLE, None),
     (200, "E1004", Outcome.UNKNOWN, None)],
)  # fmt: skip
def test_request_refusals(status: int, error: str, outcome: Outcome, decline: str | None) -> None:
    res = pay(answer(status, {"status": "failure", "error": error, "message": "m", "result": None}))
    assert res.outcome is outcome and res.decline_code == decline  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "result",
    [LOST, answer(500, {"status": 0, "msg": "Internal Server Error"}), answer(503, b"<html>503</html>"),
     answer(200, {"metaData": meta("success"), "result": {**response(), "hash": "0" * 128}}),
     answer(200, {"metaData": meta("success"), "result": response(amount="5.00")}),
     answer(200, {"metaData": meta("success"), "result": response(txnid="att_2")}),
     answer(200, {"metaData": meta("success"), "result": None}),
     answer(200, {"metaData": meta("bounced"), "result": {}}), answer(200, {"metaData": "x"})]
    + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_everything_unproven_after_sending_is_unknown(result: HttpResult) -> None:
    res = pay(result)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id == "att_1"  # type: ignore[attr-defined]


def test_not_sent_is_retryable() -> None:
    assert pay(NOT_SENT).outcome is Outcome.RETRYABLE  # type: ignore[attr-defined]


# --- status mapping and verify_payment -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "unmapped", "outcome"),
    [("success", "captured", Outcome.CAPTURED), ("success", "auth", Outcome.AUTHORIZED), ("pending", "pending", Outcome.PROCESSING),
     ("failure", "failed", Outcome.DECLINED), ("failed", "", Outcome.DECLINED), ("cancel", "userCancelled", Outcome.DECLINED),
     ("userCancelled", "", Outcome.DECLINED), ("dropped", "", Outcome.DECLINED), ("bounced", "", Outcome.DECLINED),
     ("mystery", "", Outcome.UNKNOWN), ("", "", Outcome.UNKNOWN)],
)  # fmt: skip
def test_status_table(status: str, unmapped: str, outcome: Outcome) -> None:
    assert codes.payment_outcome(status, unmapped) is outcome


def details(**kw: object) -> dict[str, object]:
    item: dict[str, object] = {"mihpayid": "403993715531077182", "txnid": "att_1", "amt": "500.00", "status": "success",
                               "unmappedstatus": "captured", "error_code": "E000", "error_Message": "No Error"}  # fmt: skip
    item.update(kw)
    return {"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully", "transaction_details": {"att_1": item}}


def test_verify_payment() -> None:
    assert tf.map_verify(answer(200, details()), "att_1", REF).outcome is Outcome.CAPTURED
    declined = tf.map_verify(
        answer(200, details(status="failure", error_code="E217", error_Message="Card expired")), "att_1", REF
    )
    assert declined.outcome is Outcome.DECLINED and declined.decline_code == "expired_card"
    pending = tf.map_verify(answer(200, details(status="pending", unmappedstatus="pending")), "att_1", REF)
    assert pending.outcome is Outcome.PROCESSING


def test_verify_payment_not_found_is_no_payment() -> None:
    body = {
        "status": 0,
        "msg": "0 out of 1",
        "transaction_details": {"att_1": {"mihpayid": "Not Found", "status": "Not Found"}},
    }
    res = tf.map_verify(answer(200, body), "att_1", REF)
    assert res.outcome is Outcome.UNKNOWN and res.raw_status == "no_payment"


@pytest.mark.parametrize(
    "result",
    [NOT_SENT, LOST, answer(500, b""), answer(200, {"status": 0, "msg": "Invalid Hash."}), answer(200, details(amt="5.00")),
     answer(200, details(status="later"))] + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_unreadable_verify_is_unknown(result: HttpResult) -> None:
    assert tf.map_verify(result, "att_1", REF).outcome is Outcome.UNKNOWN


# --- refunds -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "outcome", "code"),
    [({"status": 1, "msg": "Refund Request Queued", "request_id": "131278422", "error_code": 102}, RefundOutcome.PENDING, None),
     ({"status": 1, "msg": "ok", "request_id": 131278422, "error_code": 100}, RefundOutcome.SUCCEEDED, None),
     ({"status": 0, "msg": "Token already exists", "error_code": 106}, RefundOutcome.PENDING, "refund_exists_106"),
     ({"status": 0, "msg": "Invalid amount", "error_code": 105}, RefundOutcome.FAILED, "105"),
     ({"status": 0, "msg": "Invalid transaction status", "error_code": 111}, RefundOutcome.FAILED, "111"),
     ({"status": 0, "msg": "Transaction not found", "error_code": 116}, RefundOutcome.FAILED, "116"),
     ({"status": 0, "msg": "Same amount within 5 minutes", "error_code": 214}, RefundOutcome.FAILED, "214"),
     ({"status": 0, "msg": "Invalid Hash."}, RefundOutcome.FAILED, "refund_refused")],
)  # fmt: skip
def test_refund_answers(body: dict[str, object], outcome: RefundOutcome, code: str | None) -> None:
    res = tf.map_refund(answer(200, body))
    assert res.outcome is outcome and res.error_code == code
    if body.get("request_id"):
        assert res.gateway_refund_id == "131278422"


@pytest.mark.parametrize(
    "result", [LOST, answer(500, b""), answer(200, {"status": "x"})] + [answer(200, g) for g in GARBAGE]
)
def test_unproven_refund_is_unknown(result: HttpResult) -> None:
    assert tf.map_refund(result).outcome is RefundOutcome.UNKNOWN


def test_refund_not_sent_failed() -> None:
    assert tf.map_refund(NOT_SENT).outcome is RefundOutcome.FAILED


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("success", RefundOutcome.SUCCEEDED), ("failure", RefundOutcome.FAILED), ("failed", RefundOutcome.FAILED),
     ("queued", RefundOutcome.PENDING), ("od_hit", RefundOutcome.PENDING)],
)  # fmt: skip
def test_action_status(status: str, outcome: RefundOutcome) -> None:
    body = {
        "status": 1,
        "transaction_details": {"77": {"request_id": "77", "token": "re_1", "action": "refund", "status": status}},
    }
    assert tf.map_action_status(answer(200, body), "77").outcome is outcome
    assert (
        tf.map_action_status(answer(200, {"status": 0, "msg": "No action status found"}), "77").outcome
        is RefundOutcome.UNKNOWN
    )


# --- callbacks and webhooks --------------------------------------------------------------------------------


def test_callback_verifies_and_maps() -> None:
    ok = connector().verify_callback(response(), REF)
    assert ok is not None and ok.outcome is Outcome.CAPTURED and ok.amount_captured == 50000
    fee = connector().verify_callback(response(additionalCharges="2.00"), REF)
    assert fee is not None and fee.outcome is Outcome.CAPTURED
    failed = connector().verify_callback(
        response("failure", "userCancelled", error="E1605", error_Message="cancelled"), REF
    )
    assert failed is not None and failed.decline_code == "customer_canceled"


@pytest.mark.parametrize(
    "params",
    [{**response(), "amount": "5.00"}, {**response(), "status": "success", "unmappedstatus": "auth"} | {"hash": "00"},
     {**response(), "hash": ""}, {k: v for k, v in response().items() if k != "hash"},
     response(key="otherkey"), response(txnid="att_2")],
)  # fmt: skip
def test_bad_callbacks_are_rejected(params: dict[str, str]) -> None:
    assert connector().verify_callback(params, REF) is None


def test_callback_with_other_salt_is_rejected() -> None:
    fields = response()
    fields["hash"] = reverse_hash(fields, salt="othersalt")
    assert connector().verify_callback(fields, REF) is None


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_payment_webhook(encoding: str) -> None:
    fields = response()
    body = urlencode(fields).encode() if encoding == "form" else json.dumps(fields).encode()
    payu = connector()
    assert webhook_verified(payu, {}, body)
    event = payu.parse_webhook({}, body)
    assert event.attempt_id == "att_1" and event.gateway_order_id == "att_1" and event.event_type == "payment.success"
    assert event.charge is not None and event.charge.outcome is Outcome.CAPTURED
    assert not webhook_verified(payu, {}, urlencode({**fields, "amount": "1.00"}).encode())


def refund_hook(status: str = "success", salt: str = SALT) -> dict[str, str]:
    body = {"key": KEY, "action": "refund", "status": status, "amt": "10.00", "token": "re_1", "mihpayid": "4039",
            "request_id": "131278422", "merchantTxnId": "att_1", "bank_ref_num": "1", "refund_mode": "Back to Source"}  # fmt: skip
    body["hash"] = sha512(f"{salt}|{status}|10.00|131278422|4039|{KEY}")
    return body


@pytest.mark.parametrize(
    ("status", "outcome"), [("success", RefundOutcome.SUCCEEDED), ("failure", RefundOutcome.FAILED)]
)
def test_refund_webhook(status: str, outcome: RefundOutcome) -> None:
    raw = json.dumps(refund_hook(status)).encode()
    payu = connector()
    assert webhook_verified(payu, {}, raw)
    event = payu.parse_webhook({}, raw)
    assert event.refund is not None and event.refund.outcome is outcome and event.refund_reference == "re_1"
    assert event.refund.gateway_refund_id == "131278422" and event.charge is None
    unsigned = {k: v for k, v in refund_hook(status).items() if k != "hash"}
    assert not webhook_verified(payu, {}, json.dumps(unsigned).encode())
    assert not webhook_verified(payu, {}, json.dumps(refund_hook(status, salt="x")).encode())


@pytest.mark.parametrize("body", [b"", b"garbage=", b"{}", b"[1]", b"status=success", b"\xff\xfe", b'{"status": 1'])
def test_garbage_webhooks(body: bytes) -> None:
    payu = connector()
    assert not webhook_verified(payu, {}, body)
    if events.webhook_fields(body) is None:
        with pytest.raises(ValueError):
            payu.parse_webhook({}, body)


def test_verified_webhook_without_txnid_raises() -> None:
    with pytest.raises(ValueError):
        events.parse({"status": "success"})


# --- registry, secrets, guards -------------------------------------------------------------------------


def test_registry_builds_payu_and_hides_the_salt() -> None:
    built = build_connector("payu", {"key": KEY, "salt": SALT}, base_url="https://x.example", client=new_client())
    assert isinstance(built, PayuConnector) and SALT not in repr(built) and SALT not in repr(CREDS)
    with pytest.raises(ValueError, match="salt"):
        build_connector("payu", {"key": KEY}, base_url="https://x", client=new_client())
    caps = capabilities("payu")
    assert caps.currencies == {"INR"} and caps.methods == {"card", "upi", "netbanking", "wallet"}
    assert not caps.manual_capture and caps.partial_refund and not caps.customers
    assert default_base_url("payu") == "https://secure.payu.in"


def test_production_commands_go_to_the_info_host() -> None:
    prod = PayuConnector(CREDS, base_url="https://secure.payu.in", client=new_client())
    assert prod._command_base == "https://info.payu.in"
    assert connector()._command_base == "https://test.payu.in"


async def test_guards_before_any_io() -> None:
    payu = PayuConnector(CREDS, base_url="http://127.0.0.1:9", client=new_client())
    assert (await payu.authorize(charge(currency="USD"))).error_code == "currency_unsupported"
    assert (await payu.authorize(charge(capture=False))).error_code == "manual_capture_unsupported"
    bad = await payu.authorize(charge(PaymentMethod(type="emi")))
    assert bad.outcome is Outcome.DECLINED and bad.decline_code == "invalid_request"
    assert (await payu.void(REF)).outcome is Outcome.DECLINED
    unknown = await payu.refund_status(RefundRequest("re_1", REF, 100, "INR"))
    assert unknown.outcome is RefundOutcome.UNKNOWN
