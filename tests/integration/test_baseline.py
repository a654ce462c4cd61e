"""The synchronous baseline (bench/baseline) works: the checkout subset over the engine's schema.

The WSGI app is called in a worker thread (it blocks on PostgreSQL and on the sandbox, which is
served by this test's event loop) against a migrated database and the real sandbox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

pytest.importorskip("falcon")
pytest.importorskip("psycopg_pool")
pytest.importorskip("requests")

from falcon import testing

from bench.baseline.app import create_app
from bench.baseline.serve import create_merchant
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import Services

pytestmark = pytest.mark.integration

CARD = {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED = {**CARD, "number": "4000000000000002"}


class Baseline:
    """A test client for the baseline app, authenticated as its merchant."""

    def __init__(self, client: testing.TestClient, merchant_id: str, api_key: str) -> None:
        self.client, self.merchant_id, self.api_key = client, merchant_id, api_key

    async def call(self, method: str, path: str, body: Any = None, key: str | None = None, api_key: str | None = None):
        headers = {"Authorization": f"Bearer {api_key or self.api_key}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        raw = json.dumps(body).encode() if body is not None else None
        return await asyncio.to_thread(self.client.simulate_request, method, path, headers=headers, body=raw)


@pytest_asyncio.fixture(scope="module")
async def baseline(svc: Services) -> AsyncIterator[Baseline]:
    port = free_port()
    sandbox = create_sandbox(SandboxSettings(public_url=f"http://127.0.0.1:{port}", webhook_url="http://127.0.0.1:9/x"))
    sandbox.state.sandbox.webhooks.emit = lambda batch: None  # nobody listens for them here
    async with serve_asgi(sandbox, port) as sandbox_url:
        made = await asyncio.to_thread(create_merchant, svc.database_url)
        app = create_app({"BASELINE_DATABASE_URL": svc.database_url, "BASELINE_GATEWAY_URL": sandbox_url + "/razorpay"})
        yield Baseline(testing.TestClient(app), made["merchant_id"], made["api_key"])


async def test_checkout_writes_the_engines_rows(baseline: Baseline, svc: Services) -> None:
    created = await baseline.call("POST", "/v1/payments", {"amount": 49900, "currency": "INR"}, key="b-1")
    assert created.status_code == 201, created.text
    payment = created.json
    assert payment["status"] == "requires_payment_method" and payment["id"].startswith("pay_")

    confirmed = await baseline.call(
        "POST", f"/v1/payments/{payment['id']}/confirm", {"payment_method": {"type": "card", "card": CARD}}, key="b-1c"
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json["status"] == "succeeded"
    assert confirmed.json["amount_received"] == 49900
    assert confirmed.json["payment_method"] == {
        "type": "card", "brand": "visa", "last4": "1111", "exp_month": 12, "exp_year": 2030,
    }  # fmt: skip

    read = await baseline.call("GET", f"/v1/payments/{payment['id']}")
    assert read.status_code == 200 and read.json["status"] == "succeeded"

    conn = await asyncpg.connect(svc.database_url)
    try:
        attempt = await conn.fetchrow("SELECT * FROM payment_attempts WHERE payment_id = $1", payment["id"])
        events = await conn.fetch("SELECT type FROM events WHERE object_id = $1 ORDER BY seq", payment["id"])
        keys = await conn.fetch(
            "SELECT key, state, response_status FROM idempotency_keys WHERE merchant_id = $1 ORDER BY key",
            baseline.merchant_id,
        )
    finally:
        await conn.close()
    assert attempt["status"] == "captured" and attempt["gateway"] == "razorpay"
    assert attempt["gateway_order_id"].startswith("order_") and attempt["gateway_reference"].startswith("pay_")
    assert [e["type"] for e in events] == ["payment.created", "payment.processing", "payment.succeeded"]
    assert [(k["key"], k["state"], k["response_status"]) for k in keys] == [("b-1", "done", 201), ("b-1c", "done", 200)]


async def test_idempotency_replay_mismatch_and_state(baseline: Baseline) -> None:
    first = await baseline.call("POST", "/v1/payments", {"amount": 1000, "currency": "INR"}, key="b-2")
    again = await baseline.call("POST", "/v1/payments", {"amount": 1000, "currency": "INR"}, key="b-2")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    other = await baseline.call("POST", "/v1/payments", {"amount": 2000, "currency": "INR"}, key="b-2")
    assert other.status_code == 422 and other.json["error"]["type"] == "idempotency_error"

    payment_id = first.json["id"]
    body = {"payment_method": {"type": "card", "card": CARD}}
    assert (await baseline.call("POST", f"/v1/payments/{payment_id}/confirm", body, key="b-2c")).status_code == 200
    replay = await baseline.call("POST", f"/v1/payments/{payment_id}/confirm", body, key="b-2c")
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    twice = await baseline.call("POST", f"/v1/payments/{payment_id}/confirm", body, key="b-2d")
    assert twice.status_code == 409


async def test_decline_auth_and_validation(baseline: Baseline) -> None:
    created = await baseline.call("POST", "/v1/payments", {"amount": 1000, "currency": "INR"})
    payment_id = created.json["id"]
    declined = await baseline.call(
        "POST", f"/v1/payments/{payment_id}/confirm", {"payment_method": {"type": "card", "card": DECLINED}}
    )
    assert declined.status_code == 402, declined.text
    assert declined.json["error"]["type"] == "card_error" and declined.json["error"]["decline_code"] == "card_declined"
    after = await baseline.call("GET", f"/v1/payments/{payment_id}")
    assert after.json["status"] == "requires_payment_method" and after.json["last_error"]["code"] == "card_declined"

    bad_key = await baseline.call("GET", f"/v1/payments/{payment_id}", api_key="sk_test_nope")
    assert bad_key.status_code == 401
    bad_amount = await baseline.call("POST", "/v1/payments", {"amount": -5, "currency": "INR"})
    assert bad_amount.status_code == 400 and bad_amount.json["error"]["param"] == "amount"
    bad_card = await baseline.call(
        "POST", f"/v1/payments/{payment_id}/confirm",
        {"payment_method": {"type": "card", "card": {**CARD, "number": "4111111111111112"}}},
    )  # fmt: skip
    assert bad_card.status_code == 400
    missing = await baseline.call("GET", "/v1/payments/pay_doesnotexist")
    assert missing.status_code == 404
