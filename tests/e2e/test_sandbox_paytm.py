"""E2E: the Paytm sandbox over real HTTP; every signature is checked with Paytm's own ``paytmchecksum``.

Requests are signed with ``PaytmChecksum.generateSignature`` over the exact body text sent (the body
is deliberately placed *before* the head, so the sandbox must sign-check the raw text, not a
re-serialisation); responses, callbacks and webhooks are verified with ``verifySignatureByString``
(JSON bodies) and ``verifySignature`` (dict-mode ``CHECKSUMHASH``).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import pytest_asyncio
from paytmchecksum import PaytmChecksum

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from sandbox.paytm import checksum as sandbox_checksum
from tests.e2e.conftest import ReceivedWebhook, WebhookReceiver
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.e2e

MID, KEY = "SANDBOXMID0000000001", "sandboxmerchkey1"
CALLBACK = "https://merchant.example/paytm/callback"


@dataclass
class Sandbox:
    base: str
    http: httpx.AsyncClient
    receiver: WebhookReceiver


@dataclass
class Answer:
    status: int
    head: dict[str, Any]
    body: dict[str, Any]

    @property
    def result(self) -> tuple[str, str]:
        info = self.body["resultInfo"]
        return info["resultStatus"], info["resultCode"]


@pytest_asyncio.fixture(scope="module")
async def sandbox(webhook_receiver: WebhookReceiver) -> Any:
    port = free_port()
    settings = SandboxSettings(
        public_url=f"http://127.0.0.1:{port}",
        webhook_url=webhook_receiver.base_url + "/v1/webhooks/{gateway}/{merchant_id}",
        upi_delay_s=0.2,
        hang_s=1.0,
        webhook_retry_delays_s=(0.05, 0.1),
    )
    async with serve_asgi(create_app(settings), port=port) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Sandbox(base, http, webhook_receiver)


@pytest_asyncio.fixture(autouse=True)
async def _reset(sandbox: Sandbox) -> Any:
    yield
    await sandbox.http.delete("/_sandbox/faults")
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "normal"})


@pytest.fixture
def merchant() -> str:
    return f"m_{uuid.uuid4().hex[:12]}"


def verified(response: httpx.Response) -> Answer:
    """Parse a signed envelope and check ``head.signature`` over the exact body text with Paytm's code."""
    text = response.text
    assert text.startswith('{"head":'), text
    body_text = text[text.index(',"body":') + len(',"body":') : -1]
    envelope = json.loads(text)
    assert json.loads(body_text) == envelope["body"]
    assert PaytmChecksum.verifySignatureByString(body_text, KEY, envelope["head"]["signature"])
    return Answer(response.status_code, envelope["head"], envelope["body"])


async def post(sandbox: Sandbox, path: str, body: dict[str, Any], head: dict[str, Any] | None = None,
               query: dict[str, str] | None = None, key: str = KEY, sign: bool = True) -> Answer:  # fmt: skip
    text = json.dumps(body, separators=(",", ":"))
    head = dict(head or {})
    if sign:
        head["signature"] = PaytmChecksum.generateSignature(text, key)
    raw = '{"body": ' + text + ', "head": ' + json.dumps(head) + "}"
    response = await sandbox.http.post(
        f"/paytm{path}", params=query, content=raw, headers={"Content-Type": "application/json"}
    )
    return verified(response)


