"""Hostile and unlucky inbound traffic: duplicate, out-of-order and tampered webhooks, webhooks
that beat the browser home, and tampered browser callbacks -- on every gateway.

The sandbox's webhook modes (``POST /_sandbox/webhooks``) drive delivery: ``duplicate`` sends
every webhook twice, ``reverse`` sends each batch last-first, ``tamper`` breaks each signature,
``hold`` keeps them until ``flush``. The engine must apply each event once, never move a payment
backwards, answer 4xx to anything it cannot verify, and change nothing when it does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio

from tests.e2e.test_gateways_e2e import (
    AMOUNT,
    GATEWAYS,
    NETBANKING,
    RETURN_URL,
    THREE_DS,
    UPI_FAIL,
    UPI_OK,
    attempts_of,
    browser,
    card,
    decide,
    event_count,
    event_types,
    get_payment,
    pay,
    query_of,
    sandbox,
    sandbox_reset,
    wait_refund,
    wait_status,
    webhook_log,
    webhook_mode,
)

OK_CARD = card("4111111111111111")
# Where each gateway's browser callback carries its signature, and a field the signature covers.
SIGNATURE_PARAM = {"razorpay": "razorpay_signature", "paytm": "CHECKSUMHASH", "payu": "hash", "juspay": "signature"}
SIGNED_FIELD = {
    "razorpay": ("razorpay_payment_id", "pay_Forged00000001"),
    "paytm": ("TXNAMOUNT", "1.00"),
    "payu": ("amount", "1.00"),
    "juspay": ("status", "AUTHENTICATION_FAILED"),
}
# A rejected payment's callback rewritten to claim success (Razorpay's failure callback has no
# status to rewrite: it is unsigned and only ever confirmed by a status sync).
FORGED_SUCCESS = {
    "paytm": {"STATUS": "TXN_SUCCESS", "RESPCODE": "01", "RESPMSG": "Txn Success"},
    "payu": {"status": "success", "unmappedstatus": "captured", "error": "E000"},
    "juspay": {"status": "CHARGED", "status_id": "21"},
}
# The sandbox's published webhook credentials: the test plays the gateway when it replays one.
RAZORPAY_WEBHOOK_SECRET = b"sandbox_webhook_secret"
JUSPAY_WEBHOOK_AUTH = "Basic " + base64.b64encode(b"sandbox:sandbox_webhook_password").decode()


@pytest_asyncio.fixture(autouse=True)
async def clean_sandbox(stack) -> AsyncIterator[None]:
    async with sandbox_reset(stack):
        yield


async def needles_of(stack, payment_id: str) -> list[str]:
    """Identifiers by which a gateway's webhook body names this payment's attempts."""
    found: list[str] = []
    for attempt in await attempts_of(stack, payment_id):
        found += [v for v in (attempt["id"], attempt["gateway_order_id"], attempt["gateway_reference"]) if v]
    return found


async def deliveries(stack, gateway: str, payment_id: str) -> list[dict]:
    needles = await needles_of(stack, payment_id)
    return [e for e in await webhook_log(stack) if e["gateway"] == gateway and any(n in e["body"] for n in needles)]


async def wait_deliveries(stack, gateway: str, payment_id: str, done, timeout: float = 8.0) -> list[dict]:
    """Poll the sandbox's delivery log until ``done(entries)`` holds (or the timeout passes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        entries = await deliveries(stack, gateway, payment_id)
        if done(entries) or asyncio.get_running_loop().time() > deadline:
            return entries
        await asyncio.sleep(0.05)


async def receipts(stack, merchant, gateway: str) -> dict[str, int]:
    rows = await stack.engine.pool.fetch(
        "SELECT event_id, count(*) AS n FROM webhook_receipts WHERE merchant_id = $1 AND gateway = $2 "
        "GROUP BY event_id",
        merchant.id,
        gateway,
    )
    return {r["event_id"]: r["n"] for r in rows}


def payment_status_events(types: list[str]) -> list[str]:
    return [t for t in types if t.startswith("payment.") and t != "payment.failover"]


