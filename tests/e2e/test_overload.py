"""Overload protection over real HTTP: the in-flight cap and the database acquire timeout.

Each test runs an engine of its own with the limit under test set small (tests/support/tuned.py),
and holds requests in flight with the sandbox's latency fault, so "full" is a fact, not a hope.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest_asyncio

from tests.conftest import Stack
from tests.support.stack import Services
from tests.support.tuned import tuned_stack
from tests.support.waiting import until

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
MAX_INFLIGHT = 4


def confirm_body(amount: int, **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": "INR", "confirm": True, "payment_method": CARD, **extra}


async def add_fault(stack: Stack, **fault: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
        response = await sandbox.post("/_sandbox/faults", json=fault)
    assert response.status_code == 201, response.text


@pytest_asyncio.fixture(scope="module")
async def capped(svc: Services) -> AsyncIterator[Stack]:
    """An engine that handles at most MAX_INFLIGHT requests at once."""
    async with tuned_stack(svc, "engine_inflight", max_inflight=MAX_INFLIGHT) as stack:
        yield stack


async def test_a_burst_of_ten_times_max_inflight_sheds_fast_and_admitted_requests_succeed(capped: Stack) -> None:
    _, api_key = await capped.new_merchant()
    # Every charge waits 1.5 s at the gateway: the first MAX_INFLIGHT requests fill the process.
    await add_fault(capped, gateway="razorpay", fault="latency", latency_ms=1500, path_contains="/v1/payments/create")
    burst = 10 * MAX_INFLIGHT
    async with capped.client(api_key) as http, capped.client() as probe:

        async def one(n: int) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            response = await http.post(
                "/v1/payments", json=confirm_body(10000 + n), headers={"Idempotency-Key": f"b{n}"}
            )
            return response, time.monotonic() - started

        tasks = [asyncio.ensure_future(one(n)) for n in range(burst)]
        # The first answer is a shed one (admitted requests take 1.5 s); while the process is
        # full, health, readiness and metrics still answer.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        assert next(iter(done)).result()[0].status_code == 503
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await probe.get(path)).status_code == 200, path
        results = await asyncio.gather(*tasks)
        metrics = (await probe.get("/metrics")).text
    shed = [(r, s) for r, s in results if r.status_code == 503]
    admitted = [(r, s) for r, s in results if r.status_code != 503]
    assert MAX_INFLIGHT <= len(admitted) < burst, [r.status_code for r, _ in results]
    assert len(shed) >= burst - 2 * MAX_INFLIGHT, len(shed)
    for response, seconds in shed:
        assert response.json()["error"]["type"] == "api_error"
        assert response.json()["error"]["code"] == "overloaded"
        assert response.headers["retry-after"] == "1"
        assert response.headers.get("x-request-id", "").startswith("req_")
        assert seconds < 1.0, seconds  # answered at once, not after the 1.5 s the gateway takes
    for response, _ in admitted:
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "succeeded"
    assert "payment_engine_shed_requests_total" in metrics
    # A shed request stored nothing: the same key afterwards is a first request, and succeeds.
    first_shed = next(n for n, (r, _) in enumerate(results) if r.status_code == 503)
    # The sandbox's webhooks for the admitted payments are requests too and can fill the process
    # again just now: retry while shed, as a client honouring Retry-After would. A stored shed
    # answer would come back replayed, at once and every time.
    async with capped.client(api_key) as http:

        async def not_shed() -> httpx.Response | None:
            response = await http.post(
                "/v1/payments", json=confirm_body(10000 + first_shed), headers={"Idempotency-Key": f"b{first_shed}"}
            )
            shed_again = response.status_code == 503 and "idempotent-replayed" not in response.headers
            return None if shed_again else response

        retried = await until(not_shed, within=15.0, every=0.1)
    assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers, retried.text


@pytest_asyncio.fixture(scope="module")
async def starved(svc: Services) -> AsyncIterator[Stack]:
    """An engine with one pooled connection and a 0.5 s acquire timeout."""
    async with tuned_stack(svc, "engine_pool", db_pool_min=1, db_pool_max=1, db_acquire_timeout=0.5) as stack:
        yield stack


async def test_a_starved_pool_answers_503_within_the_acquire_timeout(starved: Stack) -> None:
    _, api_key = await starved.new_merchant()
    async with starved.client(api_key) as http:
        created = await http.post("/v1/payments", json=confirm_body(5000))
        assert created.status_code == 201, created.text
        path = f"/v1/payments/{created.json()['id']}"
        assert (await http.get(path)).status_code == 200  # the key is cached: only the read needs the pool
        async with starved.engine.db.pool.acquire():  # the only connection is taken
            started = time.monotonic()
            busy = await http.get(path)
            elapsed = time.monotonic() - started
        assert busy.status_code == 503, busy.text
        assert busy.json()["error"] == {
            "type": "api_error",
            "code": "service_unavailable",
            "message": busy.json()["error"]["message"],
        }
        assert busy.headers["retry-after"] == "1"
        assert 0.4 <= elapsed < 2.0, elapsed
        assert (await http.get(path)).status_code == 200  # the connection is back: served again


RATE = 3


@pytest_asyncio.fixture(scope="module")
async def limited(svc: Services) -> AsyncIterator[Stack]:
    """An engine that lets each merchant make RATE requests a second."""
    async with tuned_stack(svc, "engine_rate", rate_limit_per_s=float(RATE)) as stack:
        yield stack


async def test_a_merchant_over_its_rate_gets_429_another_is_unaffected_and_nothing_is_stored(limited: Stack) -> None:
    busy_id, busy_key = await limited.new_merchant("Busy Pharmacy")
    _, calm_key = await limited.new_merchant("Calm Pharmacy")
    async with limited.client(busy_key) as busy, limited.client(calm_key) as calm:
        sent = [
            busy.post("/v1/payments", json=confirm_body(7000 + n), headers={"Idempotency-Key": f"r{n}"})
            for n in range(RATE + 1)
        ]
        answers = await asyncio.gather(*sent)
        others = await asyncio.gather(*(calm.post("/v1/payments", json=confirm_body(8000 + n)) for n in range(RATE)))
        refused = [n for n, r in enumerate(answers) if r.status_code == 429]
        assert len(refused) == 1, [r.status_code for r in answers]
        assert all(r.status_code == 201 for n, r in enumerate(answers) if n not in refused)
        assert [r.status_code for r in others] == [201] * RATE, [r.text for r in others]
        no = refused[0]
        error = answers[no].json()["error"]
        assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited"), error
        wait_s = int(answers[no].headers["retry-after"])
        assert wait_s == 1  # the window is one second (no burst set)
        # The refused request stored nothing: no idempotency record, no payment of its amount.
        conn = await asyncpg.connect(limited.engine.settings.database_url)
        try:
            keys = await conn.fetchval(
                "SELECT count(*) FROM idempotency_keys WHERE merchant_id = $1 AND key = $2", busy_id, f"r{no}"
            )
            payments = await conn.fetchval(
                "SELECT count(*) FROM payments WHERE merchant_id = $1 AND amount = $2", busy_id, 7000 + no
            )
        finally:
            await conn.close()
        assert (keys, payments) == (0, 0)
        await asyncio.sleep(wait_s)  # what Retry-After asks for (then the window has moved on)
        retried = await busy.post("/v1/payments", json=confirm_body(7000 + no), headers={"Idempotency-Key": f"r{no}"})
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert retried.json()["status"] == "succeeded" and retried.json()["amount"] == 7000 + no
    async with limited.client() as probe:
        assert "payment_engine_rate_limited_total" in (await probe.get("/metrics")).text


BULKHEAD = 2


@pytest_asyncio.fixture(scope="module")
async def bulkheaded(svc: Services) -> AsyncIterator[Stack]:
    """An engine that sends at most BULKHEAD charges at once to one gateway."""
    async with tuned_stack(svc, "engine_bulkhead", gateway_max_concurrency=BULKHEAD) as stack:
        yield stack


async def gateway_refs(stack: Stack, payment_id: str) -> tuple[list[str], set[str]]:
    """The gateways of a payment's attempts, and every reference the gateways know them by."""
    conn = await asyncpg.connect(stack.engine.settings.database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, gateway, gateway_order_id FROM payment_attempts WHERE payment_id = $1 ORDER BY created_at",
            payment_id,
        )
    finally:
        await conn.close()
    refs = {r["id"] for r in rows} | {r["gateway_order_id"] for r in rows if r["gateway_order_id"]}
    return [r["gateway"] for r in rows], refs


