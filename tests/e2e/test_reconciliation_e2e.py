"""Reconciliation end to end: unknown and pending attempts (and refunds) settled by asking the
gateway, exactly once, even with several reconcilers racing; an attempt the gateway never
resolves stays unresolved -- never failed -- and the money is still found once it answers.

Webhooks are held in these tests so that only the reconciler can settle anything; they are
released at the end to show the late news changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from engine.bootstrap import Engine
from engine.services.reconciler import reconcile_once, reconcile_refunds_once
from tests.e2e.test_gateways_e2e import (
    AMOUNT,
    DROP_CARD,
    GATEWAYS,
    RETURN_URL,
    THREE_DS,
    UPI_FAIL,
    UPI_OK,
    add_fault,
    attempts_of,
    browser,
    card,
    decide,
    event_count,
    get_payment,
    make_due,
    pay,
    reconcile_until,
    sandbox,
    sandbox_reset,
    wait_refund,
    webhook_mode,
)

OK_CARD = card("4111111111111111")
# The first request each connector's refund makes (Razorpay's also matches its refund status).
REFUND_PATH = {
    "razorpay": "/refund",
    "paytm": "/refund/apply",
    "payu": "/merchant/postservice",
    "juspay": "/refunds",
}


@pytest_asyncio.fixture(autouse=True)
async def clean_sandbox(stack) -> AsyncIterator[None]:
    async with sandbox_reset(stack):
        yield


async def release_webhooks(stack) -> None:
    await webhook_mode(stack, "normal")
    await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    await asyncio.sleep(0.5)


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_charged_then_dropped_ends_succeeded_after_reconciliation(merchant, stack, gateway):
    await webhook_mode(stack, "hold")
    response = await pay(merchant, card(DROP_CARD), gateway)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing" and body["last_error"] is None, body
    [attempt] = await attempts_of(stack, body["id"])
    assert attempt["status"] == "unknown" and attempt["next_sync_at"] is not None  # scheduled, not forgotten
    assert (await get_payment(merchant, body["id"]))["status"] == "processing"
    done = await reconcile_until(stack, merchant, body["id"], "succeeded")
    assert done["status"] == "succeeded" and done["amount_received"] == AMOUNT, done
    [attempt] = await attempts_of(stack, body["id"])
    assert attempt["status"] == "captured" and attempt["amount_captured"] == AMOUNT and attempt["sync_count"] == 1
    await release_webhooks(stack)
    assert (await get_payment(merchant, body["id"]))["amount_received"] == AMOUNT
    assert await event_count(stack, attempt["id"], "attempt.captured") == 1
    assert await event_count(stack, body["id"], "payment.succeeded") == 1


async def test_several_reconcilers_at_once_settle_each_attempt_exactly_once(merchant, stack):
    await webhook_mode(stack, "hold")
    responses = [
        await pay(merchant, card(DROP_CARD), gateway, amount=AMOUNT + i) for i, gateway in enumerate(GATEWAYS * 3)
    ]
    ids = [r.json()["id"] for r in responses]
    synced = set(ids[::3])
    assert all(r.status_code == 201 and r.json()["status"] == "processing" for r in responses)
    await stack.engine.pool.execute("UPDATE payment_attempts SET next_sync_at = now() WHERE payment_id = ANY($1)", ids)
    others = [await Engine.start(stack.engine.settings) for _ in range(3)]
    try:
        engines = [stack.engine, *others]
        await asyncio.gather(
            *(reconcile_once(e, limit=2) for e in engines for _ in range(4)),
            *(merchant.http.post(f"/v1/payments/{pid}/sync") for pid in synced),  # and the API, on demand
        )
    finally:
        for engine in others:
            await engine.close()
    await release_webhooks(stack)
    rows = await stack.engine.pool.fetch(
        "SELECT p.id AS payment_id, p.status, p.amount, p.amount_received, a.id, a.status AS attempt_status, "
        "a.sync_count FROM payments p JOIN payment_attempts a ON a.payment_id = p.id WHERE p.id = ANY($1)",
        ids,
    )
    assert len(rows) == len(ids)  # one attempt each: nothing failed over
    for row in rows:
        assert row["status"] == "succeeded" and row["attempt_status"] == "captured", dict(row)
        assert row["amount_received"] == row["amount"]
        # Claimed by one reconciler exactly once (the on-demand sync may have settled it first).
        assert row["sync_count"] == 1 or (row["payment_id"] in synced and row["sync_count"] == 0), dict(row)
        assert await event_count(stack, row["id"], "attempt.captured") == 1
        assert await event_count(stack, row["payment_id"], "payment.succeeded") == 1


@pytest.mark.parametrize("fault", ["http_500", "http_503_html", "garbled", "empty", "drop"])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_an_attempt_the_gateway_never_resolves_stays_unresolved_not_failed(merchant, stack, gateway, fault):
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, card(DROP_CARD), gateway)).json()
    assert body["status"] == "processing", body
    await add_fault(stack, gateway, fault)  # from now on every answer of this gateway is useless
    for _ in range(10):  # the schedule (0 s, 0 s) is exhausted after three checks
        await make_due(stack, body["id"])
        await reconcile_once(stack.engine, backoff_s=(0.0, 0.0))
        [attempt] = await attempts_of(stack, body["id"])
        if attempt["next_sync_at"] is None:
            break
    assert attempt["status"] == "unknown" and attempt["next_sync_at"] is None, attempt
    assert attempt["sync_count"] >= 3 and attempt["last_synced_at"] is not None
    shown = await get_payment(merchant, body["id"])
    assert shown["status"] == "processing" and shown["last_error"] is None and shown["amount_received"] == 0
    sync = await merchant.http.post(f"/v1/payments/{body['id']}/sync")  # the merchant asks: still unknown
    assert sync.status_code == 200 and sync.json()["status"] == "processing", sync.text
    # The gateway recovers: the money it took is found, once.
    await sandbox(stack, "DELETE", "/_sandbox/faults")
    sync = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert sync.status_code == 200 and sync.json()["status"] == "succeeded", sync.text
    await release_webhooks(stack)
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]
    assert await event_count(stack, body["id"], "payment.succeeded") == 1


@pytest.mark.parametrize(
    "method, final", [(UPI_OK, "succeeded"), (UPI_FAIL, "requires_payment_method")], ids=["upi-success", "upi-failure"]
)
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_pending_attempt_whose_webhook_never_comes_is_settled_by_the_reconciler(
    merchant, stack, gateway, method, final
):
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, method, gateway)).json()
    assert body["status"] == "processing", body
    [attempt] = await attempts_of(stack, body["id"])
    assert attempt["status"] == "processing" and attempt["next_sync_at"] is not None
    done = await reconcile_until(stack, merchant, body["id"], final)
    assert done["status"] == final, done
    assert done["amount_received"] == (AMOUNT if final == "succeeded" else 0)
    await release_webhooks(stack)
    again = await get_payment(merchant, body["id"])
    assert again["status"] == final and again["amount_received"] == done["amount_received"]
    expected = "payment.succeeded" if final == "succeeded" else "payment.payment_failed"
    assert await event_count(stack, body["id"], expected) == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_refund_whose_answer_was_lost_is_settled_once(merchant, stack, gateway):
    paid = (await pay(merchant, OK_CARD, gateway)).json()
    assert paid["status"] == "succeeded", paid
    await asyncio.sleep(0.2)
    await add_fault(stack, gateway, "garbled", path_contains=REFUND_PATH[gateway], count=1)
    response = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 12000})
    assert response.status_code == 200, response.text
    refund = response.json()
    assert refund["status"] in ("pending", "succeeded"), refund  # never failed: the gateway took it
    deadline = asyncio.get_running_loop().time() + 8
    while refund["status"] != "succeeded" and asyncio.get_running_loop().time() < deadline:
        await stack.engine.pool.execute("UPDATE refunds SET next_sync_at = now() WHERE id = $1", refund["id"])
        await reconcile_refunds_once(stack.engine)
        refund = (await merchant.http.get(f"/v1/refunds/{refund['id']}")).json()
        await asyncio.sleep(0.1)
    assert refund["status"] == "succeeded", refund
    await asyncio.sleep(0.5)
    assert (await wait_refund(merchant, refund["id"], "succeeded"))["amount"] == 12000
    assert await event_count(stack, refund["id"], "refund.succeeded") == 1
    payment = await get_payment(merchant, paid["id"])
    assert payment["amount_refunded"] == 12000
    # The rest can still be refunded: the gateway has exactly one refund of 12000 on record.
    rest = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"]})
    assert rest.status_code == 200 and rest.json()["amount"] == AMOUNT - 12000, rest.text
    assert rest.json()["status"] in ("pending", "succeeded"), rest.json()  # the gateway accepted it
    if gateway == "razorpay":
        async with httpx.AsyncClient(base_url=stack.sandbox_url, auth=("rzp_test_sandbox", "sandbox_secret")) as rzp:
            listed = (await rzp.get(f"/razorpay/v1/payments/{paid['gateway_reference']}/refunds")).json()
        assert sorted(item["amount"] for item in listed["items"]) == [12000, AMOUNT - 12000], listed


@pytest.mark.parametrize("via", ["reconciler", "sync"])
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_asking_about_an_attempt_that_waits_for_the_customer_keeps_the_redirect(merchant, stack, gateway, via):
    """The reconciler (after the pending threshold) or a merchant's sync asks about a 3-D Secure
    attempt the customer has not finished: the gateway says "still pending", which is no news --
    the payment stays ``requires_action`` with its redirect, and the customer can still pay."""
    await webhook_mode(stack, "hold")
    body = (await pay(merchant, card(THREE_DS), gateway, return_url=RETURN_URL)).json()
    assert body["status"] == "requires_action", body
    if via == "reconciler":
        await make_due(stack, body["id"])
        assert await reconcile_once(stack.engine) >= 1
    else:
        synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
        assert synced.status_code == 200, synced.text
    shown = await get_payment(merchant, body["id"])
    assert shown["status"] == "requires_action", (shown["status"], shown["next_action"])
    assert shown["next_action"] == body["next_action"]
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["requires_action"]
    callback = await decide(body["next_action"]["redirect_url"], "approve")
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    assert (await get_payment(merchant, body["id"]))["status"] == "succeeded"