async def deliver(
    stack, merchant, gateway: str, body: bytes, *, sign: bool = True, event_id: str | None = None
) -> httpx.Response:
    """POST a webhook body to the engine as the gateway would (signature in a header for Razorpay
    and Juspay; Paytm and PayU carry theirs inside the body)."""
    headers = {
        "Content-Type": "application/json" if body.lstrip().startswith(b"{") else "application/x-www-form-urlencoded"
    }
    if sign and gateway == "razorpay":
        headers["X-Razorpay-Signature"] = hmac.new(RAZORPAY_WEBHOOK_SECRET, body, hashlib.sha256).hexdigest()
        if event_id:  # Razorpay names each delivery in a header
            headers["X-Razorpay-Event-Id"] = event_id
    if sign and gateway == "juspay":
        headers["Authorization"] = JUSPAY_WEBHOOK_AUTH
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{stack.api_url}/v1/webhooks/{gateway}/{merchant.id}", content=body, headers=headers)


# --- duplicates ----------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_duplicate_webhooks_are_applied_once(merchant, stack, gateway):
    await webhook_mode(stack, "duplicate")
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert body["status"] == "processing", body
    assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
    # Every event the engine recorded was delivered twice, and both copies were acknowledged.
    deadline = asyncio.get_running_loop().time() + 8
    while True:
        by_event: dict[str, list[int]] = {}
        for entry in await deliveries(stack, gateway, body["id"]):
            by_event.setdefault(entry["event_id"], []).append(entry["status"])
        recorded = await receipts(stack, merchant, gateway)
        settled = len(recorded) == len(by_event) and all(len(v) == 2 for v in by_event.values())
        if (by_event and settled) or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert by_event and all(statuses == [200, 200] for statuses in by_event.values()), by_event
    # One receipt per event (Paytm and PayU send no event id: the engine derives its own).
    assert len(recorded) == len(by_event) and set(recorded.values()) == {1}, (by_event, recorded)
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "succeeded" and payment["amount_received"] == AMOUNT
    assert await event_count(stack, body["id"], "payment.succeeded") == 1
    attempt = (await attempts_of(stack, body["id"]))[0]
    assert attempt["status"] == "captured" and await event_count(stack, attempt["id"], "attempt.captured") == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_duplicate_refund_webhooks_are_applied_once(merchant, stack, gateway):
    paid = (await pay(merchant, OK_CARD, gateway)).json()
    assert paid["status"] == "succeeded", paid
    await asyncio.sleep(0.2)
    await webhook_mode(stack, "duplicate")
    refund = (await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 20000})).json()
    assert (await wait_refund(merchant, refund["id"], "succeeded"))["status"] == "succeeded"
    await asyncio.sleep(0.8)  # the second copies arrive
    assert await event_count(stack, refund["id"], "refund.succeeded") == 1
    payment = await get_payment(merchant, paid["id"])
    assert payment["amount_refunded"] == 20000 and payment["amount_received"] == AMOUNT


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_replayed_webhook_is_acknowledged_and_changes_nothing(merchant, stack, gateway):
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
    entries = await wait_deliveries(stack, gateway, body["id"], lambda es: any(e["status"] == 200 for e in es))
    accepted = [e for e in entries if e["status"] == 200]
    assert accepted, entries
    before = await event_types(stack, body["id"])
    for entry in accepted:
        replay = await deliver(stack, merchant, gateway, entry["body"].encode(), event_id=entry["event_id"])
        assert replay.status_code == 200, replay.text
        assert replay.json() == {"received": True, "duplicate": True}
    assert await event_types(stack, body["id"]) == before
    assert (await get_payment(merchant, body["id"]))["amount_received"] == AMOUNT


