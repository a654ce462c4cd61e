"""Every gateway x every method and test instrument, end to end through the public API.

Each test names the gateway (``"gateway": "<name>"``) on ``POST /v1/payments``, so routing is
skipped and the named connector speaks its real wire format to the sandbox over HTTP; the
sandbox answers, redirects the "browser" and sends signed webhooks back to the engine.

The helpers at the top are shared by the other issue-3 e2e modules (they import them).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import pytest_asyncio

from engine.gateways import registry
from engine.services.reconciler import reconcile_once, reconcile_refunds_once

GATEWAYS = ["razorpay", "paytm", "payu", "juspay"]
ASYNC_REFUNDS = {"paytm", "payu", "juspay"}  # the sandbox answers these refunds "pending"
AMOUNT = 50000
EXP = {"exp_month": 12, "exp_year": 2030, "cvc": "123"}
RETURN_URL = "https://shop.example/return"

SUCCESS_CARDS = [
    ("4111111111111111", "visa"),
    ("4242424242424242", "visa"),
    ("5555555555554444", "mastercard"),
    ("6521111111111110", "rupay"),
]
DECLINE_CARDS = [
    ("4000000000000002", "card_declined"),
    ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"),
]
THREE_DS = "4000000000003220"
GATEWAY_ERROR_CARD = "4000000000000119"
DROP_CARD = "4000000000000259"
UPI_OK = {"type": "upi", "upi": {"vpa": "success@upi"}}
UPI_FAIL = {"type": "upi", "upi": {"vpa": "failure@upi"}}
NETBANKING = {"type": "netbanking", "netbanking": {"bank_code": "HDFC"}}
WALLET = {"type": "wallet", "wallet": {"provider": "paytm"}}


# --- helpers (imported by the other e2e modules of issue 3) ---------------------------------


def card(number: str) -> dict:
    return {"type": "card", "card": {"number": number, **EXP}}


async def pay(merchant, method: dict, gateway: str | None = None, amount: int = AMOUNT, **extra) -> httpx.Response:
    """``POST /v1/payments`` with ``confirm: true`` (naming ``gateway`` when given)."""
    body = {"amount": amount, "currency": "INR", "confirm": True, "payment_method": method, **extra}
    if gateway is not None:
        body["gateway"] = gateway
    return await merchant.http.post("/v1/payments", json=body)


async def get_payment(merchant, payment_id: str) -> dict:
    response = await merchant.http.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def wait_status(merchant, payment_id: str, wanted: str, timeout: float = 8.0) -> dict:
    """Poll the payment until its status is ``wanted`` (or the timeout passes); returns it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = await get_payment(merchant, payment_id)
        if body["status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


async def wait_refund(merchant, refund_id: str, wanted: str, timeout: float = 8.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await merchant.http.get(f"/v1/refunds/{refund_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.05)


async def attempts_of(stack, payment_id: str) -> list[dict]:
    rows = await stack.engine.pool.fetch(
        "SELECT * FROM payment_attempts WHERE payment_id = $1 ORDER BY created_at, id", payment_id
    )
    return [dict(r) for r in rows]


async def successful_attempts(stack, payment_id: str) -> list[dict]:
    return [a for a in await attempts_of(stack, payment_id) if a["status"] in ("captured", "authorized")]


async def event_count(stack, object_id: str, event_type: str) -> int:
    return await stack.engine.pool.fetchval(
        "SELECT count(*) FROM events WHERE object_id = $1 AND type = $2", object_id, event_type
    )


async def event_types(stack, object_id: str) -> list[str]:
    rows = await stack.engine.pool.fetch("SELECT type FROM events WHERE object_id = $1 ORDER BY seq", object_id)
    return [r["type"] for r in rows]


async def sandbox(stack, method: str, path: str, body: dict | None = None) -> dict:
    """Call the sandbox control API (``/_sandbox/...``)."""
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=10) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def add_fault(
    stack, gateway: str, fault: str, path_contains: str | None = None, count: int | None = None, **extra
) -> dict:
    body = {"gateway": gateway, "fault": fault, **extra}
    if path_contains is not None:
        body["path_contains"] = path_contains
    if count is not None:
        body["count"] = count
    return await sandbox(stack, "POST", "/_sandbox/faults", body)


async def webhook_mode(stack, mode: str) -> dict:
    return await sandbox(stack, "POST", "/_sandbox/webhooks", {"mode": mode})


async def webhook_log(stack) -> list[dict]:
    return (await sandbox(stack, "GET", "/_sandbox/webhooks/log"))["entries"]


@contextlib.asynccontextmanager
async def sandbox_reset(stack) -> AsyncIterator[None]:
    """Leave the shared sandbox as found: no faults, normal webhook delivery, nothing held."""
    await sandbox(stack, "DELETE", "/_sandbox/faults")
    await webhook_mode(stack, "normal")
    try:
        yield
    finally:
        await sandbox(stack, "DELETE", "/_sandbox/faults")
        await webhook_mode(stack, "normal")
        await sandbox(stack, "POST", "/_sandbox/webhooks/flush")


async def make_due(stack, payment_id: str) -> None:
    """Make the payment's open attempts due for the reconciler now (its first check is seconds away)."""
    await stack.engine.pool.execute(
        "UPDATE payment_attempts SET next_sync_at = now() WHERE payment_id = $1 AND next_sync_at IS NOT NULL",
        payment_id,
    )


async def reconcile_until(stack, merchant, payment_id: str, wanted: str, timeout: float = 8.0) -> dict:
    """Run the reconciler (making the attempt due each time) until the payment is ``wanted``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await make_due(stack, payment_id)
        await reconcile_once(stack.engine)
        body = await get_payment(merchant, payment_id)
        if body["status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


def browser() -> httpx.AsyncClient:
    """The customer's browser: follows nothing by itself, so each hop can be checked."""
    return httpx.AsyncClient(follow_redirects=False, timeout=15)


async def decide(redirect_url: str, decision: str) -> str:
    """Approve or reject on the gateway page; returns the engine callback URL it redirects to."""
    async with browser() as client:
        page = await client.get(redirect_url)
        assert page.status_code == 200, (redirect_url, page.status_code, page.text[:300])
        back = await client.get(redirect_url, params={"decision": decision})
    assert back.status_code in (302, 303), (back.status_code, back.text[:300])
    return back.headers["location"]


async def decide_in_a_browser(client: httpx.AsyncClient, redirect_url: str, decision: str) -> httpx.Response:
    """Press the button: POST the decision to the page, then do what a browser does with the
    answer -- follow a redirect, or submit the auto-submitting form (fields and all) by POST.
    Returns the engine's answer to the callback."""
    answer = await client.post(redirect_url, data={"decision": decision})
    if answer.status_code in (302, 303):
        return await client.get(answer.headers["location"])
    assert answer.status_code == 200, (answer.status_code, answer.text[:300])
    form = re.search(r"<form[^>]*action='([^']*)'[^>]*>(.*?)</form>", answer.text, re.S)
    assert form is not None and "method='post'" in form.group(0), answer.text[:500]
    fields = {
        html.unescape(k): html.unescape(v)
        for k, v in re.findall(r"<input type='hidden' name='([^']*)' value='([^']*)'>", form.group(2))
    }
    assert fields, answer.text[:500]
    return await client.post(html.unescape(form.group(1)), data=fields)


def is_engine_callback(url: str, stack, gateway: str, merchant_id: str, payment_id: str) -> bool:
    parts = urlsplit(url)
    return (
        f"{parts.scheme}://{parts.netloc}" == stack.api_url
        and parts.path == f"/v1/callbacks/{gateway}/{merchant_id}/{payment_id}"
    )


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@pytest_asyncio.fixture
async def clean_sandbox(stack) -> AsyncIterator[None]:
    async with sandbox_reset(stack):
        yield


# --- cards ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_success_cards_succeed_on_the_named_gateway(merchant, stack, gateway):
    for number, brand in SUCCESS_CARDS:
        response = await pay(merchant, card(number), gateway)
        assert response.status_code == 201, (number, response.text)
        body = response.json()
        assert body["status"] == "succeeded", (number, body)
        assert body["gateway"] == gateway and body["gateway_reference"]
        assert body["amount_received"] == AMOUNT and body["amount_capturable"] == 0
        assert body["payment_method"] == {
            "type": "card",
            "brand": brand,
            "last4": number[-4:],
            **{k: EXP[k] for k in ("exp_month", "exp_year")},
        }
        assert body["routing"]["gateway"] == gateway and body["routing"]["named"] is True
        assert body["routing"]["failovers"] == []
        assert body["last_error"] is None and body["next_action"] is None
        attempts = await attempts_of(stack, body["id"])
        assert [(a["gateway"], a["status"], a["amount_captured"]) for a in attempts] == [(gateway, "captured", AMOUNT)]
        assert await event_count(stack, body["id"], "payment.succeeded") == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_declines_are_402_with_decline_code_and_the_payment_can_retry(merchant, stack, gateway):
    for number, code in DECLINE_CARDS:
        response = await pay(merchant, card(number), gateway)
        assert response.status_code == 402, (number, response.text)
        error = response.json()["error"]
        assert error["type"] == "card_error" and error["decline_code"] == code, (number, error)
        payment = await get_payment(merchant, error["payment_id"])
        assert payment["status"] == "requires_payment_method" and payment["amount_received"] == 0
        assert payment["last_error"]["decline_code"] == code
        attempts = await attempts_of(stack, payment["id"])
        assert [(a["gateway"], a["status"], a["decline_code"]) for a in attempts] == [(gateway, "failed", code)]
    retry = await merchant.http.post(
        f"/v1/payments/{error['payment_id']}/confirm",
        json={"payment_method": card("4111111111111111"), "gateway": gateway},
    )
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "succeeded" and retry.json()["gateway"] == gateway
    assert retry.json()["last_error"] is None
    assert [a["status"] for a in await attempts_of(stack, error["payment_id"])] == ["failed", "captured"]


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_3ds_approve_returns_through_the_engine_to_the_merchant(merchant, stack, gateway):
    response = await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "requires_action", body
    assert body["next_action"]["type"] == "redirect"
    callback = await decide(body["next_action"]["redirect_url"], "approve")
    assert is_engine_callback(callback, stack, gateway, merchant.id, body["id"]), callback
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, (final.status_code, final.text[:300])
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status=succeeded"
    done = await get_payment(merchant, body["id"])  # settled by the callback itself (status sync)
    assert done["status"] == "succeeded" and done["next_action"] is None
    assert done["amount_received"] == AMOUNT
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]
    await asyncio.sleep(0.3)  # the gateway's webhooks for the same payment must not count it twice
    assert await event_count(stack, body["id"], "payment.succeeded") == 1
    assert (await get_payment(merchant, body["id"]))["amount_received"] == AMOUNT


@pytest.mark.parametrize("decision, status", [("approve", "succeeded"), ("reject", "requires_payment_method")])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_3ds_through_a_browser_form_post(merchant, stack, gateway, decision, status):
    """The customer presses the button (a POST) and the gateway's page posts the signed callback."""
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    async with browser() as client:
        final = await decide_in_a_browser(client, body["next_action"]["redirect_url"], decision)
    assert final.status_code == 303, (final.status_code, final.text[:300])
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status={status}"
    done = await get_payment(merchant, body["id"])
    assert done["status"] == status and done["amount_received"] == (AMOUNT if status == "succeeded" else 0)


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_3ds_reject_returns_the_payment_to_requires_payment_method(merchant, stack, gateway):
    body = (await pay(merchant, card(THREE_DS), gateway)).json()
    assert body["status"] == "requires_action", body
    callback = await decide(body["next_action"]["redirect_url"], "reject")
    assert is_engine_callback(callback, stack, gateway, merchant.id, body["id"]), callback
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 200, (final.status_code, final.text[:300])  # no return_url: the engine's page
    assert "requires_payment_method" in final.text
    done = await wait_status(merchant, body["id"], "requires_payment_method")
    assert done["status"] == "requires_payment_method" and done["last_error"] is not None
    assert done["amount_received"] == 0 and done["next_action"] is None
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["failed"]


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_gateway_error_on_a_named_gateway_is_502_without_failover(merchant, stack, gateway):
    response = await pay(merchant, card(GATEWAY_ERROR_CARD), gateway)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "gateway_error" and error["message"]
    payment = await get_payment(merchant, error["payment_id"])
    assert payment["status"] == "requires_payment_method" and payment["amount_received"] == 0
    assert payment["gateway"] == gateway and payment["routing"]["failovers"] == []
    attempts = await attempts_of(stack, payment["id"])
    assert [(a["gateway"], a["status"]) for a in attempts] == [(gateway, "failed")]
    assert attempts[0]["failover_reason"] is None
    # Nothing moved: the same payment can be paid.
    retry = await merchant.http.post(
        f"/v1/payments/{payment['id']}/confirm", json={"payment_method": card("4111111111111111"), "gateway": gateway}
    )
    assert retry.status_code == 200 and retry.json()["status"] == "succeeded", retry.text


@pytest.mark.parametrize("via", ["sync", "reconciler"])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_charged_then_dropped_is_processing_then_settles_succeeded_once(merchant, stack, gateway, via):
    response = await pay(merchant, card(DROP_CARD), gateway)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing" and body["last_error"] is None, body  # never failed
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["unknown"]
    if via == "sync":
        synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
        assert synced.status_code == 200, synced.text
        done = synced.json()
    else:
        done = await reconcile_until(stack, merchant, body["id"], "succeeded")
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT, done
    attempts = await attempts_of(stack, body["id"])
    assert [(a["status"], a["amount_captured"]) for a in attempts] == [("captured", AMOUNT)]
    assert await event_count(stack, body["id"], "payment.succeeded") == 1


# --- UPI, netbanking, wallets ----------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_upi_collect_is_processing_then_the_signed_webhook_decides(merchant, stack, gateway):
    ok = await pay(merchant, UPI_OK, gateway)
    bad = await pay(merchant, UPI_FAIL, gateway)
    assert ok.status_code == 201 and bad.status_code == 201, (ok.text, bad.text)
    ok, bad = ok.json(), bad.json()
    assert ok["status"] == "processing" and bad["status"] == "processing", (ok, bad)
    assert ok["payment_method"] == {"type": "upi", "vpa": "success@upi"}
    done = await wait_status(merchant, ok["id"], "succeeded")
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT, done
    failed = await wait_status(merchant, bad["id"], "requires_payment_method")
    assert failed["status"] == "requires_payment_method" and failed["last_error"] is not None, failed
    assert failed["amount_received"] == 0
    assert [a["status"] for a in await attempts_of(stack, ok["id"])] == ["captured"]
    assert [a["status"] for a in await attempts_of(stack, bad["id"])] == ["failed"]
    assert await event_count(stack, ok["id"], "payment.succeeded") == 1
    # It was the webhook that decided: the sandbox delivered it and the engine accepted it.
    entries = [e for e in await webhook_log(stack) if e["gateway"] == gateway and e["status"] == 200]
    assert entries, "no webhook was accepted"


@pytest.mark.parametrize("method", [NETBANKING, WALLET], ids=["netbanking", "wallet"])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_redirect_methods_approve_then_succeed(merchant, stack, gateway, method):
    if method is WALLET and gateway != "paytm":
        # Each gateway's own wallets (engine/gateways/catalog.py); Paytm's is Paytm.
        method = {"type": "wallet", "wallet": {"provider": "mobikwik"}}
    response = await pay(merchant, method, gateway, return_url=RETURN_URL)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "requires_action" and body["next_action"]["redirect_url"], body
    callback = await decide(body["next_action"]["redirect_url"], "approve")
    assert is_engine_callback(callback, stack, gateway, merchant.id, body["id"]), callback
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, (final.status_code, final.text[:300])
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status=succeeded"
    done = await get_payment(merchant, body["id"])
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT, done
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]