def order_body(order_id: str, merchant: str, amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {
        "requestType": "Payment",
        "mid": MID,
        "websiteName": "WEBSTAGING",
        "orderId": order_id,
        "txnAmount": {"value": amount, "currency": "INR"},
        "userInfo": {"custId": "CUST_001"},
        "callbackUrl": CALLBACK,
        "extendInfo": {"mercUnqRef": merchant, "udf1": "pay_1"},
        **extra,
    }


async def initiate(sandbox: Sandbox, merchant: str, amount: str = "100.00") -> tuple[str, str]:
    order_id = f"ORD_{uuid.uuid4().hex[:16]}"
    answer = await post(sandbox, "/theia/api/v1/initiateTransaction", order_body(order_id, merchant, amount),
                        query={"mid": MID, "orderId": order_id})  # fmt: skip
    assert answer.result == ("S", "0000")
    return order_id, answer.body["txnToken"]


async def process(sandbox: Sandbox, order_id: str, token: str, mode: str, **details: Any) -> Answer:
    body = {"requestType": "NATIVE", "mid": MID, "orderId": order_id, "paymentMode": mode, **details}
    return await post(sandbox, "/theia/api/v1/processTransaction", body, head={"txnToken": token}, sign=False,
                      query={"mid": MID, "orderId": order_id})  # fmt: skip


def card(number: str) -> dict[str, str]:
    return {"cardInfo": f"|{number}|123|122031", "authMode": "otp"}


async def status(sandbox: Sandbox, order_id: str) -> Answer:
    return await post(sandbox, "/v3/order/status", {"mid": MID, "orderId": order_id})


def check_fields(fields: dict[str, str]) -> dict[str, str]:
    """Verify a dict-mode CHECKSUMHASH with Paytm's code (on a copy: the library deletes the key)."""
    assert PaytmChecksum.verifySignature(dict(fields), KEY, fields["CHECKSUMHASH"])
    return fields


async def payment_hooks(sandbox: Sandbox, merchant: str, count: int) -> list[dict[str, str]]:
    hooks = await sandbox.receiver.wait_for(merchant, count)
    assert len(hooks) == count
    out = []
    for hook in hooks:
        assert hook.headers["content-type"] == "application/x-www-form-urlencoded"
        out.append(check_fields(dict(parse_qsl(hook.body.decode(), keep_blank_values=True))))
    return out


# ---- checksum interop --------------------------------------------------------------------------


def test_sandbox_checksum_matches_paytm_library_and_vectors() -> None:
    vector_key = "abcdefghijklmnop"
    expected = (
        "svZ/zwB6WVVB7XHNgdOG6mqQePIYeEdsMMNw/vuneTzQdZrWE1XeVhEnfDSNwq6o9pf2K/2qLBFeFGqepCWEKeH5/ftmezUpl+7evnoPNrA="
    )
    params = {"MID": "TESTMID0001", "ORDERID": "ORD_1001"}
    assert sandbox_checksum.generate(params, vector_key, salt="AbC1") == expected
    assert sandbox_checksum.verify(params, vector_key, PaytmChecksum.generateSignature(dict(params), vector_key))
    assert PaytmChecksum.verifySignature(dict(params), vector_key, sandbox_checksum.generate(params, vector_key))
    text = '{"mid":"TESTMID0001","orderId":"ORD_1001"}'
    assert PaytmChecksum.verifySignatureByString(text, vector_key, sandbox_checksum.generate(text, vector_key))
    assert not sandbox_checksum.verify(text + " ", vector_key, sandbox_checksum.generate(text, vector_key))
    assert not sandbox_checksum.verify(text, vector_key, "not-base64!")


# ---- initiate -----------------------------------------------------------------------------------


async def test_healthz_lists_paytm(sandbox: Sandbox) -> None:
    assert "paytm" in (await sandbox.http.get("/healthz")).json()["gateways"]


async def test_initiate_idempotent_and_duplicate(sandbox: Sandbox, merchant: str) -> None:
    order_id = f"ORD_{uuid.uuid4().hex[:12]}"
    body = order_body(order_id, merchant)
    first = await post(sandbox, "/theia/api/v1/initiateTransaction", body, query={"mid": MID, "orderId": order_id})
    assert first.result == ("S", "0000") and first.body["txnToken"] and first.head["version"] == "v1"
    assert first.body["isPromoCodeValid"] is False and first.head["responseTimestamp"].isdigit()
    again = await post(sandbox, "/order/initiate", body, query={"mid": MID, "orderId": order_id})
    assert again.result == ("S", "0002") and again.body["txnToken"] == first.body["txnToken"]
    other = await post(sandbox, "/order/initiate", order_body(order_id, merchant, "5.00"), query={"orderId": order_id})
    assert other.result == ("F", "325") and "txnToken" not in other.body


@pytest.mark.parametrize(
    ("change", "query", "key", "code"),
    [
        ({}, {}, "wrongmerchantkey", "2005"),
        ({"mid": "UNKNOWNMID0000000001"}, {}, KEY, "2006"),
        ({}, {"mid": "SANDBOXMID0000000002"}, KEY, "2013"),
        ({}, {"orderId": "SOMETHING_ELSE"}, KEY, "2014"),
        ({"txnAmount": {"value": "10.001", "currency": "INR"}}, {}, KEY, "1007"),
        ({"txnAmount": {"value": "-1", "currency": "INR"}}, {}, KEY, "1007"),
        ({"userInfo": {}}, {}, KEY, "1001"),
    ],
)
async def test_initiate_failures(sandbox: Sandbox, merchant: str, change: dict[str, Any], query: dict[str, str],
                                 key: str, code: str) -> None:  # fmt: skip
    order_id = f"ORD_{uuid.uuid4().hex[:12]}"
    body = {**order_body(order_id, merchant), **change}
    answer = await post(
        sandbox, "/theia/api/v1/initiateTransaction", body, query={"orderId": order_id, **query}, key=key
    )
    assert answer.status == 200 and answer.result == ("F", code)


async def test_tampered_body_and_garbage_rejected(sandbox: Sandbox, merchant: str) -> None:
    order_id = f"ORD_{uuid.uuid4().hex[:12]}"
    text = json.dumps(order_body(order_id, merchant), separators=(",", ":"))
    signature = PaytmChecksum.generateSignature(text, KEY)
    tampered = text.replace('"100.00"', '"1.00"')
    raw = '{"head":{"signature":"' + signature + '"},"body":' + tampered + "}"
    response = await sandbox.http.post("/paytm/theia/api/v1/initiateTransaction", content=raw)
    assert verified(response).result == ("F", "2005")
    spaced = '{"head":{"signature":"' + signature + '"},"body":' + text.replace(",", ", ") + "}"
    response = await sandbox.http.post("/paytm/theia/api/v1/initiateTransaction", content=spaced)
    assert verified(response).result == ("F", "2005")
    for garbage in (b"", b"[1]", b"<xml/>", b'{"head":{}}'):
        response = await sandbox.http.post("/paytm/v3/order/status", content=garbage)
        assert verified(response).result[0] == "F"
    response = await sandbox.http.post("/paytm/no/such/api", content=b"{}")
    assert response.status_code == 404 and response.json()["error"] == "Not Found"


# ---- process: cards ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4111111111111111", "4242424242424242", "5555555555554444", "6521111111111110"])
async def test_success_cards(sandbox: Sandbox, merchant: str, number: str) -> None:
    order_id, token = await initiate(sandbox, merchant, "250.50")
    answer = await process(sandbox, order_id, token, "CREDIT_CARD", **card(number))
    assert answer.result == ("S", "0000") and answer.body["callBackUrl"] == CALLBACK
    info = check_fields(answer.body["txnInfo"])
    assert (info["STATUS"], info["RESPCODE"], info["TXNAMOUNT"], info["PAYMENTMODE"]) == (
        "TXN_SUCCESS",
        "01",
        "250.50",
        "CC",
    )
    assert (info["ORDERID"], info["MID"], info["MERC_UNQ_REF"], info["CURRENCY"]) == (order_id, MID, merchant, "INR")
    assert number not in json.dumps(answer.body)
    sync = await status(sandbox, order_id)
    assert sync.result == ("TXN_SUCCESS", "01")
    assert (sync.body["txnId"], sync.body["txnAmount"], sync.body["merchantUniqueReference"]) == (
        info["TXNID"],
        "250.50",
        merchant,
    )
    assert sync.body["maskedCardNo"].endswith(number[-4:]) and sync.body["paymentMode"] == "CC"
    [hook] = await payment_hooks(sandbox, merchant, 1)
    assert (hook["STATUS"], hook["TXNID"]) == ("TXN_SUCCESS", info["TXNID"])
    repeat = await process(sandbox, order_id, token, "CREDIT_CARD", **card(number))
    assert repeat.result == ("F", "325")


@pytest.mark.parametrize(
    ("number", "code"), [("4000000000000002", "227"), ("4000000000009995", "202"), ("4000000000000069", "207")]
)
async def test_declined_cards_then_retry(sandbox: Sandbox, merchant: str, number: str, code: str) -> None:
    order_id, token = await initiate(sandbox, merchant)
    answer = await process(sandbox, order_id, token, "DEBIT_CARD", **card(number))
    assert answer.result == ("F", code)
    info = check_fields(answer.body["txnInfo"])
    assert (info["STATUS"], info["RESPCODE"], info["PAYMENTMODE"]) == ("TXN_FAILURE", code, "DC") and info["RESPMSG"]
    assert (await status(sandbox, order_id)).result == ("TXN_FAILURE", code)
    retry = await process(sandbox, order_id, token, "DEBIT_CARD", **card("4111111111111111"))
    assert retry.body["txnInfo"]["STATUS"] == "TXN_SUCCESS" and retry.body["txnInfo"]["TXNID"] != info["TXNID"]
    hooks = await payment_hooks(sandbox, merchant, 2)
    assert [h["STATUS"] for h in hooks] == ["TXN_FAILURE", "TXN_SUCCESS"]


async def test_gateway_error_card_charges_nothing(sandbox: Sandbox, merchant: str) -> None:
    order_id, token = await initiate(sandbox, merchant)
    answer = await process(sandbox, order_id, token, "CREDIT_CARD", **card("4000000000000119"))
    assert answer.status == 502 and answer.result == ("F", "501")
    assert (await status(sandbox, order_id)).result == ("TXN_FAILURE", "334")
    assert sandbox.receiver.for_path_suffix(merchant) == []


async def test_charge_then_drop_card(sandbox: Sandbox, merchant: str) -> None:
    order_id, token = await initiate(sandbox, merchant)
    with pytest.raises(httpx.HTTPError):
        await process(sandbox, order_id, token, "CREDIT_CARD", **card("4000000000000259"))
    assert (await status(sandbox, order_id)).result == ("TXN_SUCCESS", "01")
    assert (await sandbox.receiver.wait_for(merchant, 1, within=0.4)) == []


@pytest.mark.parametrize(
    ("details", "code"),
    [
        ({"paymentMode": "CREDIT_CARD", "cardInfo": "|4111111111111112|123|122031"}, "1001"),
        ({"paymentMode": "CREDIT_CARD", "cardInfo": "|4111111111111111|123|012020"}, "1001"),
        ({"paymentMode": "CREDIT_CARD", "cardInfo": "4111111111111111"}, "1001"),
        ({"paymentMode": "UPI", "payerAccount": "not a vpa"}, "295"),
        ({"paymentMode": "NET_BANKING"}, "1001"),
        ({"paymentMode": "CRYPTO"}, "1001"),
    ],
)
async def test_process_input_errors(sandbox: Sandbox, merchant: str, details: dict[str, str], code: str) -> None:
    order_id, token = await initiate(sandbox, merchant)
    mode = details.pop("paymentMode")
    assert (await process(sandbox, order_id, token, mode, **details)).result == ("F", code)
    assert (await process(sandbox, order_id, "wrong-token", "UPI", payerAccount="a@upi")).result == ("F", "1006")


# ---- redirects: OTP, netbanking, wallet --------------------------------------------------------


async def test_otp_card_approve_via_get(sandbox: Sandbox, merchant: str) -> None:
    order_id, token = await initiate(sandbox, merchant, "1234.56")
    answer = await process(sandbox, order_id, token, "CREDIT_CARD", **card("4000000000003220"))
    assert answer.result == ("S", "0000")
    form = answer.body["bankForm"]["redirectForm"]
    assert (form["method"], form["content"]["orderId"]) == ("post", order_id)
    assert (await status(sandbox, order_id)).result == ("PENDING", "402")
    page = await sandbox.http.get(form["actionUrl"])
    assert page.status_code == 200 and "1234.56" in page.text and "approve" in page.text
    redirect = await sandbox.http.get(form["actionUrl"], params={"decision": "approve"})
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    fields = check_fields(dict(parse_qsl(location.query, keep_blank_values=True)))
    assert (fields["STATUS"], fields["RESPCODE"], fields["ORDERID"]) == ("TXN_SUCCESS", "01", order_id)
    assert (await status(sandbox, order_id)).result == ("TXN_SUCCESS", "01")
    [hook] = await payment_hooks(sandbox, merchant, 1)
    assert hook["STATUS"] == "TXN_SUCCESS"
    again = await sandbox.http.get(form["actionUrl"], params={"decision": "reject"})
    assert "TXN_SUCCESS" in again.headers["location"]


async def test_otp_card_reject_via_form_post(sandbox: Sandbox, merchant: str) -> None:
    order_id, token = await initiate(sandbox, merchant)
    answer = await process(sandbox, order_id, token, "CREDIT_CARD", **card("4000000000003220"))
    page = await sandbox.http.post(answer.body["bankForm"]["redirectForm"]["actionUrl"], data={"decision": "reject"})
    assert f"action='{CALLBACK}'" in page.text
    fields = check_fields(
        {k: v.replace("&#x27;", "'") for k, v in re.findall(r"name='([^']+)' value='([^']*)'", page.text)}
    )
    assert (fields["STATUS"], fields["RESPCODE"]) == ("TXN_FAILURE", "141")
    assert (await status(sandbox, order_id)).result == ("TXN_FAILURE", "141")
    [hook] = await payment_hooks(sandbox, merchant, 1)
    assert hook["RESPCODE"] == "141"


@pytest.mark.parametrize(
    ("mode", "extra", "paymode"), [("NET_BANKING", {"channelCode": "HDFC"}, "NB"), ("BALANCE", {}, "PPI")]
)
async def test_netbanking_and_wallet(
    sandbox: Sandbox, merchant: str, mode: str, extra: dict[str, str], paymode: str
) -> None:
    order_id, token = await initiate(sandbox, merchant)
    answer = await process(sandbox, order_id, token, mode, **extra)
    url = answer.body["bankForm"]["redirectForm"]["actionUrl"]
    redirect = await sandbox.http.get(url, params={"decision": "approve"})
    fields = check_fields(dict(parse_qsl(urlsplit(redirect.headers["location"]).query, keep_blank_values=True)))
    assert (fields["STATUS"], fields["PAYMENTMODE"]) == ("TXN_SUCCESS", paymode)
    [hook] = await payment_hooks(sandbox, merchant, 1)
    assert hook["PAYMENTMODE"] == paymode


@pytest.mark.parametrize(
    ("vpa", "final"), [("success@upi", ("TXN_SUCCESS", "01")), ("failure@upi", ("TXN_FAILURE", "227"))]
)
async def test_upi_collect(sandbox: Sandbox, merchant: str, vpa: str, final: tuple[str, str]) -> None:
    order_id, token = await initiate(sandbox, merchant)
    answer = await process(sandbox, order_id, token, "UPI", payerAccount=vpa)
    assert answer.result == ("S", "0000") and answer.body["orderId"] == order_id and answer.body["transId"]
    assert (await status(sandbox, order_id)).result == ("PENDING", "400")
    [hook] = await payment_hooks(sandbox, merchant, 1)
    assert (hook["STATUS"], hook["RESPCODE"], hook["PAYMENTMODE"]) == (*final, "UPI")
    sync = await status(sandbox, order_id)
    assert sync.result == final and sync.body["vpa"] == vpa


# ---- refunds -------------------------------------------------------------------------------------


async def paid(sandbox: Sandbox, merchant: str, amount: str = "100.00") -> tuple[str, str]:
    order_id, token = await initiate(sandbox, merchant, amount)
    answer = await process(sandbox, order_id, token, "CREDIT_CARD", **card("4111111111111111"))
    return order_id, answer.body["txnInfo"]["TXNID"]


def refund_body(order_id: str, txn_id: str, ref_id: str, amount: str) -> dict[str, Any]:
    return {
        "mid": MID,
        "txnType": "REFUND",
        "orderId": order_id,
        "txnId": txn_id,
        "refId": ref_id,
        "refundAmount": amount,
    }


def refund_hook(hook: ReceivedWebhook) -> dict[str, Any]:
    text = hook.body.decode()
    body_text = text[text.index(',"body":') + len(',"body":') : -1]
    envelope = json.loads(text)
    assert PaytmChecksum.verifySignatureByString(body_text, KEY, envelope["head"]["signature"])
    return envelope["body"]


async def test_refund_async_then_success(sandbox: Sandbox, merchant: str) -> None:
    order_id, txn_id = await paid(sandbox, merchant)
    ref = f"RF_{uuid.uuid4().hex[:10]}"
    answer = await post(sandbox, "/refund/apply", refund_body(order_id, txn_id, ref, "40.00"))
    assert answer.result == ("PENDING", "601") and answer.body["refundId"] and answer.body["refundAmount"] == "40.00"
    assert (await post(sandbox, "/refund/apply", refund_body(order_id, txn_id, ref, "40.00"))).result == ("F", "617")
    too_much = refund_body(order_id, txn_id, ref + "b", "60.01")
    assert (await post(sandbox, "/refund/apply", too_much)).result == ("F", "620")
    assert (await post(sandbox, "/refund/apply", refund_body(order_id, txn_id, ref + "c", "abc"))).result == (
        "F",
        "619",
    )
    assert (await post(sandbox, "/refund/apply", refund_body(order_id, "999", ref + "d", "1.00"))).result == (
        "F",
        "631",
    )
    pending = await post(sandbox, "/v2/refund/status", {"mid": MID, "orderId": order_id, "refId": ref})
    assert pending.result == ("PENDING", "601")
    hooks = await sandbox.receiver.wait_for(merchant, 2)
    event = refund_hook(hooks[1])
    assert (event["status"], event["refId"], event["refundAmount"], event["orderId"]) == (
        "SUCCESS",
        ref,
        "40.00",
        order_id,
    )
    done = await post(sandbox, "/v2/refund/status", {"mid": MID, "orderId": order_id, "refId": ref})
    assert done.result == ("TXN_SUCCESS", "10") and done.body["userCreditInitiateStatus"] == "SUCCESS"
    assert (await status(sandbox, order_id)).body["refundAmt"] == "40.00"
    unknown = await post(sandbox, "/v2/refund/status", {"mid": MID, "orderId": order_id, "refId": "nope"})
    assert unknown.result == ("F", "631")


async def test_refund_fail_fault_and_unpaid_order(sandbox: Sandbox, merchant: str) -> None:
    order_id, txn_id = await paid(sandbox, merchant)
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "paytm", "fault": "refund_fail", "count": 1})
    ref = f"RF_{uuid.uuid4().hex[:10]}"
    assert (await post(sandbox, "/refund/apply", refund_body(order_id, txn_id, ref, "100.00"))).result[0] == "PENDING"
    hooks = await sandbox.receiver.wait_for(merchant, 2)
    event = refund_hook(hooks[1])
    assert event["status"] == "FAILED" and event["rejectRefundReasonCode"]
    failed = await post(sandbox, "/v2/refund/status", {"mid": MID, "orderId": order_id, "refId": ref})
    assert failed.result[0] == "TXN_FAILURE"
    again = await post(sandbox, "/refund/apply", refund_body(order_id, txn_id, ref + "x", "100.00"))
    assert again.result == ("PENDING", "601")
    unpaid, token = await initiate(sandbox, merchant)
    declined = await process(sandbox, unpaid, token, "CREDIT_CARD", **card("4000000000000002"))
    body = refund_body(unpaid, declined.body["txnInfo"]["TXNID"], ref + "y", "1.00")
    assert (await post(sandbox, "/refund/apply", body)).result == ("F", "600")