# --- out of order ---------------------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_reversed_webhooks_never_move_a_payment_or_refund_backwards(merchant, stack, gateway):
    await webhook_mode(stack, "reverse")
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
    await wait_deliveries(stack, gateway, body["id"], lambda es: es and all(e["status"] == 200 for e in es))
    await asyncio.sleep(0.3)
    refund = (await merchant.http.post("/v1/refunds", json={"payment_id": body["id"], "amount": 5000})).json()
    assert (await wait_refund(merchant, refund["id"], "succeeded"))["status"] == "succeeded"
    await asyncio.sleep(0.5)
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "succeeded" and payment["amount_received"] == AMOUNT
    assert payment["amount_refunded"] == 5000
    statuses = payment_status_events(await event_types(stack, body["id"]))
    assert statuses[-1] == "payment.succeeded" and statuses.count("payment.succeeded") == 1, statuses
    assert (await wait_refund(merchant, refund["id"], "succeeded"))["status"] == "succeeded"
    assert await event_count(stack, refund["id"], "refund.succeeded") == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_late_decline_webhook_never_undoes_a_later_success(merchant, stack, gateway):
    """The first attempt's failure webhook arrives after the second attempt succeeded."""
    await webhook_mode(stack, "hold")
    declined = await pay(merchant, UPI_FAIL, gateway)
    payment_id = declined.json()["id"]
    # UPI failure is decided by the (held) webhook: settle the first attempt by status sync.
    await asyncio.sleep(0.5)
    synced = (await merchant.http.post(f"/v1/payments/{payment_id}/sync")).json()
    assert synced["status"] == "requires_payment_method", synced
    retry = await merchant.http.post(
        f"/v1/payments/{payment_id}/confirm", json={"payment_method": OK_CARD, "gateway": gateway}
    )
    assert retry.status_code == 200 and retry.json()["status"] == "succeeded", retry.text
    flushed = await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    assert flushed["flushed"] >= 2, flushed  # the failure of attempt 1, then the success of attempt 2
    entries = await wait_deliveries(
        stack, gateway, payment_id, lambda es: len(es) >= flushed["flushed"] and all(e["status"] for e in es)
    )
    assert entries and all(e["status"] == 200 for e in entries), entries
    payment = await get_payment(merchant, payment_id)
    assert payment["status"] == "succeeded" and payment["amount_received"] == AMOUNT and payment["last_error"] is None
    assert [a["status"] for a in await attempts_of(stack, payment_id)] == ["failed", "captured"]
    assert await event_count(stack, payment_id, "payment.succeeded") == 1


# --- tampered signatures ---------------------------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_tampered_webhooks_are_rejected_and_the_payment_settles_by_sync(merchant, stack, gateway):
    await webhook_mode(stack, "tamper")
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert body["status"] == "processing", body
    attempts = 3  # the sandbox tries each delivery three times (retry delays 0.2 s, 0.5 s)
    entries = await wait_deliveries(
        stack,
        gateway,
        body["id"],
        lambda es: es and all(sum(1 for x in es if x["event_id"] == e["event_id"]) >= attempts for e in es),
    )
    assert entries, "the sandbox sent no webhook"
    assert all(e["tampered"] and e["status"] is not None and 400 <= e["status"] < 500 for e in entries), entries
    assert not set(await receipts(stack, merchant, gateway)) & {e["event_id"] for e in entries}
    shown = await get_payment(merchant, body["id"])
    assert shown["status"] == "processing" and shown["amount_received"] == 0, shown
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200 and synced.json()["status"] == "succeeded", synced.text
    assert await event_count(stack, body["id"], "payment.succeeded") == 1