# --- refunds -------------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_partial_and_multiple_refunds_never_exceed_the_capture(merchant, stack, gateway):
    paid = (await pay(merchant, card("4111111111111111"), gateway)).json()
    assert paid["status"] == "succeeded", paid
    first = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 10000})
    assert first.status_code == 200, first.text
    expected = "pending" if gateway in ASYNC_REFUNDS else "succeeded"
    assert first.json()["status"] == expected, first.json()
    second = await merchant.http.post(
        "/v1/refunds", json={"payment_id": paid["id"], "amount": 15000, "reason": "requested_by_customer"}
    )
    assert second.status_code == 200, second.text
    too_much = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 25001})
    assert too_much.status_code == 400, too_much.text
    assert too_much.json()["error"]["param"] == "amount"
    rest = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"]})
    assert rest.status_code == 200 and rest.json()["amount"] == 25000, rest.text
    payment = await get_payment(merchant, paid["id"])
    assert payment["amount_refunded"] == AMOUNT and payment["status"] == "succeeded"
    again = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 1})
    assert again.status_code == 400, again.text
    for created, amount in ((first, 10000), (second, 15000), (rest, 25000)):
        settled = await wait_refund(merchant, created.json()["id"], "succeeded")
        assert settled["status"] == "succeeded", settled
        assert settled["payment_id"] == paid["id"] and settled["amount"] == amount
        assert settled["currency"] == "INR" and settled["object"] == "refund"
        assert await event_count(stack, settled["id"], "refund.succeeded") == 1
    assert (await get_payment(merchant, paid["id"]))["amount_refunded"] == AMOUNT
    missing = await merchant.http.get("/v1/refunds/re_doesnotexist0000000000")
    assert missing.status_code == 404


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_async_refund_settles_by_status_sync_when_no_webhook_comes(merchant, stack, gateway, clean_sandbox):
    paid = (await pay(merchant, card("4111111111111111"), gateway)).json()
    assert paid["status"] == "succeeded", paid
    await asyncio.sleep(0.2)  # let the payment's own webhooks arrive before holding
    await webhook_mode(stack, "hold")
    if gateway not in ASYNC_REFUNDS:
        await add_fault(stack, gateway, "refund_pending", count=1)
    created = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 20000})
    assert created.status_code == 200, created.text
    refund = created.json()
    assert refund["status"] == "pending", refund
    deadline = asyncio.get_running_loop().time() + 8
    while True:  # the gateway settles it after its delay; only the refund reconciler can learn it
        await stack.engine.pool.execute("UPDATE refunds SET next_sync_at = now() WHERE id = $1", refund["id"])
        await reconcile_refunds_once(stack.engine)
        shown = (await merchant.http.get(f"/v1/refunds/{refund['id']}")).json()
        if shown["status"] != "pending" or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert shown["status"] == "succeeded", shown
    # The held refund webhooks arrive late: nothing changes, nothing is counted twice.
    await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    await webhook_mode(stack, "normal")
    await asyncio.sleep(0.5)
    assert (await merchant.http.get(f"/v1/refunds/{refund['id']}")).json()["status"] == "succeeded"
    assert await event_count(stack, refund["id"], "refund.succeeded") == 1
    assert (await get_payment(merchant, paid["id"]))["amount_refunded"] == 20000


