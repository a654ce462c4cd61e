"""E2E: the Juspay sandbox over real HTTP (Basic auth, form and JSON bodies, webhooks, return URL).

The return-URL signature is checked with an independent implementation of gateways.md §4.7 (and its
published vector); webhook authenticity is the Basic ``Authorization`` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
import pytest_asyncio

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.e2e.conftest import ReceivedWebhook, WebhookReceiver
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.e2e

API_KEY, RESPONSE_KEY = "sandbox_api_key", "sandbox_response_key"
WEBHOOK_AUTH = "Basic " + base64.b64encode(b"sandbox:sandbox_webhook_password").decode()
RETURN_URL = "https://merchant.example/juspay/return?cart=7"


def signature(params: dict[str, str], key: str = RESPONSE_KEY) -> str:
    pairs = sorted(
        (quote(k, safe=""), quote(v, safe=""))
        for k, v in params.items()
        if k not in ("signature", "signature_algorithm")
    )
    message = quote("&".join(f"{k}={v}" for k, v in pairs), safe="")
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_return_url_vector() -> None:
    params = {"order_id": "ord_1", "status": "CHARGED", "status_id": "21"}
    assert signature(params, "resp_key_123") == "yxeqe+ZCkFmTRnRrO25UcFF+kz1N0xBGsqqPyyM92eo="


@dataclass
class Sandbox:
    base: str
    http: httpx.AsyncClient
    receiver: WebhookReceiver

    async def api(self, method: str, path: str, key: str | None = API_KEY, **kwargs: Any) -> httpx.Response:
        auth = (key, "") if key is not None else None
        return await self.http.request(
            method, f"/juspay{path}", auth=auth, headers={"x-merchantid": "sandbox"}, **kwargs
        )


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


async def new_order(sandbox: Sandbox, merchant: str, amount: str = "100.00", **extra: str) -> str:
    order_id = f"o{uuid.uuid4().hex[:20]}"
    data = {"order_id": order_id, "amount": amount, "currency": "INR", "customer_id": "cst_x",
            "customer_email": "a@example.com", "customer_phone": "9999999999", "return_url": RETURN_URL,
            "udf1": merchant, "metadata.source": "tests", **extra}  # fmt: skip
    response = await sandbox.api("POST", "/orders", data=data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["status_id"], body["order_id"]) == ("CREATED", 1, order_id)
    assert set(body["payment_links"]) == {"web", "mobile", "iframe"} and body["id"].startswith("ordeh_")
    return order_id


def card(number: str) -> dict[str, str]:
    return {"payment_method_type": "CARD", "card_number": number, "card_exp_month": "12", "card_exp_year": "2031",
            "card_security_code": "123", "name_on_card": "Asha", "redirect_after_payment": "true", "format": "json"}  # fmt: skip


async def txn(sandbox: Sandbox, order_id: str, **details: str) -> httpx.Response:
    return await sandbox.api("POST", "/txns", data={"order_id": order_id, "merchant_id": "sandbox", **details})


async def status(sandbox: Sandbox, order_id: str) -> dict[str, Any]:
    response = await sandbox.api("GET", f"/orders/{order_id}")
    assert response.status_code == 200
    return response.json()


async def events(sandbox: Sandbox, merchant: str, count: int) -> list[dict[str, Any]]:
    hooks: list[ReceivedWebhook] = await sandbox.receiver.wait_for(merchant, count)
    assert len(hooks) == count
    assert all(h.headers["authorization"] == WEBHOOK_AUTH for h in hooks)
    return [json.loads(h.body) for h in hooks]


def returned(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == RETURN_URL.split("?")[0]
    params = dict(parse_qsl(location.query, keep_blank_values=True))
    assert params["cart"] == "7" and params["signature_algorithm"] == "HMAC-SHA256"
    assert hmac.compare_digest(params["signature"], signature(params))
    return params


# ---- auth, customers, orders -----------------------------------------------------------------------


async def test_auth(sandbox: Sandbox) -> None:
    for key in ("wrong", None):
        response = await sandbox.api("GET", "/orders/anything", key=key)
        assert response.status_code == 401
        assert response.json()["status"] == "error" and response.json()["error_code"] == "access_denied"
    assert (await sandbox.api("POST", "/txns", key=None, data={"order_id": "x"})).status_code == 401
    assert (
        await sandbox.api("POST", "/txns", key="wrong", data={"order_id": "x", "merchant_id": "sandbox"})
    ).status_code == 401
    assert "juspay" in (await sandbox.http.get("/healthz")).json()["gateways"]


async def test_customers(sandbox: Sandbox) -> None:
    ref = f"cus_{uuid.uuid4().hex[:12]}"
    data = {"object_reference_id": ref, "mobile_number": "9999999999", "email_address": "a@example.com",
            "first_name": "Asha", "options.get_client_auth_token": "true"}  # fmt: skip
    created = (await sandbox.api("POST", "/customers", data=data)).json()
    assert (
        created["id"].startswith("cst_") and created["object"] == "customer" and created["object_reference_id"] == ref
    )
    assert created["juspay"]["client_auth_token"]
    for key in (created["id"], ref):
        fetched = (await sandbox.api("GET", f"/customers/{key}")).json()
        assert fetched["id"] == created["id"] and "juspay" not in fetched
    duplicate = await sandbox.api(
        "POST", "/customers", json={"object_reference_id": ref, "mobile_number": "9999999999"}
    )
    assert duplicate.status_code == 400 and duplicate.json()["error_code"] == "ALREADY_EXISTS"
    missing = await sandbox.api("GET", "/customers/cst_nobody")
    assert missing.status_code == 404 and missing.json()["error_code"] == "object_not_found"
    short = await sandbox.api("POST", "/customers", data={"object_reference_id": "abc", "mobile_number": "99999"})
    assert short.status_code == 400


async def test_order_status_new_and_json_body(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, "10.50")
    order = await status(sandbox, order_id)
    assert (order["status"], order["status_id"], order["amount"], order["udf1"]) == ("NEW", 10, 10.5, merchant)
    assert order["metadata"] == {"source": "tests"} and order["refunded"] is False and order["refunds"] == []
    legacy = await sandbox.api("GET", "/order/status", params={"order_id": order_id})
    assert legacy.json()["order_id"] == order_id
    other = f"j{uuid.uuid4().hex[:12]}"
    created = await sandbox.api("POST", "/orders", json={"order_id": other, "amount": "5.00", "udf1": merchant})
    assert created.json()["status"] == "CREATED"
    again = await sandbox.api("POST", "/orders", json={"order_id": other, "amount": "9.00"})
    assert again.json()["amount"] == 5.0
    assert (await sandbox.api("GET", "/orders/nope")).json()["error_code"] == "object_not_found"
    assert (await sandbox.api("POST", "/orders", data={"order_id": "x y", "amount": "1"})).status_code == 400
    assert (await sandbox.api("POST", "/orders", data={"order_id": "okid", "amount": "-1"})).status_code == 400


# ---- transactions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "brand"), [("4111111111111111", "VISA"), ("4242424242424242", "VISA"),
                                               ("5555555555554444", "MASTERCARD"), ("6521111111111110", "RUPAY")])  # fmt: skip
async def test_success_cards(sandbox: Sandbox, merchant: str, number: str, brand: str) -> None:
    order_id = await new_order(sandbox, merchant)
    answer = (await txn(sandbox, order_id, **card(number))).json()
    assert (answer["status"], answer["order_id"], answer["txn_id"]) == ("CHARGED", order_id, f"sandbox-{order_id}-1")
    assert "payment" not in answer and answer["txn_uuid"]
    order = await status(sandbox, order_id)
    assert (order["status"], order["status_id"], order["payment_method_type"]) == ("CHARGED", 21, "CARD")
    assert order["card"]["last_four_digits"] == number[-4:] and order["card"]["card_brand"] == brand
    assert number not in json.dumps(order)
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_SUCCEEDED" and event["id"].startswith("evt_V2_")
    assert event["content"]["order"]["status"] == "CHARGED" and event["content"]["order"]["order_id"] == order_id
    again = await txn(sandbox, order_id, **card(number))
    assert again.status_code == 400


@pytest.mark.parametrize(
    ("number", "code"), [("4000000000000002", "05"), ("4000000000009995", "51"), ("4000000000000069", "54")]
)
async def test_declined_cards(sandbox: Sandbox, merchant: str, number: str, code: str) -> None:
    order_id = await new_order(sandbox, merchant)
    answer = (await txn(sandbox, order_id, **card(number))).json()
    assert (answer["status"], answer["bank_error_code"]) == ("AUTHORIZATION_FAILED", code)
    order = await status(sandbox, order_id)
    assert (order["status"], order["status_id"], order["bank_error_code"]) == ("AUTHORIZATION_FAILED", 27, code)
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_FAILED"
    retry = (await txn(sandbox, order_id, **card("4111111111111111"))).json()
    assert retry["status"] == "CHARGED" and retry["txn_id"].endswith("-2")


async def test_gateway_error_and_charge_then_drop(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant)
    response = await txn(sandbox, order_id, **card("4000000000000119"))
    assert response.status_code == 502 and response.json()["status"] == "error"
    assert (await status(sandbox, order_id))["status_id"] == 10
    with pytest.raises(httpx.HTTPError):
        await txn(sandbox, order_id, **card("4000000000000259"))
    assert (await status(sandbox, order_id))["status"] == "CHARGED"
    assert await sandbox.receiver.wait_for(merchant, 1, within=0.4) == []


async def test_otp_card_approve_and_reject(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, "1234.56")
    answer = (await sandbox.api("POST", "/txns", json={"order_id": order_id, **card("4000000000003220")})).json()
    assert answer["status"] == "PENDING_VBV" and answer["payment"]["authentication"]["method"] == "GET"
    url = answer["payment"]["authentication"]["url"]
    assert (await status(sandbox, order_id))["status_id"] == 23
    page = await sandbox.http.get(url)
    assert "1234.56" in page.text and "approve" in page.text
    params = returned(await sandbox.http.get(url, params={"decision": "approve"}))
    assert (params["order_id"], params["status"], params["status_id"]) == (order_id, "CHARGED", "21")
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_SUCCEEDED"
    tampered = {**params, "status": "AUTHORIZATION_FAILED"}
    assert signature(tampered) != params["signature"]
    other = await new_order(sandbox, merchant)
    answer = (await txn(sandbox, other, **card("4000000000003220"))).json()
    params = returned(await sandbox.http.post(answer["payment"]["authentication"]["url"], data={"decision": "reject"}))
    assert (params["status"], params["status_id"]) == ("AUTHENTICATION_FAILED", "26")
    assert (await status(sandbox, other))["status_id"] == 26


@pytest.mark.parametrize(("kind", "method"), [("NB", "NB_HDFC"), ("WALLET", "PAYTM")])
async def test_netbanking_and_wallet(sandbox: Sandbox, merchant: str, kind: str, method: str) -> None:
    order_id = await new_order(sandbox, merchant)
    answer = (await txn(sandbox, order_id, payment_method_type=kind, payment_method=method)).json()
    params = returned(
        await sandbox.http.get(answer["payment"]["authentication"]["url"], params={"decision": "approve"})
    )
    assert params["status"] == "CHARGED"
    order = await status(sandbox, order_id)
    assert (order["payment_method_type"], order["payment_method"]) == (kind, method)


@pytest.mark.parametrize(("vpa", "final", "event_name"), [("success@upi", "CHARGED", "ORDER_SUCCEEDED"),
                                                           ("failure@upi", "AUTHORIZATION_FAILED", "ORDER_FAILED")])  # fmt: skip
async def test_upi_collect(sandbox: Sandbox, merchant: str, vpa: str, final: str, event_name: str) -> None:
    order_id = await new_order(sandbox, merchant)
    answer = (
        await txn(
            sandbox, order_id, payment_method_type="UPI", payment_method="UPI", txn_type="UPI_COLLECT", upi_vpa=vpa
        )
    ).json()
    assert answer["status"] == "PENDING_VBV"
    assert (await status(sandbox, order_id))["status"] == "PENDING_VBV"
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == event_name
    order = await status(sandbox, order_id)
    assert order["status"] == final and order["upi"]["payer_vpa"] == vpa


@pytest.mark.parametrize("details", [card("4111111111111112"), {**card("4111111111111111"), "card_security_code": "1"},
                                     {"payment_method_type": "UPI", "upi_vpa": "bad"}, {"payment_method_type": "EMI"}])  # fmt: skip
async def test_txn_input_errors(sandbox: Sandbox, merchant: str, details: dict[str, str]) -> None:
    order_id = await new_order(sandbox, merchant)
    response = await txn(sandbox, order_id, **details)
    assert response.status_code == 400 and response.json()["status"] == "error"
    assert (await txn(sandbox, "no-such-order", **card("4111111111111111"))).status_code == 404


# ---- refunds ---------------------------------------------------------------------------------------


async def charged(sandbox: Sandbox, merchant: str, amount: str = "100.00") -> str:
    order_id = await new_order(sandbox, merchant, amount)
    assert (await txn(sandbox, order_id, **card("4111111111111111"))).json()["status"] == "CHARGED"
    return order_id


async def test_refunds(sandbox: Sandbox, merchant: str) -> None:
    order_id = await charged(sandbox, merchant)
    first = await sandbox.api(
        "POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rf1", "amount": "40.00"}
    )
    body = first.json()
    [refund] = body["refunds"]
    assert (refund["status"], refund["amount"], refund["unique_request_id"], refund["sent_to_gateway"]) == (
        "PENDING",
        40.0,
        "rf1",
        False,
    )
    assert body["amount_refunded"] == 40.0 and body["status"] == "CHARGED"
    again = (
        await sandbox.api("POST", f"/orders/{order_id}/refunds", json={"unique_request_id": "rf1", "amount": "40.00"})
    ).json()
    assert len(again["refunds"]) == 1
    too_much = await sandbox.api(
        "POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rf2", "amount": "60.01"}
    )
    assert too_much.status_code == 400
    long_id = await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "r" * 21})
    assert long_id.status_code == 400
    rest = (await sandbox.api("POST", "/order/refund", data={"order_id": order_id, "unique_request_id": "rf3"})).json()
    assert rest["refunds"][-1]["amount"] == 60.0 and rest["refunded"] is True
    received = await events(sandbox, merchant, 3)
    assert [e["event_name"] for e in received] == ["ORDER_SUCCEEDED", "ORDER_REFUNDED", "ORDER_REFUNDED"]
    final = await status(sandbox, order_id)
    assert [r["status"] for r in final["refunds"]] == ["SUCCESS", "SUCCESS"] and final["amount_refunded"] == 100.0


async def test_refund_rules_and_failure(sandbox: Sandbox, merchant: str) -> None:
    unpaid = await new_order(sandbox, merchant)
    response = await sandbox.api("POST", f"/orders/{unpaid}/refunds", data={"unique_request_id": "rfx"})
    assert response.status_code == 400 and response.json()["error_code"] == "invalid.order.not_successful"
    order_id = await charged(sandbox, merchant)
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "juspay", "fault": "refund_fail", "count": 1})
    await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rff", "amount": "100.00"})
    received = await events(sandbox, merchant, 2)
    assert received[-1]["event_name"] == "ORDER_REFUND_FAILED"
    order = await status(sandbox, order_id)
    assert order["refunds"][0]["status"] == "FAILURE" and order["amount_refunded"] == 0.0
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "juspay", "fault": "refund_review", "count": 1})
    await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rfr", "amount": "10.00"})
    received = await events(sandbox, merchant, 3)
    assert received[-1]["event_name"] == "REFUND_MANUAL_REVIEW_NEEDED"
    assert (await status(sandbox, order_id))["refunds"][-1]["status"] == "MANUAL_REVIEW"


# ---- faults and webhook modes ----------------------------------------------------------------------


async def test_faults_and_tampered_webhooks(sandbox: Sandbox, merchant: str) -> None:
    await sandbox.http.post(
        "/_sandbox/faults", json={"gateway": "juspay", "fault": "http_500", "path_contains": "/orders", "count": 1}
    )
    response = await sandbox.api("GET", "/orders/x")
    assert response.status_code == 500 and response.json()["status"] == "error"
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "juspay", "fault": "http_503_html", "count": 1})
    assert (await sandbox.api("GET", "/orders/x")).headers["content-type"].startswith("text/html")
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "tamper"})
    await charged(sandbox, merchant)
    [hook] = await sandbox.receiver.wait_for(merchant, 1)
    assert hook.headers["authorization"] != WEBHOOK_AUTH
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "duplicate"})
    other = merchant + "d"
    await charged(sandbox, other)
    received = await events(sandbox, other, 2)
    assert received[0] == received[1]


# ---- pre-authorization: AUTHORIZED, capture, void --------------------------------------------------

PREAUTH = {"metadata.txns.auto_capture": "false"}


def invalid_state(response: httpx.Response, message: str) -> None:
    """Juspay's capture / void state error (its Capture and Void API pages)."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["status"], body["error_code"], body["error_message"]) == ("Bad Request", "Invalid", message)
    assert body["error_info"]["code"] == "INVALID_INPUT" and body["error_info"]["developer_message"] == message