def alter(body: bytes) -> bytes:
    """The same webhook claiming another amount."""
    for old, new in ((b"50000", b"50001"), (b"500.00", b"500.01"), (b"500.0", b"500.1")):
        if old in body:
            return body.replace(old, new)
    raise AssertionError(f"no amount in {body[:200]!r}")


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_forged_and_unsigned_webhooks_are_rejected_with_4xx(merchant, stack, gateway):
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
    entries = await wait_deliveries(stack, gateway, body["id"], lambda es: any(e["status"] == 200 for e in es))
    genuine = next(e for e in entries if e["status"] == 200)["body"].encode()
    before = await event_types(stack, body["id"])
    forged: dict[str, httpx.Response] = {
        "no signature": await deliver(stack, merchant, gateway, strip_signature(gateway, genuine), sign=False),
        "garbage body": await deliver(stack, merchant, gateway, b"\x00not a webhook{", sign=True),
    }
    if gateway == "razorpay":  # the signature made for the genuine body, on an altered one
        signature = hmac.new(RAZORPAY_WEBHOOK_SECRET, genuine, hashlib.sha256).hexdigest()
        async with httpx.AsyncClient(timeout=10) as client:
            forged["altered body"] = await client.post(
                f"{stack.api_url}/v1/webhooks/{gateway}/{merchant.id}",
                content=alter(genuine),
                headers={"Content-Type": "application/json", "X-Razorpay-Signature": signature},
            )
    elif gateway == "juspay":  # Basic auth is Juspay's webhook signature; it does not cover the body
        async with httpx.AsyncClient(timeout=10) as client:
            forged["wrong password"] = await client.post(
                f"{stack.api_url}/v1/webhooks/{gateway}/{merchant.id}",
                content=genuine,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": "Basic " + base64.b64encode(b"sandbox:guess").decode(),
                },
            )
    else:  # the signature travels in the body, over the fields: change one of them
        forged["altered body"] = await deliver(stack, merchant, gateway, alter(genuine), sign=False)
    async with httpx.AsyncClient(timeout=10) as client:
        for other in ("mer_doesnotexist000000000000", "x" * 80):
            forged[f"merchant {other[:8]}"] = await client.post(
                f"{stack.api_url}/v1/webhooks/{gateway}/{other}", content=genuine
            )
    forged["unknown gateway"] = await deliver(stack, merchant, "stripe", genuine)
    for name, response in forged.items():
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.json()["error"]["type"] == "invalid_request_error", (name, response.text)
    assert await event_types(stack, body["id"]) == before
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "succeeded" and payment["amount_received"] == AMOUNT


def strip_signature(gateway: str, body: bytes) -> bytes:
    """The body without its in-body signature (Paytm ``CHECKSUMHASH``, PayU ``hash``)."""
    if gateway not in ("paytm", "payu"):
        return body
    key = b"CHECKSUMHASH=" if gateway == "paytm" else b"hash="
    return b"&".join(part for part in body.split(b"&") if not part.startswith(key))


# --- webhooks racing the browser --------------------------------------------------------------


