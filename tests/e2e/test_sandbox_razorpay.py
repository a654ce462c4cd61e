"""E2E: the Razorpay sandbox over real HTTP, driven by the official ``razorpay`` Python client.

The client is synchronous (requests), so every call goes through ``asyncio.to_thread`` while the
sandbox and the webhook receiver run in the test event loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
import razorpay
import requests
from razorpay.errors import BadRequestError, GatewayError, ServerError, SignatureVerificationError

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.e2e.conftest import ReceivedWebhook, WebhookReceiver
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.e2e

KEY_SECRET = "sandbox_secret"
WEBHOOK_SECRET = "sandbox_webhook_secret"
CALLBACK = "https://merchant.example/razorpay/callback"


@dataclass
class Sandbox:
    base: str
    http: httpx.AsyncClient
    receiver: WebhookReceiver


@dataclass
class Account:
    """A fresh sandbox account (its own key id) whose orders carry a unique merchant_id."""

    sandbox: Sandbox
    key_id: str
    merchant_id: str
    client: razorpay.Client

    async def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.sandbox.http.request(method, f"/razorpay{path}", auth=(self.key_id, KEY_SECRET), **kwargs)

    async def webhooks(self, count: int, within: float = 5.0) -> list[ReceivedWebhook]:
        return await self.sandbox.receiver.wait_for(self.merchant_id, count, within)

    def verify(self, hook: ReceivedWebhook) -> dict[str, Any]:
        """Check the webhook signature with the official client; return the parsed event."""
        assert self.client.utility.verify_webhook_signature(
            hook.body.decode(), hook.headers["x-razorpay-signature"], WEBHOOK_SECRET
        )
        return json.loads(hook.body)


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


@pytest_asyncio.fixture(scope="module")
async def sandbox(webhook_receiver: WebhookReceiver) -> Any:
    port = free_port()
    settings = SandboxSettings(
        public_url=f"http://127.0.0.1:{port}",
        webhook_url=webhook_receiver.base_url + "/v1/webhooks/{gateway}/{merchant_id}",
        upi_delay_s=0.2,
        hang_s=1.0,
        webhook_retry_delays_s=(0.05, 0.1, 0.1),
    )
    async with serve_asgi(create_app(settings), port=port) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Sandbox(base, http, webhook_receiver)


@pytest_asyncio.fixture(autouse=True)
async def _reset_sandbox(sandbox: Sandbox) -> Any:
    yield
    await sandbox.http.delete("/_sandbox/faults")
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "normal"})
    await sandbox.http.post("/_sandbox/webhooks/flush")


@pytest.fixture
def acct(sandbox: Sandbox) -> Account:
    key_id = f"rzp_test_{uuid.uuid4().hex[:12]}"
    client = razorpay.Client(auth=(key_id, KEY_SECRET), base_url=f"{sandbox.base}/razorpay")
    return Account(sandbox, key_id, f"m_{uuid.uuid4().hex[:12]}", client)


async def new_order(acct: Account, amount: int = 50000, capture: bool = False, **extra: Any) -> dict[str, Any]:
    body = {"amount": amount, "currency": "INR", "notes": {"merchant_id": acct.merchant_id}, **extra}
    if capture:
        body["payment_capture"] = 1
    return await call(acct.client.order.create, body)


def card(number: str, cvv: str = "123", month: Any = 12, year: Any = 2031) -> dict[str, Any]:
    return {"number": number, "name": "Test Buyer", "expiry_month": month, "expiry_year": year, "cvv": cvv}


def payment_body(order: dict[str, Any], method: str = "card", **extra: Any) -> dict[str, Any]:
    return {
        "amount": order["amount"],
        "currency": order["currency"],
        "order_id": order["id"],
        "email": "buyer@example.com",
        "contact": "+919999999999",
        "method": method,
        "callback_url": CALLBACK,
        **extra,
    }


async def pay_card(acct: Account, order: dict[str, Any], number: str = "4111111111111111") -> dict[str, Any]:
    return await call(acct.client.payment.createPaymentJson, payment_body(order, card=card(number)))


async def paid_payment(acct: Account, amount: int = 50000) -> dict[str, Any]:
    """A captured card payment (auto-capture order)."""
    order = await new_order(acct, amount=amount, capture=True)
    created = await pay_card(acct, order)
    return await call(acct.client.payment.fetch, created["razorpay_payment_id"])


def events(hooks: list[ReceivedWebhook]) -> list[str]:
    return [json.loads(hook.body)["event"] for hook in hooks]


def assert_error(response: httpx.Response, status: int, field: str | None, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "description", "source", "step", "reason", "metadata", "field"}
    assert error["field"] == field
    assert error["reason"] == reason
    return error


# ---- basics ----------------------------------------------------------------------------------------


async def test_healthz(sandbox: Sandbox) -> None:
    response = await sandbox.http.get("/healthz")
    assert response.json() == {"status": "ok", "gateways": ["juspay", "paytm", "payu", "razorpay"]}


async def test_auth_failure_is_401_with_razorpay_body(sandbox: Sandbox, acct: Account) -> None:
    for auth in [(acct.key_id, "wrong"), ("rzp_live_x", KEY_SECRET), None]:
        response = await sandbox.http.get("/razorpay/v1/orders", auth=auth)
        assert response.status_code == 401
        assert response.json() == {
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "Authentication failed",
                "source": "NA",
                "step": "NA",
                "reason": "NA",
                "metadata": {},
                "field": None,
            }
        }
    bad = razorpay.Client(auth=("rzp_test_sandbox", "nope"), base_url=f"{sandbox.base}/razorpay")
    with pytest.raises(BadRequestError, match="Authentication failed"):
        await call(bad.order.create, {"amount": 100, "currency": "INR"})


async def test_published_account_works(sandbox: Sandbox) -> None:
    client = razorpay.Client(auth=("rzp_test_sandbox", KEY_SECRET), base_url=f"{sandbox.base}/razorpay")
    order = await call(client.order.create, {"amount": 100, "currency": "INR"})
    assert order["id"].startswith("order_") and len(order["id"]) == len("order_") + 14


async def test_unknown_ids_and_other_accounts(acct: Account, sandbox: Sandbox) -> None:
    for fn, arg in [
        (acct.client.order.fetch, "order_DoesNotExist00"),
        (acct.client.payment.fetch, "pay_DoesNotExist000"),
        (acct.client.refund.fetch, "rfnd_DoesNotExist00"),
        (acct.client.order.payments, "order_DoesNotExist00"),
    ]:
        with pytest.raises(BadRequestError, match="The id provided does not exist"):
            await call(fn, arg)
    order = await new_order(acct)
    other = razorpay.Client(auth=("rzp_test_someoneelse", KEY_SECRET), base_url=f"{sandbox.base}/razorpay")
    with pytest.raises(BadRequestError, match="The id provided does not exist"):
        await call(other.order.fetch, order["id"])
    response = await acct.raw("GET", "/v1/orders/order_DoesNotExist00")
    assert response.status_code == 400
    assert response.json()["error"]["description"] == "The id provided does not exist"


# ---- orders -----------------------------------------------------------------------------------------


async def test_order_create_fetch_and_list(acct: Account) -> None:
    order = await new_order(acct, amount=12345, receipt="rcpt-1")
    assert order == {
        "id": order["id"],
        "entity": "order",
        "amount": 12345,
        "amount_paid": 0,
        "amount_due": 12345,
        "currency": "INR",
        "receipt": "rcpt-1",
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": {"merchant_id": acct.merchant_id},
        "created_at": order["created_at"],
    }
    assert abs(order["created_at"] - time.time()) < 5
    assert await call(acct.client.order.fetch, order["id"]) == order
    bare = await call(acct.client.order.create, {"amount": 100, "currency": "INR"})
    assert bare["notes"] == [] and bare["receipt"] is None
    await new_order(acct, receipt="rcpt-3")
    listed = await call(acct.client.order.all, {"receipt": "rcpt-1"})
    assert listed == {"entity": "collection", "count": 1, "items": [order]}
    everything = await call(acct.client.order.all, {})
    assert everything["count"] == 3 and everything["items"][0]["receipt"] == "rcpt-3"
    page = await call(acct.client.order.all, {"count": 2, "skip": 2})
    assert [o["id"] for o in page["items"]] == [order["id"]]
    assert await call(acct.client.order.payments, order["id"]) == {
        "entity": "collection",
        "count": 0,
        "items": [],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": 99, "currency": "INR"}, "amount"),
        ({"amount": 100.5, "currency": "INR"}, "amount"),
        ({"amount": "ten", "currency": "INR"}, "amount"),
        ({"currency": "INR"}, "amount"),
        ({"amount": 1000, "currency": "XYZ"}, "currency"),
        ({"amount": 1000, "currency": "INR", "receipt": "r" * 41}, "receipt"),
        ({"amount": 1000, "currency": "INR", "notes": {str(i): "v" for i in range(16)}}, "notes"),
        ({"amount": 1000, "currency": "INR", "payment_capture": "maybe"}, "payment_capture"),
    ],
)
async def test_order_validation(acct: Account, body: dict[str, Any], field: str) -> None:
    error = assert_error(await acct.raw("POST", "/v1/orders", json=body), 400, field, "input_validation_failed")
    assert error["code"] == "BAD_REQUEST_ERROR"
    assert (error["source"], error["step"]) == ("business", "payment_initiation")
    with pytest.raises(BadRequestError):
        await call(acct.client.order.create, body)


async def test_order_minimum_message(acct: Account) -> None:
    response = await acct.raw("POST", "/v1/orders", json={"amount": 99, "currency": "INR"})
    assert response.json()["error"]["description"] == "The amount must be at least INR 1.00"


# ---- payments by instrument -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "network"),
    [
        ("4111111111111111", "Visa"),
        ("4242424242424242", "Visa"),
        ("5555555555554444", "MasterCard"),
        ("6521111111111110", "RuPay"),
        ("4012888888881881", "Visa"),
    ],
)
async def test_success_cards_authorize(acct: Account, number: str, network: str) -> None:
    order = await new_order(acct)
    created = await pay_card(acct, order, number)
    assert list(created) == ["razorpay_payment_id"]
    payment = await call(acct.client.payment.fetch, created["razorpay_payment_id"])
    assert payment["status"] == "authorized" and payment["captured"] is False
    assert payment["order_id"] == order["id"] and payment["method"] == "card"
    assert payment["card"]["last4"] == number[-4:] and payment["card"]["network"] == network
    assert payment["card_id"] == payment["card"]["id"]
    raw = json.dumps(payment)
    assert number not in raw and '"cvv"' not in raw
    order_now = await call(acct.client.order.fetch, order["id"])
    assert (order_now["status"], order_now["attempts"]) == ("attempted", 1)
    [hook] = await acct.webhooks(1)
    assert hook.headers["content-type"] == "application/json" and hook.headers["x-razorpay-event-id"]
    event = acct.verify(hook)
    assert event["entity"] == "event" and event["account_id"] == "acc_sandbox"
    assert (event["event"], event["contains"]) == ("payment.authorized", ["payment"])
    assert event["payload"]["payment"]["entity"]["id"] == payment["id"]


async def test_auto_capture_order(acct: Account) -> None:
    order = await new_order(acct, amount=20000, capture=True)
    created = await pay_card(acct, order, "4242424242424242")
    payment = await call(acct.client.payment.fetch, created["razorpay_payment_id"])
    assert (payment["status"], payment["captured"]) == ("captured", True)
    assert payment["fee"] is not None and payment["tax"] is not None
    order_now = await call(acct.client.order.fetch, order["id"])
    assert (order_now["status"], order_now["amount_paid"], order_now["amount_due"]) == ("paid", 20000, 0)
    hooks = await acct.webhooks(3)
    assert events(hooks) == ["payment.authorized", "payment.captured", "order.paid"]
    paid = acct.verify(hooks[2])
    assert paid["contains"] == ["payment", "order"]
    assert paid["payload"]["order"]["entity"]["status"] == "paid"
    assert acct.verify(hooks[0])["payload"]["payment"]["entity"]["status"] == "authorized"
    assert len({hook.headers["x-razorpay-event-id"] for hook in hooks}) == 3


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "card_expired"),
    ],
)
async def test_declined_cards(acct: Account, number: str, reason: str) -> None:
    order = await new_order(acct)
    response = await acct.raw("POST", "/v1/payments/create/json", json=payment_body(order, card=card(number)))
    error = assert_error(response, 400, None, reason)
    assert error["code"] == "BAD_REQUEST_ERROR"
    assert error["description"] == "Your payment has been declined by the bank."
    assert (error["source"], error["step"]) == ("bank", "payment_authorization")
    assert error["metadata"]["order_id"] == order["id"]
    payment = await call(acct.client.payment.fetch, error["metadata"]["payment_id"])
    assert payment["status"] == "failed"
    assert (payment["error_code"], payment["error_reason"], payment["error_source"]) == (
        "BAD_REQUEST_ERROR",
        reason,
        "bank",
    )
    assert payment["error_step"] == "payment_authorization" and payment["error_description"]
    with pytest.raises(BadRequestError, match="declined"):
        await pay_card(acct, order, number)
    hooks = await acct.webhooks(2)
    assert events(hooks) == ["payment.failed", "payment.failed"]
    assert acct.verify(hooks[0])["payload"]["payment"]["entity"]["error_reason"] == reason


async def test_gateway_error_card_creates_nothing(acct: Account) -> None:
    order = await new_order(acct)
    body = payment_body(order, card=card("4000000000000119"))
    response = await acct.raw("POST", "/v1/payments/create/json", json=body)
    error = assert_error(response, 502, None, "gateway_technical_error")
    assert (error["code"], error["source"], error["step"]) == (
        "GATEWAY_ERROR",
        "gateway",
        "payment_initiation",
    )
    with pytest.raises(GatewayError):
        await call(acct.client.payment.createPaymentJson, body)
    assert (await call(acct.client.order.payments, order["id"]))["count"] == 0
    assert (await call(acct.client.order.fetch, order["id"]))["attempts"] == 0


async def test_charge_then_drop_card(acct: Account, sandbox: Sandbox) -> None:
    order = await new_order(acct, capture=True)
    body = payment_body(order, card=card("4000000000000259"))
    with pytest.raises(requests.exceptions.RequestException):
        await call(acct.client.payment.createPaymentJson, body)
    payments = await call(acct.client.order.payments, order["id"])
    assert payments["count"] == 1
    [payment] = payments["items"]
    assert (payment["status"], payment["captured"]) == ("captured", True)
    assert (await call(acct.client.payment.fetch, payment["id"]))["status"] == "captured"
    await asyncio.sleep(0.3)
    assert sandbox.receiver.for_path_suffix(acct.merchant_id) == []


@pytest.mark.parametrize(
    ("card_details", "field"),
    [
        (card("4111111111111112"), "card[number]"),
        (card(""), "card[number]"),
        (card("4111111111111111", year=2020), "card[expiry_year]"),
        (card("4111111111111111", month=13), "card[expiry_month]"),
        (card("4111111111111111", month="ab"), "card[expiry_month]"),
        (card("4111111111111111", cvv=""), "card[cvv]"),
        (card("4111111111111111", cvv="12"), "card[cvv]"),
    ],
)
async def test_card_input_errors(acct: Account, card_details: dict[str, Any], field: str) -> None:
    order = await new_order(acct)
    response = await acct.raw("POST", "/v1/payments/create/json", json=payment_body(order, card=card_details))
    error = assert_error(response, 400, field, "input_validation_failed")
    assert (error["source"], error["step"]) == ("business", "payment_initiation")
    assert (await call(acct.client.order.payments, order["id"]))["count"] == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 40000}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"email": "not-an-email"}, "email"),
        ({"contact": None}, "contact"),
        ({"method": "crypto"}, "method"),
        ({"order_id": None}, "order_id"),
    ],
)
async def test_payment_request_errors(acct: Account, change: dict[str, Any], field: str) -> None:
    order = await new_order(acct)
    body = {**payment_body(order, card=card("4111111111111111")), **change}
    body = {k: val for k, val in body.items() if val is not None}
    assert_error(await acct.raw("POST", "/v1/payments/create/json", json=body), 400, field, "input_validation_failed")


async def test_paid_order_rejects_new_payments(acct: Account) -> None:
    order = await new_order(acct, capture=True)
    await pay_card(acct, order)
    with pytest.raises(BadRequestError, match="already been paid"):
        await pay_card(acct, order)


async def test_otp_card_approve_via_get_redirect(acct: Account, sandbox: Sandbox) -> None:
    order = await new_order(acct, amount=123456)
    body = payment_body(order, card=card("4000000000003220"), callback_url=CALLBACK + "?cart=9")
    created = await call(acct.client.payment.createPaymentJson, body)
    pay_id = created["razorpay_payment_id"]
    assert created["next"] == [{"action": "redirect", "url": f"{sandbox.base}/razorpay/pages/authenticate/{pay_id}"}]
    assert (await call(acct.client.payment.fetch, pay_id))["status"] == "created"
    page = await sandbox.http.get(created["next"][0]["url"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "1,234.56 INR" in page.text and "approve" in page.text and "reject" in page.text
    redirect = await sandbox.http.get(created["next"][0]["url"], params={"decision": "approve"})
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["cart"] == "9"
    assert (query["razorpay_payment_id"], query["razorpay_order_id"]) == (pay_id, order["id"])
    assert acct.client.utility.verify_payment_signature(query)
    assert (await call(acct.client.payment.fetch, pay_id))["status"] == "authorized"
    [hook] = await acct.webhooks(1)
    assert acct.verify(hook)["event"] == "payment.authorized"
    again = await sandbox.http.get(created["next"][0]["url"], params={"decision": "reject"})
    assert again.status_code == 302 and "razorpay_signature" in again.headers["location"]


async def test_otp_card_reject_via_form_post(acct: Account, sandbox: Sandbox) -> None:
    order = await new_order(acct)
    created = await call(acct.client.payment.createPaymentJson, payment_body(order, card=card("4000000000003220")))
    page = await sandbox.http.post(created["next"][0]["url"], data={"decision": "reject"})
    assert page.status_code == 200
    assert f"action='{CALLBACK}'" in page.text
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    assert fields["error[code]"] == "BAD_REQUEST_ERROR"
    assert (fields["error[source]"], fields["error[reason]"]) == ("customer", "payment_failed")
    assert fields["error[step]"] and fields["error[description]"]
    metadata = json.loads(fields["error[metadata]"].replace("&quot;", '"'))
    assert metadata == {"payment_id": created["razorpay_payment_id"], "order_id": order["id"]}
    payment = await call(acct.client.payment.fetch, created["razorpay_payment_id"])
    assert (payment["status"], payment["error_reason"], payment["error_source"]) == (
        "failed",
        "payment_failed",
        "customer",
    )
    [hook] = await acct.webhooks(1)
    assert acct.verify(hook)["event"] == "payment.failed"


@pytest.mark.parametrize(("method", "extra"), [("netbanking", {"bank": "HDFC"}), ("wallet", {"wallet": "paytm"})])
async def test_netbanking_and_wallet_redirect(
    acct: Account, sandbox: Sandbox, method: str, extra: dict[str, str]
) -> None:
    order = await new_order(acct, capture=True)
    created = await call(acct.client.payment.createPaymentJson, payment_body(order, method, **extra))
    assert created["next"][0]["action"] == "redirect"
    page = await sandbox.http.post(created["next"][0]["url"], data={"decision": "approve"})
    fields = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    assert fields["razorpay_payment_id"] == created["razorpay_payment_id"]
    assert acct.client.utility.verify_payment_signature(fields)
    payment = await call(acct.client.payment.fetch, created["razorpay_payment_id"])
    assert payment["status"] == "captured" and payment["method"] == method
    assert payment[method if method == "wallet" else "bank"] == next(iter(extra.values()))
    hooks = await acct.webhooks(3)
    assert events(hooks) == ["payment.authorized", "payment.captured", "order.paid"]


@pytest.mark.parametrize(
    ("vpa", "status", "event"),
    [("success@upi", "authorized", "payment.authorized"), ("failure@upi", "failed", "payment.failed")],
)
async def test_upi_collect(acct: Account, sandbox: Sandbox, vpa: str, status: str, event: str) -> None:
    order = await new_order(acct)
    created = await call(acct.client.payment.createUpi, payment_body(order, "upi", vpa=vpa))
    pay_id = created["razorpay_payment_id"]
    assert created["next"] == [{"action": "poll", "url": f"{sandbox.base}/razorpay/v1/payments/{pay_id}"}]
    assert (await call(acct.client.payment.fetch, pay_id))["status"] == "created"
    [hook] = await acct.webhooks(1)
    assert acct.verify(hook)["event"] == event
    payment = await call(acct.client.payment.fetch, pay_id)
    assert (payment["status"], payment["vpa"]) == (status, vpa)
    if status == "failed":
        assert (payment["error_code"], payment["error_reason"]) == ("BAD_REQUEST_ERROR", "payment_failed")


async def test_upi_nested_vpa_and_bad_vpa(acct: Account) -> None:
    order = await new_order(acct)
    body = payment_body(order, "upi", upi={"vpa": "someone@okbank", "flow": "collect"})
    created = await call(acct.client.payment.createPaymentJson, body)
    assert created["next"][0]["action"] == "poll"
    bad = payment_body(order, "upi", vpa="not a vpa")
    assert_error(await acct.raw("POST", "/v1/payments/create/upi", json=bad), 400, "vpa", "input_validation_failed")


# ---- capture --------------------------------------------------------------------------------------


async def test_capture_flow_and_rules(acct: Account) -> None:
    order = await new_order(acct, amount=30000)
    pay_id = (await pay_card(acct, order))["razorpay_payment_id"]
    with pytest.raises(BadRequestError):
        await call(acct.client.payment.capture, pay_id, 30001, {"currency": "INR"})
    payment = await call(acct.client.payment.capture, pay_id, 30000, {"currency": "INR"})
    assert (payment["status"], payment["captured"], payment["amount"]) == ("captured", True, 30000)
    with pytest.raises(BadRequestError, match="This payment has already been captured"):
        await call(acct.client.payment.capture, pay_id, 30000, {"currency": "INR"})
    order_now = await call(acct.client.order.fetch, order["id"])
    assert (order_now["status"], order_now["amount_paid"]) == ("paid", 30000)
    hooks = await acct.webhooks(3)
    assert sorted(events(hooks)) == ["order.paid", "payment.authorized", "payment.captured"]


async def test_capture_of_failed_or_pending_payment_rejected(acct: Account) -> None:
    order = await new_order(acct)
    with pytest.raises(BadRequestError) as declined:
        await pay_card(acct, order, "4000000000000002")
    assert declined.value
    [failed] = (await call(acct.client.order.payments, order["id"]))["items"]
    with pytest.raises(BadRequestError, match="Only payments which have been authorized"):
        await call(acct.client.payment.capture, failed["id"], 50000, {"currency": "INR"})
    otp = await call(acct.client.payment.createPaymentJson, payment_body(order, card=card("4000000000003220")))
    with pytest.raises(BadRequestError, match="Only payments which have been authorized"):
        await call(acct.client.payment.capture, otp["razorpay_payment_id"], 50000, {"currency": "INR"})


async def test_partial_capture_is_refused_like_razorpay(acct: Account) -> None:
    order = await new_order(acct, amount=10000)
    pay_id = (await pay_card(acct, order))["razorpay_payment_id"]
    with pytest.raises(BadRequestError, match="equal to the amount authorized"):
        await call(acct.client.payment.capture, pay_id, 6000, {"currency": "INR"})
    payment = await call(acct.client.payment.fetch, pay_id)
    assert payment["status"] == "authorized"


# ---- refunds --------------------------------------------------------------------------------------


async def test_partial_and_multiple_refunds(acct: Account) -> None:
    payment = await paid_payment(acct, 50000)
    first = await call(acct.client.payment.refund, payment["id"], {"amount": 10000, "notes": {"why": "damaged"}})
    assert first == {
        "id": first["id"],
        "entity": "refund",
        "amount": 10000,
        "currency": "INR",
        "payment_id": payment["id"],
        "notes": {"why": "damaged"},
        "receipt": None,
        "acquirer_data": {"arn": None},
        "created_at": first["created_at"],
        "batch_id": None,
        "status": "processed",
        "speed_processed": "normal",
        "speed_requested": "normal",
    }
    assert first["id"].startswith("rfnd_")
    now = await call(acct.client.payment.fetch, payment["id"])
    assert (now["status"], now["amount_refunded"], now["refund_status"]) == ("captured", 10000, "partial")
    second = await call(acct.client.payment.refund, payment["id"], {"amount": 15000, "receipt": "rf-2"})
    assert second["id"] != first["id"] and second["receipt"] == "rf-2"
    with pytest.raises(BadRequestError, match="The refund amount provided is greater than amount captured"):
        await call(acct.client.payment.refund, payment["id"], {"amount": 25001})
    rest = await call(acct.client.payment.refund, payment["id"], {})
    assert rest["amount"] == 25000
    now = await call(acct.client.payment.fetch, payment["id"])
    assert (now["status"], now["amount_refunded"], now["refund_status"]) == ("refunded", 50000, "full")
    with pytest.raises(BadRequestError):
        await call(acct.client.payment.refund, payment["id"], {"amount": 100})
    listed = await call(acct.client.payment.fetch_multiple_refund, payment["id"])
    assert listed["count"] == 3 and [r["id"] for r in listed["items"]] == [
        rest["id"],
        second["id"],
        first["id"],
    ]
    assert await call(acct.client.refund.fetch, first["id"]) == first
    assert await call(acct.client.payment.fetch_refund_id, payment["id"], second["id"]) == second
    hooks = await acct.webhooks(9)
    assert Counter(events(hooks)) == {
        "payment.authorized": 1,
        "payment.captured": 1,
        "order.paid": 1,
        "refund.created": 3,
        "refund.processed": 3,
    }
    [refund_event] = [
        acct.verify(hook) for hook in hooks if b'"refund.processed"' in hook.body and first["id"].encode() in hook.body
    ]
    assert refund_event["contains"] == ["refund", "payment"]
    assert refund_event["payload"]["refund"]["entity"]["id"] == first["id"]
    assert refund_event["payload"]["payment"]["entity"]["id"] == payment["id"]


async def test_refund_idempotency_header(acct: Account) -> None:
    payment = await paid_payment(acct, 50000)
    headers = {"X-Refund-Idempotency": "refund-key-0001"}
    first = await call(acct.client.payment.refund, payment["id"], {"amount": 5000}, headers=dict(headers))
    again = await call(acct.client.payment.refund, payment["id"], {"amount": 5000}, headers=dict(headers))
    assert again == first
    assert (await call(acct.client.payment.fetch, payment["id"]))["amount_refunded"] == 5000
    other = await call(
        acct.client.payment.refund,
        payment["id"],
        {"amount": 5000},
        headers={"X-Refund-Idempotency": "refund-key-0002"},
    )
    assert other["id"] != first["id"]
    response = await acct.raw(
        "POST",
        f"/v1/payments/{payment['id']}/refund",
        json={"amount": 100},
        headers={"X-Refund-Idempotency": "short"},
    )
    assert_error(response, 400, "X-Refund-Idempotency", "input_validation_failed")


async def test_refund_requires_captured_payment(acct: Account) -> None:
    order = await new_order(acct)
    pay_id = (await pay_card(acct, order))["razorpay_payment_id"]
    with pytest.raises(BadRequestError, match="captured"):
        await call(acct.client.payment.refund, pay_id, {"amount": 100})


@pytest.mark.parametrize(
    ("fault", "final", "event"),
    [("refund_fail", "failed", "refund.failed"), ("refund_pending", "processed", "refund.processed")],
)
async def test_refund_outcome_faults(acct: Account, sandbox: Sandbox, fault: str, final: str, event: str) -> None:
    payment = await paid_payment(acct, 50000)
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "razorpay", "fault": fault, "count": 1})
    refund = await call(acct.client.payment.refund, payment["id"], {"amount": 50000})
    assert refund["status"] == "pending"
    assert (await call(acct.client.payment.fetch, payment["id"]))["status"] == "refunded"
    hooks = await acct.webhooks(5)
    assert Counter(events(hooks)) == Counter(
        ["payment.authorized", "payment.captured", "order.paid", "refund.created", event]
    )
    assert events(hooks)[-1] == event
    assert (await call(acct.client.refund.fetch, refund["id"]))["status"] == final
    after = await call(acct.client.payment.fetch, payment["id"])
    if final == "failed":
        assert (after["status"], after["amount_refunded"], after["refund_status"]) == ("captured", 0, None)
    else:
        assert after["status"] == "refunded"


# ---- transport faults -----------------------------------------------------------------------------


async def add_fault(sandbox: Sandbox, **body: Any) -> dict[str, Any]:
    response = await sandbox.http.post("/_sandbox/faults", json={"gateway": "razorpay", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def orders_with_receipt(acct: Account, receipt: str) -> int:
    return (await call(acct.client.order.all, {"receipt": receipt}))["count"]


async def test_fault_http_500_does_not_process(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="http_500", path_contains="/v1/orders", count=1)
    with pytest.raises(ServerError):
        await call(acct.client.order.create, {"amount": 100, "currency": "INR", "receipt": "f500"})
    assert await orders_with_receipt(acct, "f500") == 0
    await add_fault(sandbox, fault="http_500", count=1)
    response = await acct.raw("GET", "/v1/orders")
    assert response.status_code == 500 and response.json()["error"]["code"] == "SERVER_ERROR"


async def test_fault_http_503_html(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="http_503_html", count=2)
    with pytest.raises(requests.exceptions.RequestException):
        await call(acct.client.order.create, {"amount": 100, "currency": "INR", "receipt": "f503"})
    response = await acct.raw("POST", "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "f503"})
    assert response.status_code == 503 and response.headers["content-type"].startswith("text/html")
    assert await orders_with_receipt(acct, "f503") == 0


@pytest.mark.parametrize("fault", ["garbled", "empty", "drop"])
async def test_faults_that_process_then_break_the_response(acct: Account, sandbox: Sandbox, fault: str) -> None:
    await add_fault(sandbox, fault=fault, path_contains="/v1/orders", count=1)
    with pytest.raises(requests.exceptions.RequestException):
        await call(acct.client.order.create, {"amount": 100, "currency": "INR", "receipt": fault})
    assert await orders_with_receipt(acct, fault) == 1


async def test_fault_garbled_and_empty_bodies(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="garbled", count=1)
    response = await acct.raw("POST", "/v1/orders", json={"amount": 100, "currency": "INR"})
    assert response.status_code == 200 and response.content
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    await add_fault(sandbox, fault="empty", count=1)
    response = await acct.raw("POST", "/v1/orders", json={"amount": 100, "currency": "INR"})
    assert (response.status_code, response.content) == (200, b"")


async def test_fault_drop_mid_response(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="drop", count=1)
    with pytest.raises(httpx.HTTPError):
        await acct.raw("POST", "/v1/orders", json={"amount": 100, "currency": "INR", "receipt": "rawdrop"})
    assert await orders_with_receipt(acct, "rawdrop") == 1


async def test_fault_timeout_processes_then_hangs(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="timeout", path_contains="/v1/orders", count=1)
    with pytest.raises(requests.exceptions.Timeout):
        await call(acct.client.order.create, {"amount": 100, "currency": "INR", "receipt": "slow"}, timeout=0.3)
    assert await orders_with_receipt(acct, "slow") == 1


async def test_fault_latency(acct: Account, sandbox: Sandbox) -> None:
    await add_fault(sandbox, fault="latency", latency_ms=300, count=1)
    started = time.monotonic()
    await call(acct.client.order.all, {})
    assert time.monotonic() - started >= 0.3
    assert (await sandbox.http.get("/_sandbox/faults")).json() == {"faults": []}


async def test_fault_path_filter_count_and_listing(acct: Account, sandbox: Sandbox) -> None:
    payment = await paid_payment(acct)
    fault = await add_fault(sandbox, fault="http_500", path_contains="/v1/payments/", count=2)
    assert fault["count"] == 2 and fault["fault"] == "http_500"
    listed = (await sandbox.http.get("/_sandbox/faults")).json()["faults"]
    assert [f["id"] for f in listed] == [fault["id"]]
    await call(acct.client.order.all, {})
    for _ in range(2):
        with pytest.raises(ServerError):
            await call(acct.client.payment.fetch, payment["id"])
    assert (await call(acct.client.payment.fetch, payment["id"]))["id"] == payment["id"]
    assert (await sandbox.http.get("/_sandbox/faults")).json() == {"faults": []}
    await add_fault(sandbox, fault="http_500")
    assert (await sandbox.http.delete("/_sandbox/faults")).json() == {"cleared": 1}
    bad = await sandbox.http.post("/_sandbox/faults", json={"gateway": "razorpay", "fault": "meteor"})
    assert bad.status_code == 400
    bad = await sandbox.http.post("/_sandbox/faults", json={"gateway": "stripe", "fault": "http_500"})
    assert bad.status_code == 400
    bad = await sandbox.http.post(
        "/_sandbox/faults", json={"gateway": "razorpay", "fault": "http_500", "method": "FETCH"}
    )
    assert bad.status_code == 400


async def test_fault_method_filter_spares_other_methods(acct: Account, sandbox: Sandbox) -> None:
    # A fault on creating orders is not used up by reading them (a status sync lists orders).
    await add_fault(sandbox, fault="http_500", path_contains="/v1/orders", method="POST", count=1)
    assert "items" in await call(acct.client.order.all, {})
    with pytest.raises(ServerError):
        await call(acct.client.order.create, {"amount": 100, "currency": "INR", "receipt": "fpost"})
    assert await orders_with_receipt(acct, "fpost") == 0
    assert (await sandbox.http.get("/_sandbox/faults")).json() == {"faults": []}


# ---- webhook delivery modes -----------------------------------------------------------------------


async def set_mode(sandbox: Sandbox, mode: str) -> None:
    response = await sandbox.http.post("/_sandbox/webhooks", json={"mode": mode})
    assert response.status_code == 200 and response.json()["mode"] == mode


async def test_webhook_duplicate(acct: Account, sandbox: Sandbox) -> None:
    await set_mode(sandbox, "duplicate")
    await pay_card(acct, await new_order(acct))
    hooks = await acct.webhooks(2)
    assert events(hooks) == ["payment.authorized"] * 2
    assert hooks[0].body == hooks[1].body
    assert hooks[0].headers["x-razorpay-event-id"] == hooks[1].headers["x-razorpay-event-id"]
    acct.verify(hooks[1])


async def test_webhook_reverse(acct: Account, sandbox: Sandbox) -> None:
    await set_mode(sandbox, "reverse")
    await pay_card(acct, await new_order(acct, capture=True))
    hooks = await acct.webhooks(3)
    assert events(hooks) == ["order.paid", "payment.captured", "payment.authorized"]


async def test_webhook_tamper(acct: Account, sandbox: Sandbox) -> None:
    await set_mode(sandbox, "tamper")
    await pay_card(acct, await new_order(acct))
    [hook] = await acct.webhooks(1)
    with pytest.raises(SignatureVerificationError):
        acct.verify(hook)
    log = (await sandbox.http.get("/_sandbox/webhooks/log")).json()["entries"]
    assert any(entry["tampered"] and acct.merchant_id in entry["url"] for entry in log)


async def test_webhook_hold_and_flush(acct: Account, sandbox: Sandbox) -> None:
    await set_mode(sandbox, "hold")
    await pay_card(acct, await new_order(acct, capture=True))
    await asyncio.sleep(0.2)
    assert sandbox.receiver.for_path_suffix(acct.merchant_id) == []
    assert (await sandbox.http.get("/_sandbox/webhooks")).json() == {"mode": "hold", "held": 3}
    assert (await sandbox.http.post("/_sandbox/webhooks/flush")).json() == {"flushed": 3}
    hooks = await acct.webhooks(3)
    assert events(hooks) == ["payment.authorized", "payment.captured", "order.paid"]


async def test_webhook_retries_until_2xx_and_log(acct: Account, sandbox: Sandbox) -> None:
    sandbox.receiver.fail_first[acct.merchant_id] = 2
    await pay_card(acct, await new_order(acct))
    hooks = await acct.webhooks(3)
    assert len({hook.headers["x-razorpay-event-id"] for hook in hooks}) == 1
    await asyncio.sleep(0.05)
    log = (await sandbox.http.get("/_sandbox/webhooks/log")).json()["entries"]
    mine = [entry for entry in log if entry["url"].endswith(f"/v1/webhooks/razorpay/{acct.merchant_id}")]
    assert [(e["attempt"], e["status"]) for e in mine] == [(1, 500), (2, 500), (3, 200)]
    assert mine[0]["event"] == "payment.authorized" and mine[0]["gateway"] == "razorpay"
    assert json.loads(mine[0]["body"])["payload"]["payment"]["entity"]["order_id"].startswith("order_")
    assert (await sandbox.http.delete("/_sandbox/webhooks/log")).json()["cleared"] >= 3
    assert (await sandbox.http.get("/_sandbox/webhooks/log")).json() == {"entries": []}


async def test_no_webhook_target_configured_still_answers(sandbox: Sandbox) -> None:
    client = razorpay.Client(auth=("rzp_test_nonotes", KEY_SECRET), base_url=f"{sandbox.base}/razorpay")
    order = await call(client.order.create, {"amount": 100, "currency": "INR"})
    body = payment_body(order, card=card("4111111111111111"))
    assert (await call(client.payment.createPaymentJson, body))["razorpay_payment_id"].startswith("pay_")
    await sandbox.receiver.wait_for("", 1, within=1.0)
    assert any(call.path == "/v1/webhooks/razorpay/" for call in sandbox.receiver.calls)


# ---- settings --------------------------------------------------------------------------------------


async def test_settings_from_env() -> None:
    settings = SandboxSettings.from_env(
        {
            "SANDBOX_PUBLIC_URL": "http://sandbox.local:9000/",
            "SANDBOX_WEBHOOK_URL": "http://engine/{gateway}/{merchant_id}",
            "SANDBOX_UPI_DELAY_S": "0.5",
            "SANDBOX_LATENCY_MS": "25",
            "SANDBOX_HANG_S": "3",
        }
    )
    assert settings.public_url == "http://sandbox.local:9000"
    assert settings.webhook_target("razorpay", "m1") == "http://engine/razorpay/m1"
    assert (settings.upi_delay_s, settings.latency_ms, settings.hang_s) == (0.5, 25, 3.0)
    defaults = SandboxSettings.from_env({})
    assert defaults.public_url == "http://127.0.0.1:8001"
    assert defaults.webhook_target("razorpay", "") == "http://127.0.0.1:8000/v1/webhooks/razorpay/"
    assert (defaults.upi_delay_s, defaults.latency_ms, defaults.hang_s) == (2.0, 0, 30.0)


async def test_configured_latency_applies_to_gateway_routes(webhook_receiver: WebhookReceiver) -> None:
    app = create_app(
        SandboxSettings(latency_ms=200, webhook_url=webhook_receiver.base_url + "/{gateway}/{merchant_id}")
    )
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as http:
        started = time.monotonic()
        response = await http.get("/razorpay/v1/orders", auth=("rzp_test_sandbox", KEY_SECRET))
        assert response.status_code == 200 and time.monotonic() - started >= 0.2
        assert (await http.get("/healthz")).status_code == 200