async def test_preauth_then_capture(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, **PREAUTH)
    answer = (await txn(sandbox, order_id, **card("4111111111111111"))).json()
    assert answer["status"] == "AUTHORIZED" and "payment" not in answer
    uuid_ = answer["txn_uuid"]
    order = await status(sandbox, order_id)
    assert (order["status"], order["status_id"], order["txn_uuid"]) == ("AUTHORIZED", 25, uuid_)
    assert order["metadata"]["txns.auto_capture"] == "false" and order["amount"] == 100.0
    assert await sandbox.receiver.wait_for(merchant, 1, within=0.4) == []  # no event for an authorization
    # a hold is neither refundable nor payable twice
    refund = await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rfa"})
    assert refund.status_code == 400 and refund.json()["error_code"] == "invalid.order.not_successful"
    assert (await txn(sandbox, order_id, **card("4111111111111111"))).status_code == 400
    # capture: Basic auth, never more than authorized, a partial one only with an idempotence_key
    assert (await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", key="wrong")).status_code == 401
    assert (await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", key=None)).status_code == 401
    over = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data={"amount": "100.01"})
    invalid_state(over, "Capture amount cannot be greater than the authorized amount")
    partial = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data={"amount": "40.00"})
    assert partial.status_code == 400 and "idempotence_key" in partial.json()["error_message"], partial.text
    assert (await status(sandbox, order_id))["status"] == "AUTHORIZED"
    captured = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data={"amount": "100.00"})
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert (body["order_id"], body["txn_uuid"], body["status"], body["status_id"]) == (order_id, uuid_, "CHARGED", 21)
    assert body["payment_gateway_response"]["resp_code"] == "00" and body["payment_gateway_response"]["rrn"]
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_SUCCEEDED" and event["content"]["order"]["status"] == "CHARGED"
    assert (await status(sandbox, order_id))["status_id"] == 21
    invalid_state(await sandbox.api("POST", f"/v2/txns/{uuid_}/capture"), "Cannot Capture CHARGED Transaction")
    invalid_state(await sandbox.api("POST", f"/v2/txns/{uuid_}/void"), "Cannot Void CHARGED Transaction")
    # a captured pre-auth refunds like any charge
    refunded = await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rfb"})
    assert refunded.status_code == 200 and refunded.json()["refunds"][0]["amount"] == 100.0
    missing = await sandbox.api("POST", "/v2/txns/eulnosuchtxn/capture")
    assert missing.status_code == 404 and missing.json()["error_code"] == "object_not_found"