@pytest.mark.parametrize("method", ["3ds", "netbanking"])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_webhook_before_the_browser_callback_ends_the_same(merchant, stack, gateway, method):
    await webhook_mode(stack, "hold")
    instrument = card(THREE_DS) if method == "3ds" else NETBANKING
    body = (await pay(merchant, instrument, gateway, return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    callback = await decide(body["next_action"]["redirect_url"], "approve")  # the browser is slow
    flushed = await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    assert flushed["flushed"] >= 1, flushed
    done = await wait_status(merchant, body["id"], "succeeded")  # the webhook got there first
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT, done
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status=succeeded"
    await asyncio.sleep(0.2)
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "succeeded" and payment["amount_received"] == AMOUNT
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]
    assert await event_count(stack, body["id"], "payment.succeeded") == 1


# --- tampered browser callbacks ----------------------------------------------------------------


def with_params(url: str, params: dict[str, str]) -> str:
    return urlsplit(url)._replace(query=urlencode(params)).geturl()


def flip(value: str) -> str:
    return ("A" if value[:1] != "A" else "B") + value[1:]


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_tampered_browser_callbacks_are_400_and_change_nothing(merchant, stack, gateway):
    await webhook_mode(stack, "hold")  # only the callback could settle it
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    callback = await decide(body["next_action"]["redirect_url"], "approve")
    genuine = query_of(callback)
    signature = SIGNATURE_PARAM[gateway]
    field, forged_value = SIGNED_FIELD[gateway]
    assert signature in genuine and field in genuine, genuine
    variants = {
        "signature altered": {**genuine, signature: flip(genuine[signature])},
        "signature missing": {k: v for k, v in genuine.items() if k != signature},
        f"{field} altered": {**genuine, field: forged_value},
        "nothing at all": {},
    }
    before_events = await event_types(stack, body["id"])
    before_attempts = await attempts_of(stack, body["id"])
    async with browser() as client:
        for name, params in variants.items():
            for method in ("GET", "POST"):
                if method == "GET":
                    response = await client.get(with_params(callback, params))
                else:
                    response = await client.post(with_params(callback, {}), data=params)
                assert response.status_code == 400, (name, method, response.status_code, response.text[:300])
                error = response.json()["error"]
                assert error["type"] == "invalid_request_error", (name, error)
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "requires_action" and payment["amount_received"] == 0, payment
    assert await event_types(stack, body["id"]) == before_events
    assert await attempts_of(stack, body["id"]) == before_attempts
    # The genuine callback still works afterwards.
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    assert (await get_payment(merchant, body["id"]))["status"] == "succeeded"


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_callback_signed_for_another_payment_is_refused(merchant, stack, gateway):
    await webhook_mode(stack, "hold")
    first = (await pay(merchant, card(THREE_DS), gateway)).json()
    second = (await pay(merchant, card(THREE_DS), gateway)).json()
    callback_first = await decide(first["next_action"]["redirect_url"], "approve")
    target = callback_first.replace(first["id"], second["id"])
    async with browser() as client:
        response = await client.get(target)
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert (await get_payment(merchant, second["id"]))["status"] == "requires_action"
    assert [a["status"] for a in await attempts_of(stack, second["id"])] == ["requires_action"]


@pytest.mark.parametrize("gateway", sorted(FORGED_SUCCESS))
async def test_a_rejected_payment_cannot_be_turned_into_a_success_by_editing_its_callback(merchant, stack, gateway):
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    callback = await decide(body["next_action"]["redirect_url"], "reject")
    forged = {**query_of(callback), **FORGED_SUCCESS[gateway]}
    async with browser() as client:
        response = await client.get(with_params(callback, forged))
    assert response.status_code == 400, (response.status_code, response.text[:300])
    payment = await get_payment(merchant, body["id"])
    assert payment["status"] == "requires_action" and payment["amount_received"] == 0, payment
    async with browser() as client:  # the genuine (failure) callback settles it as failed
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status=requires_payment_method"


# --- webhooks racing the merchant's own calls ----------------------------------------------------


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_refunds_racing_the_payments_webhooks_never_fail(merchant, stack, gateway):
    """A refund made the moment a payment succeeds meets that payment's webhooks in the database:
    both lock the payment and its attempt; neither may fail (deadlock) or count twice."""
    await webhook_mode(stack, "hold")
    paid = [(await pay(merchant, OK_CARD, gateway, amount=AMOUNT + i)).json() for i in range(8)]
    assert all(p["status"] == "succeeded" for p in paid), paid
    await webhook_mode(stack, "duplicate")
    flush = asyncio.create_task(sandbox(stack, "POST", "/_sandbox/webhooks/flush"))
    refunds = await asyncio.gather(
        *(merchant.http.post("/v1/refunds", json={"payment_id": p["id"], "amount": 1000}) for p in paid)
    )
    await flush
    for response in refunds:
        assert response.status_code == 200, response.text
    await asyncio.sleep(0.5)
    for p in paid:
        payment = await get_payment(merchant, p["id"])
        assert payment["status"] == "succeeded" and payment["amount_received"] == p["amount"]
        assert payment["amount_refunded"] == 1000
        assert await event_count(stack, p["id"], "payment.succeeded") == 1
    rejected = [e for p in paid for e in await deliveries(stack, gateway, p["id"]) if e["status"] != 200]
    assert not rejected, rejected  # no webhook was refused (a deadlock answers 500 and is retried)


# Each gateway's status API, used by the engine to confirm a browser callback.
STATUS_PATH = {
    "razorpay": "/v1/payments/pay_",
    "paytm": "/v3/order/status",
    "payu": "/merchant/postservice",
    "juspay": "/juspay/orders/",
}
# What a verified callback alone proves when the status API cannot answer: Paytm, PayU and
# Juspay sign the outcome; Razorpay's callback only proves a payment id (confirm by sync).
# Razorpay's signed callback proves nothing by itself (confirm by sync); while its status API is
# down, "could not tell" is no news for the acknowledged attempt: it stays requires_action.
CALLBACK_ALONE = {"razorpay": "requires_action", "paytm": "succeeded", "payu": "succeeded", "juspay": "succeeded"}


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_callback_while_the_status_api_is_down(merchant, stack, gateway):
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    callback = await decide(body["next_action"]["redirect_url"], "approve")
    await add_fault_http_500(stack, gateway)
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, (final.status_code, final.text[:300])
    expected = CALLBACK_ALONE[gateway]
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={body['id']}&status={expected}"
    assert (await get_payment(merchant, body["id"]))["status"] == expected
    await sandbox(stack, "DELETE", "/_sandbox/faults")
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200 and synced.json()["status"] == "succeeded", synced.text
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]
    assert synced.json()["amount_received"] == AMOUNT


