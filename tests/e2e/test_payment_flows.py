"""Payments end to end over HTTP: engine -> sandbox (Razorpay wire) -> webhooks -> engine."""

from __future__ import annotations

import asyncio

import httpx

EXP = {"exp_month": 12, "exp_year": 2030, "cvc": "123"}


def card(number: str) -> dict:
    return {"type": "card", "card": {"number": number, **EXP}}


async def pay(merchant, method: dict, **extra) -> httpx.Response:
    body = {"amount": 50000, "currency": "INR", "confirm": True, "payment_method": method, **extra}
    return await merchant.http.post("/v1/payments", json=body)


async def wait_status(merchant, payment_id: str, wanted: str, timeout: float = 8.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await merchant.http.get(f"/v1/payments/{payment_id}")).json()
        if body["status"] == wanted or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


async def test_success_cards_succeed(merchant):
    for number, brand in [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("6521111111111110", "rupay"),
    ]:
        response = await pay(merchant, card(number))
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "succeeded"
        assert body["payment_method"]["brand"] == brand
        assert body["gateway"] == "razorpay" and body["gateway_reference"].startswith("pay_")


async def test_declines_answer_402_with_decline_code_and_payment_can_retry(merchant):
    for number, code in [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "expired_card"),
    ]:
        response = await pay(merchant, card(number))
        assert response.status_code == 402, response.text
        error = response.json()["error"]
        assert error["type"] == "card_error" and error["decline_code"] == code
        payment = (await merchant.http.get(f"/v1/payments/{error['payment_id']}")).json()
        assert payment["status"] == "requires_payment_method"
        assert payment["last_error"]["decline_code"] == code
    retry = await merchant.http.post(
        f"/v1/payments/{error['payment_id']}/confirm", json={"payment_method": card("4111111111111111")}
    )
    assert retry.status_code == 200 and retry.json()["status"] == "succeeded"


async def test_gateway_5xx_before_money_is_502_and_nothing_charged(merchant):
    response = await pay(merchant, card("4000000000000119"))
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "gateway_error"
    payment = (await merchant.http.get(f"/v1/payments/{error['payment_id']}")).json()
    assert payment["status"] == "requires_payment_method" and payment["amount_received"] == 0


async def test_dropped_connection_is_unknown_then_sync_settles_succeeded(merchant, stack):
    response = await pay(merchant, card("4000000000000259"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing"  # never failed: the gateway may have charged
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200, synced.text
    assert synced.json()["status"] == "succeeded" and synced.json()["amount_received"] == 50000
    rows = await stack.engine.pool.fetch("SELECT status FROM payment_attempts WHERE payment_id = $1", body["id"])
    assert [r["status"] for r in rows] == ["captured"]


async def test_3ds_redirect_then_approve_returns_to_merchant(merchant):
    response = await pay(merchant, card("4000000000003220"), return_url="https://shop.example/return")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "requires_action"
    url = body["next_action"]["redirect_url"]
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        page = await browser.get(url)
        assert page.status_code == 200 and "Approve" in page.text
        back = await browser.get(url, params={"decision": "approve"})
        assert back.status_code in (302, 303)
        final = await browser.get(back.headers["location"])
        assert final.status_code == 303
        assert final.headers["location"].startswith("https://shop.example/return?payment_id=")
    done = await wait_status(merchant, body["id"], "succeeded")
    assert done["status"] == "succeeded" and done["next_action"] is None


async def test_3ds_reject_fails_the_payment(merchant):
    body = (await pay(merchant, card("4000000000003220"))).json()
    url = body["next_action"]["redirect_url"]
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
        back = await browser.get(url, params={"decision": "reject"})
        final = await browser.get(back.headers["location"])
        assert final.status_code == 200
    done = await wait_status(merchant, body["id"], "requires_payment_method")
    assert done["status"] == "requires_payment_method" and done["last_error"] is not None


async def test_upi_collect_is_processing_then_webhook_decides(merchant):
    ok = (await pay(merchant, {"type": "upi", "upi": {"vpa": "success@upi"}})).json()
    bad = (await pay(merchant, {"type": "upi", "upi": {"vpa": "failure@upi"}})).json()
    assert ok["status"] == "processing" and bad["status"] == "processing"
    assert (await wait_status(merchant, ok["id"], "succeeded"))["status"] == "succeeded"
    assert (await wait_status(merchant, bad["id"], "requires_payment_method"))["status"] == "requires_payment_method"


async def test_manual_capture_then_partial_and_multiple_refunds(merchant):
    created = await pay(merchant, card("4111111111111111"), capture_method="manual")
    body = created.json()
    assert body["status"] == "requires_capture" and body["amount_capturable"] == 50000
    partial = await merchant.http.post(f"/v1/payments/{body['id']}/capture", json={"amount": 30000})
    assert partial.status_code == 400, partial.text  # Razorpay captures only the full amount
    assert partial.json()["error"]["code"] == "partial_capture_unsupported"
    assert partial.json()["error"]["param"] == "amount"
    captured = await merchant.http.post(f"/v1/payments/{body['id']}/capture", json={"amount": 50000})
    assert captured.status_code == 200, captured.text
    assert captured.json()["status"] == "succeeded" and captured.json()["amount_received"] == 50000
    r1 = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"], "amount": 10000})
    assert r1.status_code == 200, r1.text
    assert r1.json()["status"] == "succeeded"
    too_much = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"], "amount": 40001})
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount"
    r2 = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"]})
    assert r2.status_code == 200 and r2.json()["amount"] == 40000
    payment = (await merchant.http.get(f"/v1/payments/{body['id']}")).json()
    assert payment["amount_refunded"] == 50000
    again = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"], "amount": 1})
    assert again.status_code == 400


async def test_cancel_authorized_payment(merchant):
    body = (await pay(merchant, card("4111111111111111"), capture_method="manual")).json()
    canceled = await merchant.http.post(f"/v1/payments/{body['id']}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["amount_capturable"] == 0
    capture = await merchant.http.post(f"/v1/payments/{body['id']}/capture")
    assert capture.status_code == 409


async def test_netbanking_and_wallet_redirect(merchant):
    for method in (
        {"type": "netbanking", "netbanking": {"bank_code": "HDFC"}},
        {"type": "wallet", "wallet": {"provider": "paytm"}},
    ):
        body = (await pay(merchant, method)).json()
        assert body["status"] == "requires_action", body
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:
            final = await browser.get(body["next_action"]["redirect_url"], params={"decision": "approve"})
            assert final.status_code == 200
        assert (await wait_status(merchant, body["id"], "succeeded"))["status"] == "succeeded"