async def test_preauth_partial_capture_releases_the_rest_once(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, **PREAUTH)
    uuid_ = (await txn(sandbox, order_id, **card("4111111111111111"))).json()["txn_uuid"]
    form = {"amount": "40.00", "idempotence_key": "cap_att_1"}
    first = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data=form)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["amount"], body["amount_captured"]) == ("PARTIAL_CHARGED", 100.0, 40.0)
    again = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data=form)  # a retry after a lost answer
    assert again.status_code == 200 and again.json()["amount_captured"] == 40.0
    other = await sandbox.api("POST", f"/v2/txns/{uuid_}/capture", data={**form, "idempotence_key": "cap_att_2"})
    invalid_state(other, "Cannot Capture PARTIAL_CHARGED Transaction")
    ledger = (await sandbox.http.get("/_sandbox/ledger", params={"gateway": "juspay", "reference": order_id})).json()
    assert [e["amount"] for e in ledger["entries"] if e["kind"] == "capture"] == [4000]  # one, of the partial amount
    [event] = await events(sandbox, merchant, 1)
    assert event["content"]["order"]["status"] == "PARTIAL_CHARGED"
    # refunds are bounded by what was captured, not by the order's amount
    over = await sandbox.api(
        "POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rp1", "amount": "40.01"}
    )
    assert over.status_code == 400 and over.json()["error_code"] == "invalid.refund.amount"
    rest = await sandbox.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": "rp2"})
    assert rest.status_code == 200 and rest.json()["refunds"][0]["amount"] == 40.0 and rest.json()["refunded"]