async def add_fault_http_500(stack, gateway: str) -> None:
    await sandbox(
        stack,
        "POST",
        "/_sandbox/faults",
        {"gateway": gateway, "fault": "http_500", "path_contains": STATUS_PATH[gateway]},
    )


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_cancel_racing_the_customers_approval_never_strands_the_money(merchant, stack, gateway):
    """The merchant cancels while the customer is on the gateway's page; the customer approves
    anyway and the gateway charges. The charge must not vanish behind a ``canceled`` payment: the
    cancel is refused, or the money shows as received and can be refunded (or is given back)."""
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    cancel = await merchant.http.post(f"/v1/payments/{body['id']}/cancel")
    assert cancel.status_code in (200, 409), cancel.text
    callback = await decide(body["next_action"]["redirect_url"], "approve")  # the gateway charges
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    await asyncio.sleep(0.3)  # and its webhooks arrive
    payment = await get_payment(merchant, body["id"])
    captured = [a for a in await attempts_of(stack, body["id"]) if a["status"] == "captured"]
    kept = payment["amount_received"] - payment["amount_refunded"]
    if captured and kept > 0:  # the customer paid: the merchant must see it and be able to give it back
        refund = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"]})
        assert payment["status"] != "canceled" and refund.status_code == 200, (
            payment["status"],
            payment["amount_received"],
            refund.text,
        )
    else:
        assert payment["status"] in ("canceled", "requires_payment_method") and kept == 0, payment


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_webhook_sent_to_another_merchant_changes_nothing_there_or_here(merchant, stack, gateway):
    body = (await pay(merchant, UPI_OK, gateway)).json()
    assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
    entries = await wait_deliveries(stack, gateway, body["id"], lambda es: any(e["status"] == 200 for e in es))
    genuine = next(e for e in entries if e["status"] == 200)
    other_id, other_key = await stack.new_merchant("Another Shop")
    before = await event_types(stack, body["id"])

    class Other:
        id = other_id

    response = await deliver(stack, Other, gateway, genuine["body"].encode(), event_id=genuine["event_id"] + "x")
    assert response.status_code < 500, response.text
    async with stack.client(other_key) as other:
        assert (await other.get("/v1/payments")).json()["data"] == []
        assert (await other.get(f"/v1/payments/{body['id']}")).status_code == 404
    assert await event_types(stack, body["id"]) == before
    count = await stack.engine.pool.fetchval("SELECT count(*) FROM events WHERE merchant_id = $1", other_id)
    assert count == 0


async def test_a_forged_razorpay_failure_callback_changes_nothing(merchant, stack):
    """Razorpay does not sign its failure callback, so anyone can send one: the engine may only
    ask Razorpay, which says the payment still waits for the customer -- nothing changes."""
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, card(THREE_DS), "razorpay", return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    forged = {
        "error[code]": "BAD_REQUEST_ERROR",
        "error[description]": "Payment failed",
        "error[source]": "customer",
        "error[step]": "payment_authentication",
        "error[reason]": "payment_failed",
        "error[metadata]": json.dumps({"payment_id": body["gateway_reference"]}),
    }
    url = f"{stack.api_url}/v1/callbacks/razorpay/{merchant.id}/{body['id']}?{urlencode(forged)}"
    async with browser() as client:
        response = await client.get(url)
    assert response.status_code in (303, 400), (response.status_code, response.text[:300])
    shown = await get_payment(merchant, body["id"])
    assert shown["status"] == "requires_action" and shown["next_action"] == body["next_action"], (
        shown["status"],
        shown["next_action"],
    )
