"""Paytm mapping without IO: checksum vectors, request bodies, every answer shape, callbacks, webhooks.

Signatures here are made and checked with Paytm's official ``paytmchecksum`` library (and the
reference's published vectors), independently of ``engine.signing``, so a mistake there cannot
cancel itself out here.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import msgspec
import pytest
from paytmchecksum import PaytmChecksum

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
from engine.gateways.paytm import PaytmConnector, PaytmCredentials, builders, codes, events
from engine.gateways.paytm import transformers as tf
from engine.gateways.paytm.wire import StatusAnswer
from engine.gateways.registry import build_connector, capabilities, default_base_url

KEY = "unitmerchantkey1"  # 16 bytes: AES-128, as Paytm issues
MID = "UNITMID000000000001"
CREDS = PaytmCredentials(MID, KEY, "WEBSTAGING")
CARD = CardDetails(number="4111111111111111", exp_month=3, exp_year=2031, cvc="123", holder_name="A B")
REF = AttemptRef("att_1", "TXN1", "att_1", amount=50000, currency="INR")
NOT_SENT = HttpResult(Transport.NOT_SENT, error="ConnectError")
LOST = HttpResult(Transport.UNKNOWN, error="ReadTimeout")
GARBAGE = [b"", b"<html>502 Bad Gateway</html>", b'{"head":{},"body":{"resultInfo"', b"[]", b"null"]

# reference/gateways.md §1.2 vectors (key abcdefghijklmnop, salt AbC1).
VEC_KEY = "abcdefghijklmnop"
VEC_DICT_CHECKSUM = (
    "svZ/zwB6WVVB7XHNgdOG6mqQePIYeEdsMMNw/vuneTzQdZrWE1XeVhEnfDSNwq6o9pf2K/2qLBFeFGqepCWEKeH5/ftmezUpl+7evnoPNrA="
)
VEC_STRING = '{"mid":"TESTMID0001","orderId":"ORD_1001"}'
VEC_STRING_CHECKSUM = (
    "O5w8YSPb4D6PsERWLRjdz90VgORx0VwT4Hz+g13almy3hlHhZN6qEtv+MFcbav3IQ6/ZkQRv9ORQKEOGiVInJS5Gx3n3/sVOnZiieG7ovZ4="
)


def charge(method: PaymentMethod | None = None, **kw: object) -> ChargeRequest:
    base: dict[str, object] = dict(
        attempt_id="att_1", payment_id="pay_eng_1", merchant_id="mer_1", amount=50000, currency="INR",
        method=method or PaymentMethod(type="card", card=CARD), capture=True, callback_url="https://eng.example/cb",
    )  # fmt: skip
    base.update(kw)
    return ChargeRequest(**base)  # type: ignore[arg-type]


def answer(status: int, raw: bytes) -> HttpResult:
    parsed, data = parse_json(raw)
    return HttpResult(Transport.ANSWERED, status=status, body=raw, data=data, parsed=parsed)


def flip(signature: str) -> str:
    return signature[:10] + ("B" if signature[10] == "A" else "A") + signature[11:]


def signed(
    body: dict[str, object], *, key: str = KEY, sign: bool = True, tamper: bool = False, status: int = 200
) -> HttpResult:
    """A Paytm answer: head first, ``head.signature`` over the exact body text (official lib)."""
    text = json.dumps(body, separators=(",", ":"))
    head: dict[str, str] = {"responseTimestamp": "1700000000000", "version": "v1"}
    if sign:
        signature = PaytmChecksum.generateSignature(text, key)
        head["signature"] = flip(signature) if tamper else signature
    return answer(status, ('{"head":' + json.dumps(head) + ',"body":' + text + "}").encode())


def info(status: str, code: str, msg: str = "msg") -> dict[str, str]:
    return {"resultStatus": status, "resultCode": code, "resultMsg": msg}


def txn_fields(status: str = "TXN_SUCCESS", code: str = "01", **kw: str) -> dict[str, str]:
    fields = {
        "BANKNAME": "HDFC Bank", "BANKTXNID": "123", "CURRENCY": "INR", "GATEWAYNAME": "HDFC", "MID": MID,
        "ORDERID": "att_1", "PAYMENTMODE": "CC", "RESPCODE": code, "RESPMSG": "m", "STATUS": status,
        "TXNAMOUNT": "500.00", "TXNDATE": "2020-07-24 15:13:02.0", "TXNID": "TXN1",
    }  # fmt: skip
    fields.update(kw)
    return fields


def with_checksum(fields: dict[str, str], key: str = KEY) -> dict[str, str]:
    return {**fields, "CHECKSUMHASH": PaytmChecksum.generateSignature(dict(fields), key)}


def connector() -> PaytmConnector:
    return PaytmConnector(CREDS, base_url="https://securestage.paytmpayments.com", client=new_client())


# --- checksum vectors through the connector's code paths ---------------------------------------


def test_reference_dict_vector_verifies_as_a_webhook_and_callback() -> None:
    creds = PaytmCredentials("TESTMID0001", VEC_KEY)
    paytm = PaytmConnector(creds, base_url="https://x.example", client=new_client())
    form = {"MID": "TESTMID0001", "ORDERID": "ORD_1001", "CHECKSUMHASH": VEC_DICT_CHECKSUM}
    assert webhook_verified(paytm, {}, urlencode(form).encode())
    assert paytm.verify_callback(form, AttemptRef("att_x", None, "ORD_1001")) is not None
    tampered = {**form, "ORDERID": "ORD_1002"}
    assert not webhook_verified(paytm, {}, urlencode(tampered).encode())
    assert paytm.verify_callback(tampered, AttemptRef("att_x", None, "ORD_1002")) is None
    assert not webhook_verified(paytm, {}, urlencode({**form, "CHECKSUMHASH": flip(VEC_DICT_CHECKSUM)}).encode())


def test_reference_string_vector_verifies_an_answer_body() -> None:
    raw = ('{"head":{"signature":"' + VEC_STRING_CHECKSUM + '"},"body":' + VEC_STRING + "}").encode()
    body, why = tf.open_body(answer(200, raw), VEC_KEY, StatusAnswer, signed=True)
    assert why == "" and body is not None and body.order_id == "ORD_1001"
    spaced = raw.replace(b'"orderId"', b' "orderId"')  # same JSON, other bytes: must not verify
    assert tf.open_body(answer(200, spaced), VEC_KEY, StatusAnswer, signed=True) == (None, "signature_invalid")


def test_request_signature_covers_the_exact_body_bytes_sent() -> None:
    payload = builders.signed(builders.status_body("att_1", mid=MID), KEY, now=1700000000)
    wire = msgspec.json.encode(payload)
    text = wire.decode()
    body_text = text[text.index('"body":') + len('"body":') : -1]
    assert body_text == '{"mid":"' + MID + '","orderId":"att_1"}'
    signature = json.loads(wire)["head"]["signature"]
    assert len(signature) == 108 and PaytmChecksum.verifySignature(body_text, KEY, signature)
    assert signature != builders.signed(builders.status_body("att_1", mid=MID), KEY, now=1)["head"].signature


# --- request bodies ------------------------------------------------------------------------------


def test_initiate_body_carries_order_amount_and_routing_reference() -> None:
    body = msgspec.json.decode(msgspec.json.encode(builders.initiate_body(charge(), mid=MID, website="WEBSTAGING")))
    assert body == {
        "requestType": "Payment", "mid": MID, "websiteName": "WEBSTAGING", "orderId": "att_1",
        "txnAmount": {"value": "500.00", "currency": "INR"}, "userInfo": {"custId": "pay_eng_1"},
        "callbackUrl": "https://eng.example/cb",
        "extendInfo": {"udf1": "pay_eng_1", "udf2": "att_1", "mercUnqRef": "mer_1"},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        (PaymentMethod(type="card", card=CARD), {"paymentMode": "CREDIT_CARD", "cardInfo": "|4111111111111111|123|032031", "authMode": "otp"}),
        (PaymentMethod(type="upi", vpa="success@upi"), {"paymentMode": "UPI", "payerAccount": "success@upi"}),
        (PaymentMethod(type="netbanking", bank_code="HDFC"), {"paymentMode": "NET_BANKING", "channelCode": "HDFC"}),
        (PaymentMethod(type="wallet", wallet_provider="paytm"), {"paymentMode": "BALANCE", "channelCode": "PAYTM"}),
    ],
)  # fmt: skip
def test_process_bodies(method: PaymentMethod, expected: dict[str, str]) -> None:
    process = builders.process_body(charge(method), mid=MID)
    body = msgspec.json.decode(msgspec.json.encode(process))
    assert body == {"requestType": "NATIVE", "mid": MID, "orderId": "att_1", **expected}
    assert "4111" not in repr(process) and "123" not in repr(process)
    head = builders.with_token(process, "tok_secret", now=1)["head"]
    assert "tok_secret" not in repr(head)


@pytest.mark.parametrize("method", [PaymentMethod(type="upi"), PaymentMethod(type="emi"), PaymentMethod(type="card")])
def test_unsupported_or_incomplete_method(method: PaymentMethod) -> None:
    with pytest.raises(builders.UnsupportedMethod):
        builders.process_body(charge(method), mid=MID)


def test_refund_body_uses_our_refund_id() -> None:
    req = RefundRequest("re_0123456789", REF, 1050, "INR", reason="damaged")
    body = msgspec.json.decode(msgspec.json.encode(builders.refund_body(req, mid=MID, order_id="att_1", txn_id="TXN1")))
    assert body == {"txnType": "REFUND", "mid": MID, "orderId": "att_1", "txnId": "TXN1", "refId": "re_0123456789",
                    "refundAmount": "10.50", "comments": "damaged"}  # fmt: skip


# --- initiate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["0000", "0002"])
def test_initiate_token(code: str) -> None:
    assert tf.map_initiate(signed({"resultInfo": info("S", code), "txnToken": "tok"}), KEY) == "tok"


@pytest.mark.parametrize(
    "result",
    [NOT_SENT, LOST, signed({"resultInfo": info("F", "325", "Duplicate Order Id.")}),
     signed({"resultInfo": info("F", "501")}, status=500), signed({"resultInfo": info("S", "0000"), "txnToken": "t"}, tamper=True),
     signed({"resultInfo": info("S", "0000")})]
    + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_initiate_failures_are_retryable(result: HttpResult) -> None:
    out = tf.map_initiate(result, KEY)
    assert not isinstance(out, str) and out.outcome is Outcome.RETRYABLE


# --- process transaction -------------------------------------------------------------------------


def bank_form(url: str = "https://securegw.paytm.in/bank/1") -> dict[str, object]:
    content = {"mid": MID, "orderId": "att_1", "txnId": "TXN1"}
    form = {"actionUrl": url, "method": "post", "type": "redirect", "content": content}
    return {"resultInfo": info("S", "0000"), "bankForm": {"pageType": "redirect", "redirectForm": form}}


def process(result: HttpResult) -> object:
    return tf.map_process(result, KEY, "att_1", trusted_hosts=frozenset({"127.0.0.1"}))


def test_bank_form_is_requires_action_with_its_fields_in_the_url() -> None:
    res = process(signed(bank_form()))
    assert res.outcome is Outcome.REQUIRES_ACTION  # type: ignore[attr-defined]
    assert res.redirect_url == f"https://securegw.paytm.in/bank/1?mid={MID}&orderId=att_1&txnId=TXN1"  # type: ignore[attr-defined]
    assert process(signed(bank_form(), sign=False)).outcome is Outcome.REQUIRES_ACTION  # type: ignore[attr-defined]
    assert process(signed(bank_form("http://127.0.0.1:8001/paytm/pages/bank/1"))).outcome is Outcome.REQUIRES_ACTION  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://evil.example/x", "", "https://"])
def test_unsafe_bank_form_url_is_unknown(url: str) -> None:
    res = process(signed(bank_form(url)))
    assert res.outcome is Outcome.UNKNOWN and res.redirect_url is None  # type: ignore[attr-defined]


def test_upi_collect_is_processing() -> None:
    res = process(signed({"resultInfo": info("S", "0000"), "transId": "TXN9", "orderId": "att_1"}))
    assert res.outcome is Outcome.PROCESSING and res.gateway_reference == "TXN9"  # type: ignore[attr-defined]


def test_inline_success_must_be_confirmed() -> None:
    res = process(signed({"resultInfo": info("S", "0000"), "txnInfo": txn_fields()}))
    assert res.outcome is Outcome.UNKNOWN and res.raw_status == "confirm" and res.gateway_reference == "TXN1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "decline"),
    [("227", "card_declined"), ("202", "insufficient_funds"), ("207", "expired_card"), ("141", "customer_canceled"),
     ("295", "invalid_vpa"), ("999", "generic_decline")],
)  # fmt: skip
def test_inline_failure_is_declined(code: str, decline: str) -> None:
    body = {"resultInfo": info("F", code), "txnInfo": txn_fields("TXN_FAILURE", code)}
    res = process(signed(body))
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline and res.error_code == code  # type: ignore[attr-defined]
    assert res.gateway_order_id == "att_1" and res.gateway_reference == "TXN1"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("code", "status", "outcome", "decline"),
    [("501", 502, Outcome.RETRYABLE, None), ("1006", 200, Outcome.RETRYABLE, None),
     ("1001", 200, Outcome.DECLINED, "invalid_request"), ("295", 200, Outcome.DECLINED, "invalid_vpa"),
     ("315", 200, Outcome.DECLINED, "invalid_expiry_year")],
)  # fmt: skip
def test_process_refusals(code: str, status: int, outcome: Outcome, decline: str | None) -> None:
    res = process(signed({"resultInfo": info("F", code)}, status=status))
    assert res.outcome is outcome and res.decline_code == decline  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "result",
    [LOST, signed(bank_form(), tamper=True), signed({"resultInfo": info("X", "1")}), signed({"resultInfo": {}}),
     answer(500, b'{"status":500}'), answer(503, b"<html>503</html>")]
    + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_everything_unproven_after_sending_is_unknown(result: HttpResult) -> None:
    res = process(result)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id == "att_1"  # type: ignore[attr-defined]


def test_process_not_sent_is_retryable() -> None:
    assert process(NOT_SENT).outcome is Outcome.RETRYABLE  # type: ignore[attr-defined]


# --- status (v3) -----------------------------------------------------------------------------------


def status_body(status: str, code: str, **kw: object) -> dict[str, object]:
    body: dict[str, object] = {"resultInfo": info(status, code), "txnId": "TXN1", "orderId": "att_1",
                               "txnAmount": "500.00", "txnType": "SALE", "mid": MID}  # fmt: skip
    body.update(kw)
    return body


@pytest.mark.parametrize(
    ("status", "code", "outcome", "decline"),
    [("TXN_SUCCESS", "01", Outcome.CAPTURED, None), ("PENDING", "402", Outcome.PROCESSING, None),
     ("PENDING", "400", Outcome.PROCESSING, None), ("TXN_FAILURE", "400", Outcome.PROCESSING, None),
     ("TXN_FAILURE", "334", Outcome.UNKNOWN, None), ("TXN_FAILURE", "331", Outcome.UNKNOWN, None),
     ("TXN_FAILURE", "501", Outcome.UNKNOWN, None), ("TXN_FAILURE", "335", Outcome.UNKNOWN, None),
     ("MYSTERY", "01", Outcome.UNKNOWN, None)]
    + [("TXN_FAILURE", code, Outcome.DECLINED, decline) for code, decline in codes.DECLINE_CODES.items()],
)  # fmt: skip
def test_status_table(status: str, code: str, outcome: Outcome, decline: str | None) -> None:
    res = tf.map_status(signed(status_body(status, code)), KEY, REF, "att_1")
    assert res.outcome is outcome and res.decline_code == decline
    assert res.amount_captured == (50000 if outcome is Outcome.CAPTURED else 0)


def test_status_without_transaction_is_no_payment() -> None:
    res = tf.map_status(signed({"resultInfo": info("TXN_FAILURE", "334")}), KEY, REF, "att_1")
    assert res.outcome is Outcome.UNKNOWN and res.raw_status == "no_payment"


@pytest.mark.parametrize(
    "result",
    [signed(status_body("TXN_SUCCESS", "01"), sign=False), signed(status_body("TXN_SUCCESS", "01"), tamper=True),
     signed(status_body("TXN_SUCCESS", "01"), key="otherkey00000001"), signed(status_body("TXN_SUCCESS", "01", txnAmount="5.00")),
     signed(status_body("TXN_SUCCESS", "01", txnAmount="500")), signed(status_body("TXN_SUCCESS", "01", orderId="att_2")),
     NOT_SENT, LOST] + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_unproven_status_is_unknown(result: HttpResult) -> None:
    assert tf.map_status(result, KEY, REF, "att_1").outcome is Outcome.UNKNOWN


# --- refunds -------------------------------------------------------------------------------------------


REFUND = RefundRequest("re_1", REF, 1000, "INR")


def refund_body(status: str, code: str, **kw: object) -> dict[str, object]:
    body: dict[str, object] = {"resultInfo": info(status, code), "refId": "re_1", "refundId": "PRF1",
                               "refundAmount": "10.00", "orderId": "att_1", "txnId": "TXN1"}  # fmt: skip
    body.update(kw)
    return body


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [("PENDING", "601", RefundOutcome.PENDING), ("TXN_SUCCESS", "10", RefundOutcome.SUCCEEDED),
     ("TXN_FAILURE", "602", RefundOutcome.FAILED), ("F", "617", RefundOutcome.FAILED), ("F", "620", RefundOutcome.FAILED),
     ("NEW_STATE", "1", RefundOutcome.UNKNOWN)],
)  # fmt: skip
def test_refund_answers(status: str, code: str, outcome: RefundOutcome) -> None:
    res = tf.map_refund(signed(refund_body(status, code)), KEY, REFUND)
    assert res.outcome is outcome
    if outcome is RefundOutcome.FAILED:
        assert res.error_code == code
    elif outcome is not RefundOutcome.UNKNOWN:
        assert res.gateway_refund_id == "PRF1"


@pytest.mark.parametrize(
    "result",
    [LOST, signed(refund_body("TXN_SUCCESS", "10"), sign=False), signed(refund_body("TXN_SUCCESS", "10"), tamper=True),
     signed(refund_body("TXN_SUCCESS", "10", refId="re_2")), signed(refund_body("TXN_SUCCESS", "10", refundAmount="9.00"))]
    + [answer(200, g) for g in GARBAGE],
)  # fmt: skip
def test_unproven_refund_is_unknown(result: HttpResult) -> None:
    assert tf.map_refund(result, KEY, REFUND).outcome is RefundOutcome.UNKNOWN


def test_refund_not_sent_failed() -> None:
    res = tf.map_refund(NOT_SENT, KEY, REFUND)
    assert res.outcome is RefundOutcome.FAILED and res.error_code == "gateway_unavailable"


# --- callbacks and webhooks ----------------------------------------------------------------------------


def test_callback_verifies_and_maps() -> None:
    paytm = connector()
    ok = paytm.verify_callback(with_checksum(txn_fields()), REF)
    assert ok is not None and ok.outcome is Outcome.CAPTURED and ok.amount_captured == 50000
    declined = paytm.verify_callback(with_checksum(txn_fields("TXN_FAILURE", "227")), REF)
    assert declined is not None and declined.outcome is Outcome.DECLINED and declined.decline_code == "card_declined"


@pytest.mark.parametrize(
    "params",
    [{**with_checksum(txn_fields()), "TXNAMOUNT": "5.00"},  # tampered after signing
     {**with_checksum(txn_fields()), "CHECKSUMHASH": ""}, txn_fields(),
     with_checksum(txn_fields(), key="otherkey00000001"),
     with_checksum(txn_fields(ORDERID="att_2")),  # signed, but another order
     with_checksum(txn_fields(MID="OTHERMID"))],
)  # fmt: skip
def test_bad_callbacks_are_rejected(params: dict[str, str]) -> None:
    assert connector().verify_callback(params, REF) is None


def test_signed_callback_for_another_amount_is_unknown() -> None:
    res = connector().verify_callback(with_checksum(txn_fields(TXNAMOUNT="400.00")), REF)
    assert res is not None and res.outcome is Outcome.UNKNOWN and res.error_code == "amount_mismatch"


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_payment_webhook(encoding: str) -> None:
    fields = with_checksum(txn_fields())
    body = urlencode(fields).encode() if encoding == "form" else json.dumps(fields).encode()
    paytm = connector()
    assert webhook_verified(paytm, {}, body)
    event = paytm.parse_webhook({}, body)
    assert (
        event.attempt_id == "att_1" and event.gateway_reference == "TXN1" and event.event_type == "payment.txn_success"
    )
    assert event.charge is not None and event.charge.outcome is Outcome.CAPTURED
    again = paytm.parse_webhook({}, body)
    assert again.event_id == event.event_id  # a redelivery dedupes
    tampered = urlencode({**fields, "STATUS": "TXN_FAILURE"}).encode()
    assert not webhook_verified(paytm, {}, tampered)


@pytest.mark.parametrize(
    ("status", "outcome"), [("SUCCESS", RefundOutcome.SUCCEEDED), ("FAILED", RefundOutcome.FAILED)]
)
def test_refund_webhook(status: str, outcome: RefundOutcome) -> None:
    body = {
        "orderId": "att_1",
        "refundId": "PRF1",
        "refId": "re_1",
        "txnId": "TXN1",
        "refundAmount": "10.00",
        "status": status,
    }
    if status == "FAILED":
        body.update(rejectRefundReasonCode="602", rejectRefundReasonMessage="Refund failed at bank.")
    raw = signed(body).body
    paytm = connector()
    assert webhook_verified(paytm, {}, raw)
    event = paytm.parse_webhook({}, raw)
    assert event.refund is not None and event.refund.outcome is outcome and event.refund_reference == "re_1"
    assert event.charge is None and event.refund.gateway_refund_id == "PRF1"
    assert not webhook_verified(paytm, {}, signed(body, tamper=True).body)


@pytest.mark.parametrize(
    "body", [b"", b"garbage", b"{}", b"[1]", b"MID=x&ORDERID=y", b'{"head":{},"body":{}}', b"%ff=\xff"]
)
def test_garbage_webhooks(body: bytes) -> None:
    paytm = connector()
    assert not webhook_verified(paytm, {}, body)
    with pytest.raises(ValueError):
        paytm.parse_webhook({}, body)


def test_signed_but_unrecognised_webhook_raises() -> None:
    with pytest.raises(ValueError):
        events.parse_webhook_body(events.Signed("x", fields={"MID": MID}))


# --- registry and secrets ---------------------------------------------------------------------------------


def test_registry_builds_paytm_and_hides_the_key() -> None:
    creds = {"mid": MID, "merchant_key": KEY, "website": "WEBSTAGING", "base_url": "ignored"}
    built = build_connector("paytm", creds, base_url="https://x.example", client=new_client())
    assert isinstance(built, PaytmConnector) and built.name == "paytm"
    assert KEY not in repr(built) and KEY not in repr(CREDS)
    with pytest.raises(ValueError, match="merchant_key") as exc:
        build_connector("paytm", {"mid": MID}, base_url="https://x", client=new_client())
    assert MID not in str(exc.value)
    with pytest.raises(ValueError, match="merchant_key") as short:
        build_connector("paytm", {"mid": MID, "merchant_key": "tooshort"}, base_url="https://x", client=new_client())
    assert "tooshort" not in str(short.value)
    caps = capabilities("paytm")
    assert caps.currencies == {"INR"} and caps.methods == {"card", "upi", "netbanking", "wallet"}
    assert not caps.manual_capture and not caps.partial_capture and caps.partial_refund and not caps.customers
    assert default_base_url("paytm") == "https://secure.paytmpayments.com"


async def test_guards_before_any_io() -> None:
    paytm = PaytmConnector(CREDS, base_url="http://127.0.0.1:9", client=new_client())
    usd = await paytm.authorize(charge(currency="USD"))
    assert usd.outcome is Outcome.RETRYABLE and usd.error_code == "currency_unsupported"
    manual = await paytm.authorize(charge(capture=False))
    assert manual.outcome is Outcome.RETRYABLE and manual.error_code == "manual_capture_unsupported"
    bad = await paytm.authorize(charge(PaymentMethod(type="emi")))
    assert bad.outcome is Outcome.DECLINED and bad.decline_code == "invalid_request"
    assert (await paytm.void(REF)).outcome is Outcome.DECLINED