async def ledger(stack: Stack, gateway: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.sandbox_url) as sandbox:
        response = await sandbox.get("/_sandbox/ledger", params={"gateway": gateway})
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


async def test_a_hanging_gateway_fills_only_its_bulkhead(bulkheaded: Stack) -> None:
    _, api_key = await bulkheaded.new_merchant()  # routing order: razorpay first, then paytm
    await add_fault(bulkheaded, gateway="razorpay", fault="latency", latency_ms=2000)
    slots = bulkheaded.engine.bulkheads.in_flight
    async with bulkheaded.client(api_key) as http:
        held = [
            asyncio.ensure_future(
                http.post(
                    "/v1/payments",
                    json=confirm_body(30000 + n, gateway="razorpay"),
                    headers={"Idempotency-Key": f"h{n}"},
                )
            )
            for n in range(BULKHEAD)
        ]
        async with asyncio.timeout(10):
            while slots.get("razorpay", 0) < BULKHEAD:  # noqa: ASYNC110 - the engine's own counter
                await asyncio.sleep(0.01)
        # Routed: razorpay is full, so the payment goes to the next gateway at once.
        routed = await http.post("/v1/payments", json=confirm_body(31000), headers={"Idempotency-Key": "routed"})
        # Another gateway named: unaffected.
        other = await http.post("/v1/payments", json=confirm_body(32000, gateway="paytm"))
        # Razorpay named: nowhere to go, 503 before anything is recorded or sent.
        waiting = await http.post("/v1/payments", json={"amount": 33000, "currency": "INR"})
        confirm_path = f"/v1/payments/{waiting.json()['id']}/confirm"
        confirm = {"payment_method": CARD, "gateway": "razorpay"}
        busy = await http.post(confirm_path, json=confirm, headers={"Idempotency-Key": "busy"})
        create_body = confirm_body(34000, gateway="razorpay")
        busy_create = await http.post("/v1/payments", json=create_body, headers={"Idempotency-Key": "busy-create"})
        assert slots["razorpay"] == BULKHEAD, "the held charges were still in flight throughout"
        held_answers = await asyncio.gather(*held)
        assert slots["razorpay"] == 0 and slots.get("paytm", 0) == 0  # every slot given back
        # The bulkhead has room again: the same key now charges normally (nothing was stored).
        retried = await http.post(confirm_path, json=confirm, headers={"Idempotency-Key": "busy"})
        retried_create = await http.post("/v1/payments", json=create_body, headers={"Idempotency-Key": "busy-create"})

    assert routed.status_code == 201, routed.text
    assert routed.json()["status"] == "succeeded" and routed.json()["gateway"] == "paytm", routed.json()
    assert routed.json()["routing"]["skipped"] == [{"gateway": "razorpay", "reason": "gateway_busy"}]
    assert other.status_code == 201 and other.json()["gateway"] == "paytm", other.text
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"]["code"] == "gateway_busy" and busy.headers["retry-after"] == "1"
    assert [r.status_code for r in held_answers] == [201] * BULKHEAD, [r.text for r in held_answers]
    assert retried.status_code == 200 and retried.json()["status"] == "succeeded", retried.text
    assert "idempotent-replayed" not in retried.headers
    assert busy_create.status_code == 503 and busy_create.json()["error"]["code"] == "gateway_busy", busy_create.text
    assert retried_create.status_code == 201, retried_create.text
    assert retried_create.json()["status"] == "succeeded" and "idempotent-replayed" not in retried_create.headers

    gateways, refs = await gateway_refs(bulkheaded, routed.json()["id"])
    assert gateways == ["paytm"]  # razorpay was skipped before an attempt was recorded
    assert not [e for e in await ledger(bulkheaded, "razorpay") if e["reference"] in refs]
    assert any(e["reference"] in refs for e in await ledger(bulkheaded, "paytm"))
    busy_gateways, _ = await gateway_refs(bulkheaded, waiting.json()["id"])
    assert busy_gateways == ["razorpay"]  # one attempt: the retry's; the refused confirm made none