async def test_preauth_then_void_with_a_nested_json_order(sandbox: Sandbox, merchant: str) -> None:
    order_id = f"j{uuid.uuid4().hex[:20]}"
    created = await sandbox.api("POST", "/orders", json={"order_id": order_id, "amount": "25.00", "udf1": merchant,
                                                         "metadata": {"txns": {"auto_capture": False}}})  # fmt: skip
    assert created.status_code == 200 and created.json()["metadata"] == {"txns.auto_capture": "false"}
    answer = (await sandbox.api("POST", "/txns", json={"order_id": order_id, **card("5555555555554444")})).json()
    assert answer["status"] == "AUTHORIZED"
    voided = await sandbox.api("POST", f"/v2/txns/{answer['txn_uuid']}/void", data={})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["status"], voided.json()["status_id"]) == ("VOIDED", 31)
    order = await status(sandbox, order_id)
    assert (order["status"], order["status_id"], order["refunded"]) == ("VOIDED", 31, False)
    capture = await sandbox.api("POST", f"/v2/txns/{answer['txn_uuid']}/capture")
    invalid_state(capture, "Cannot Capture VOIDED Transaction")
    invalid_state(await sandbox.api("POST", f"/v2/txns/{answer['txn_uuid']}/void"), "Cannot Void VOIDED Transaction")
    assert (await txn(sandbox, order_id, **card("4111111111111111"))).status_code == 400
    assert await sandbox.receiver.wait_for(merchant, 1, within=0.4) == []  # no event for a void either