# ---- faults and webhook modes --------------------------------------------------------------------


async def test_transport_faults(sandbox: Sandbox, merchant: str) -> None:
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "paytm", "fault": "http_500", "count": 1})
    response = await sandbox.http.post("/paytm/v3/order/status", content=b"{}")
    assert response.status_code == 500 and verified(response).result == ("F", "501")
    await sandbox.http.post(
        "/_sandbox/faults", json={"gateway": "paytm", "fault": "garbled", "path_contains": "initiate", "count": 1}
    )
    order_id = f"ORD_{uuid.uuid4().hex[:12]}"
    with pytest.raises(ValueError):
        await post(
            sandbox, "/theia/api/v1/initiateTransaction", order_body(order_id, merchant), query={"orderId": order_id}
        )
    again = await post(
        sandbox, "/theia/api/v1/initiateTransaction", order_body(order_id, merchant), query={"orderId": order_id}
    )
    assert again.result == ("S", "0002")


async def test_webhook_tamper_and_duplicate(sandbox: Sandbox, merchant: str) -> None:
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "tamper"})
    await paid(sandbox, merchant)
    [hook] = await sandbox.receiver.wait_for(merchant, 1)
    fields = dict(parse_qsl(hook.body.decode(), keep_blank_values=True))
    assert not PaytmChecksum.verifySignature(dict(fields), KEY, fields["CHECKSUMHASH"])
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "duplicate"})
    other = merchant + "d"
    await paid(sandbox, other)
    hooks = await payment_hooks(sandbox, other, 2)
    assert hooks[0] == hooks[1]