# --- manual capture ------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", [g for g in GATEWAYS if registry.capabilities(g).manual_capture])
async def test_manual_capture_on_a_gateway_that_allows_it(merchant, stack, gateway):
    created = await pay(merchant, card("4111111111111111"), gateway, capture_method="manual")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "requires_capture" and body["amount_capturable"] == AMOUNT, body
    assert body["amount_received"] == 0 and body["gateway"] == gateway
    captured = await merchant.http.post(f"/v1/payments/{body['id']}/capture")
    assert captured.status_code == 200, captured.text
    done = captured.json()
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT and done["amount_capturable"] == 0
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]
    # and an authorization can be voided instead
    held = (await pay(merchant, card("4111111111111111"), gateway, capture_method="manual")).json()
    assert held["status"] == "requires_capture", held
    canceled = await merchant.http.post(f"/v1/payments/{held['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["amount_capturable"] == 0


@pytest.mark.parametrize("gateway", [g for g in GATEWAYS if not registry.capabilities(g).manual_capture])
async def test_manual_capture_on_a_gateway_without_it(merchant, stack, gateway):
    named = await pay(merchant, card("4111111111111111"), gateway, capture_method="manual")
    assert named.status_code == 400, named.text
    assert named.json()["error"]["type"] == "invalid_request_error"
    count = await stack.engine.pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant.id)
    assert count == 0  # rejected before anything was written
    capable = [g for g in GATEWAYS if registry.capabilities(g).manual_capture]
    order = [gateway, *capable, *(g for g in GATEWAYS if g != gateway and g not in capable)]
    assert (await merchant.http.put("/v1/merchant/routing", json={"gateways": order})).status_code == 200
    routed = await pay(merchant, card("4111111111111111"), capture_method="manual")
    assert routed.status_code == 201, routed.text
    body = routed.json()
    assert body["status"] == "requires_capture" and body["gateway"] == capable[0], body
    assert {"gateway": gateway, "reason": "manual_capture_unsupported"} in body["routing"]["skipped"]
    captured = await merchant.http.post(f"/v1/payments/{body['id']}/capture")
    assert captured.status_code == 200 and captured.json()["status"] == "succeeded", captured.text