async def test_preauth_through_3ds(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, "1234.56", **PREAUTH)
    answer = (await txn(sandbox, order_id, **card("4000000000003220"))).json()
    assert answer["status"] == "PENDING_VBV"
    invalid_state(
        await sandbox.api("POST", f"/v2/txns/{answer['txn_uuid']}/capture"), "Cannot Capture PENDING_VBV Transaction"
    )
    params = returned(
        await sandbox.http.get(answer["payment"]["authentication"]["url"], params={"decision": "approve"})
    )
    assert (params["order_id"], params["status"], params["status_id"]) == (order_id, "AUTHORIZED", "25")
    order = await status(sandbox, order_id)
    assert (order["status"], order["auth_type"]) == ("AUTHORIZED", "THREE_DS")
    captured = await sandbox.api("POST", f"/v2/txns/{answer['txn_uuid']}/capture")  # no amount: all of it
    assert captured.status_code == 200 and captured.json()["status"] == "CHARGED"
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_SUCCEEDED" and event["content"]["order"]["amount"] == 1234.56


async def test_preauth_failures_and_retry(sandbox: Sandbox, merchant: str) -> None:
    order_id = await new_order(sandbox, merchant, **PREAUTH)
    declined = (await txn(sandbox, order_id, **card("4000000000000002"))).json()
    assert declined["status"] == "AUTHORIZATION_FAILED"
    failed = f"/v2/txns/{declined['txn_uuid']}"
    invalid_state(await sandbox.api("POST", f"{failed}/capture"), "Cannot Capture AUTHORIZATION_FAILED Transaction")
    retry = (await txn(sandbox, order_id, **card("4111111111111111"))).json()
    assert retry["status"] == "AUTHORIZED" and retry["txn_id"].endswith("-2")
    invalid_state(await sandbox.api("POST", f"{failed}/void"), "Cannot Void AUTHORIZATION_FAILED Transaction")
    assert (await sandbox.api("POST", f"/v2/txns/{retry['txn_uuid']}/void")).json()["status"] == "VOIDED"
    [event] = await events(sandbox, merchant, 1)
    assert event["event_name"] == "ORDER_FAILED"  # the decline only
    rejected = await new_order(sandbox, merchant, **PREAUTH)
    challenge = (await txn(sandbox, rejected, **card("4000000000003220"))).json()
    params = returned(
        await sandbox.http.post(challenge["payment"]["authentication"]["url"], data={"decision": "reject"})
    )
    assert params["status"] == "AUTHENTICATION_FAILED"
    invalid_state(
        await sandbox.api("POST", f"/v2/txns/{challenge['txn_uuid']}/void"),
        "Cannot Void AUTHENTICATION_FAILED Transaction",
    )