# ---- Paytm's official PG SDK against the sandbox ---------------------------------------------------


async def test_official_paytm_pg_sdk_accepts_the_sandbox(sandbox: Sandbox, merchant: str) -> None:
    """``paytm-pg`` signs requests its own way and verifies every S / TXN_SUCCESS / PENDING response."""
    import asyncio

    paytmpg = pytest.importorskip("paytmpg")
    prop = paytmpg.MerchantProperty
    prop.initialize(paytmpg.LibraryConstants.STAGING_ENVIRONMENT, MID, KEY, "C11", "WEBSTAGING")
    prop.initiate_txn_url = f"{sandbox.base}/paytm/order/initiate"
    prop.payment_status_url = f"{sandbox.base}/paytm/v3/order/status"
    prop.refund_url = f"{sandbox.base}/paytm/refund/apply"
    prop.refund_status_url = f"{sandbox.base}/paytm/v2/refund/status"
    order_id = f"ORD{uuid.uuid4().hex[:12]}"
    user = paytmpg.UserInfo()
    user.set_cust_id("CUST_001")
    money = paytmpg.Money(paytmpg.EnumCurrency.INR, "10.00")
    details = paytmpg.PaymentDetailsBuilder(paytmpg.EChannelId.WEB, order_id, money, user).build()
    created = await asyncio.to_thread(paytmpg.Payment.createTxnToken, details)
    body = created.get_response_object().get_body()
    assert body.get_result_info().get_result_status() == "S"
    answer = await process(sandbox, order_id, body.get_txn_token(), "CREDIT_CARD", **card("4111111111111111"))
    txn_id = answer.body["txnInfo"]["TXNID"]
    synced = await asyncio.to_thread(
        paytmpg.Payment.getPaymentStatus, paytmpg.PaymentStatusDetailBuilder(order_id).build()
    )
    assert synced.get_response_object().get_body().get_result_info().get_result_status() == "TXN_SUCCESS"
    assert synced.get_response_object().get_body().get_txn_id() == txn_id
    refund = paytmpg.RefundDetailBuilder(order_id, f"REF{order_id}", txn_id, "REFUND", "5.00").build()
    refunded = await asyncio.to_thread(paytmpg.Refund.doRefund, refund)
    assert refunded.get_response_object().get_body().get_result_info().get_result_status() == "PENDING"
    status_detail = paytmpg.RefundStatusDetailBuilder().set_order_id(order_id).set_ref_id(f"REF{order_id}").build()
    refund_status = await asyncio.to_thread(paytmpg.Refund.getRefundStatus, status_detail)
    assert refund_status.get_response_object().get_body().get_result_info().get_result_status() in (
        "PENDING",
        "TXN_SUCCESS",
    )