# --- customers -----------------------------------------------------------------------------


async def test_customers_are_registered_with_juspay(merchant, stack):
    created = await merchant.http.post(
        "/v1/customers", json={"email": "asha@example.com", "phone": "+919876543210", "name": "Asha Rao"}
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["id"].startswith("cus_") and "gateway_refs" not in customer
    refs = await stack.engine.pool.fetchval(
        "SELECT gateway_refs FROM customers WHERE id = $1 AND merchant_id = $2", customer["id"], merchant.id
    )
    refs = refs if isinstance(refs, dict) else json.loads(refs)
    assert set(refs) == {"juspay"} and refs["juspay"].startswith("cst_"), refs
    # Juspay knows it by our id (object_reference_id) too.
    async with httpx.AsyncClient(base_url=stack.sandbox_url, auth=("sandbox_api_key", ""), timeout=10) as juspay:
        remote = await juspay.get(f"/juspay/customers/{customer['id']}", headers={"x-merchantid": "sandbox"})
    assert remote.status_code == 200, remote.text
    assert remote.json()["id"] == refs["juspay"]
    assert remote.json()["object_reference_id"] == customer["id"]
    shown = await merchant.http.get(f"/v1/customers/{customer['id']}")
    assert shown.status_code == 200 and shown.json()["email"] == "asha@example.com"
    # a customer without a phone number is registered too
    bare = (await merchant.http.post("/v1/customers", json={"name": "No Phone"})).json()
    refs = await stack.engine.pool.fetchval("SELECT gateway_refs FROM customers WHERE id = $1", bare["id"])
    refs = refs if isinstance(refs, dict) else json.loads(refs)
    assert refs.get("juspay", "").startswith("cst_"), refs