async def test_auto_capture_per_transaction_and_cards_only(sandbox: Sandbox, merchant: str) -> None:
    plain = await new_order(sandbox, merchant)
    held = await txn(sandbox, plain, **card("4111111111111111"), auto_capture="false")
    assert held.json()["status"] == "AUTHORIZED"
    preauth = await new_order(sandbox, merchant, **PREAUTH)
    charged = await txn(sandbox, preauth, **card("4111111111111111"), auto_capture="true")
    assert charged.json()["status"] == "CHARGED"
    netbanking = await new_order(sandbox, merchant, **PREAUTH)
    answer = (await txn(sandbox, netbanking, payment_method_type="NB", payment_method="NB_HDFC")).json()
    params = returned(
        await sandbox.http.get(answer["payment"]["authentication"]["url"], params={"decision": "approve"})
    )
    assert params["status"] == "CHARGED"  # pre-auth is a card feature
    upi = await new_order(sandbox, merchant, **PREAUTH)
    await txn(sandbox, upi, payment_method_type="UPI", payment_method="UPI", txn_type="UPI_COLLECT",
              upi_vpa="success@upi")  # fmt: skip
    received = await events(sandbox, merchant, 3)
    assert [e["event_name"] for e in received] == ["ORDER_SUCCEEDED"] * 3
    assert {e["content"]["order"]["order_id"] for e in received} == {preauth, netbanking, upi}
    assert (await status(sandbox, plain))["status"] == "AUTHORIZED"
