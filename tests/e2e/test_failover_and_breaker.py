"""Routing, failover, the circuit breaker and hostile gateway answers, end to end.

The merchant's routing order is razorpay -> paytm -> payu -> juspay. Sandbox faults make a gateway
misbehave: a failure that provably happened before money could move (Razorpay's order step
answering 5xx, PayTM's signed "System Error") is handed to the next gateway as a new attempt; an
answer that proves nothing (garbled, empty, HTML, a timeout, a dropped connection, an unexplained
5xx on the payment step) leaves the attempt ``unknown`` and the payment ``processing`` -- never
failed over, never failed -- until a status sync settles it.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from engine.services.breaker import CircuitBreaker
from tests.e2e.test_gateways_e2e import (
    AMOUNT,
    GATEWAY_ERROR_CARD,
    GATEWAYS,
    NETBANKING,
    RETURN_URL,
    UPI_OK,
    add_fault,
    attempts_of,
    browser,
    card,
    decide,
    event_count,
    get_payment,
    is_engine_callback,
    pay,
    sandbox,
    sandbox_reset,
    successful_attempts,
    wait_refund,
    wait_status,
    webhook_mode,
)

OK_CARD = card("4111111111111111")
# The request that moves money on each gateway (the one after the order / token step).
CHARGE_PATH = {
    "razorpay": "/v1/payments/create/json",
    "paytm": "/theia/api/v1/processTransaction",
    "payu": "/_payment",
    "juspay": "/juspay/txns",
}
# The step before it, where no money can move (PayU has none: ``_payment`` is the only call).
ORDER_PATH = {
    "razorpay": "/v1/orders",
    "paytm": "/theia/api/v1/initiateTransaction",
    "juspay": "/juspay/orders",
}


@pytest_asyncio.fixture(autouse=True)
async def clean_sandbox(stack) -> AsyncIterator[None]:
    async with sandbox_reset(stack):
        yield


class IsolatedBreaker(CircuitBreaker):
    """The engine's breaker, unchanged, with its Redis keys suffixed by a token of this run.

    Test sessions pick their Redis database at random among 15 (tests/support/stack.py), so two
    concurrent sessions can share one; the suffix keeps their ``cb:*`` keys apart.
    """

    def __init__(self, *args, token: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.token = token

    async def health(self, gateways: list[str]) -> dict[str, tuple[bool, int]]:
        seen = await super().health([f"{gateway}@{self.token}" for gateway in gateways])
        return {name.rsplit("@", 1)[0]: state for name, state in seen.items()}

    async def allow(self, gateway: str, *, probe: bool = True, seen: tuple[bool, int] | None = None) -> bool:
        return await super().allow(f"{gateway}@{self.token}", probe=probe, seen=seen)

    async def record(self, gateway, outcome) -> None:  # type: ignore[no-untyped-def]
        await super().record(f"{gateway}@{self.token}", outcome)

    async def state(self, gateway: str) -> str:
        return await super().state(f"{gateway}@{self.token}")


async def wipe_breakers(stack, token: str) -> None:
    redis = stack.engine.cache.client
    keys = [key async for key in redis.scan_iter(f"cb:*@{token}")]
    if keys:
        await redis.delete(*keys)


@pytest_asyncio.fixture
async def breaker(stack) -> AsyncIterator[CircuitBreaker]:
    """A breaker that opens after 2 unhealthy answers for 1 s, swapped into the running engine."""
    original = stack.engine.breaker
    token = secrets.token_hex(6)
    swapped = IsolatedBreaker(stack.engine.cache, threshold=2, window_s=30, cooldown_s=1, token=token)
    stack.engine.breaker = swapped
    try:
        yield swapped
    finally:
        stack.engine.breaker = original
        await wipe_breakers(stack, token)


async def payment_count(stack, merchant) -> int:
    return await stack.engine.pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant.id)


def expect_no_500(response: httpx.Response) -> None:
    assert response.status_code < 500 or response.status_code in (502, 503), response.text
    assert "application/json" in response.headers.get("content-type", ""), response.headers
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] and error["code"] and error["message"], error


# --- failover --------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["http_500", "http_503_html"])
async def test_5xx_before_money_moves_fails_over_to_the_next_gateway(merchant, stack, fault):
    await add_fault(stack, "razorpay", fault, path_contains=ORDER_PATH["razorpay"], method="POST")
    response = await pay(merchant, OK_CARD)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["gateway"] == "paytm", body
    assert body["amount_received"] == AMOUNT
    attempts = await attempts_of(stack, body["id"])
    assert [(a["gateway"], a["status"]) for a in attempts] == [("razorpay", "failed"), ("paytm", "captured")]
    assert attempts[0]["failover_reason"], attempts[0]
    assert attempts[0]["amount_captured"] == 0 and attempts[1]["failover_reason"] is None
    routing = body["routing"]
    assert routing["gateway"] == "paytm" and routing["named"] is False and routing["skipped"] == []
    assert routing["failovers"] == [
        {"from": "razorpay", "to": "paytm", "attempt_id": attempts[0]["id"], "reason": attempts[0]["failover_reason"]}
    ]
    assert len(await successful_attempts(stack, body["id"])) == 1
    assert await event_count(stack, body["id"], "payment.failover") == 1
    assert await event_count(stack, body["id"], "payment.succeeded") == 1
    assert body == await get_payment(merchant, body["id"])


async def test_failover_of_upi_and_redirect_methods_uses_the_next_gateway_end_to_end(merchant, stack):
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST")
    upi = (await pay(merchant, UPI_OK)).json()
    assert upi["status"] == "processing" and upi["gateway"] == "paytm", upi
    assert (await wait_status(merchant, upi["id"], "succeeded"))["status"] == "succeeded"
    redirect = (await pay(merchant, NETBANKING, return_url=RETURN_URL)).json()
    assert redirect["status"] == "requires_action" and redirect["gateway"] == "paytm", redirect
    callback = await decide(redirect["next_action"]["redirect_url"], "approve")
    assert is_engine_callback(callback, stack, "paytm", merchant.id, redirect["id"]), callback
    async with browser() as client:
        final = await client.get(callback)
    assert final.status_code == 303, final.text[:300]
    assert final.headers["location"] == f"{RETURN_URL}?payment_id={redirect['id']}&status=succeeded"
    for payment_id in (upi["id"], redirect["id"]):
        attempts = await attempts_of(stack, payment_id)
        assert [(a["gateway"], a["status"]) for a in attempts] == [("razorpay", "failed"), ("paytm", "captured")]


async def test_a_gateway_error_everywhere_walks_the_whole_order_then_answers_502(merchant, stack):
    response = await pay(merchant, card(GATEWAY_ERROR_CARD))
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "gateway_error" and error["message"]
    payment = await get_payment(merchant, error["payment_id"])
    assert payment["status"] == "requires_payment_method" and payment["amount_received"] == 0
    attempts = await attempts_of(stack, payment["id"])
    assert [(a["gateway"], a["status"]) for a in attempts] == [(g, "failed") for g in GATEWAYS]
    assert all(a["failover_reason"] for a in attempts[:-1]) and attempts[-1]["failover_reason"] is None
    assert [(f["from"], f["to"]) for f in payment["routing"]["failovers"]] == list(itertools.pairwise(GATEWAYS))
    assert payment["last_error"]["decline_code"] is None  # a gateway failure, not a decline


@pytest.mark.parametrize(
    "fault, charged",
    [
        ("http_500", False),  # Razorpay SERVER_ERROR on the payment step: it may have been processed
        ("http_503_html", False),  # an HTML error page proves nothing
        ("garbled", True),
        ("empty", True),
        ("drop", True),
        ("timeout", True),
    ],
)
async def test_an_unknown_outcome_never_fails_over(merchant, stack, fault, charged):
    await webhook_mode(stack, "hold")  # only the sync may settle it
    await add_fault(stack, "razorpay", fault, path_contains=CHARGE_PATH["razorpay"])
    response = await pay(merchant, OK_CARD)
    expect_no_500(response)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing" and body["gateway"] == "razorpay", body
    assert body["last_error"] is None and body["routing"]["failovers"] == []
    assert [(a["gateway"], a["status"]) for a in await attempts_of(stack, body["id"])] == [("razorpay", "unknown")]
    await sandbox(stack, "DELETE", "/_sandbox/faults")
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200, synced.text
    attempts = await attempts_of(stack, body["id"])
    if charged:  # the gateway took the money: the sync finds it, exactly once
        assert synced.json()["status"] == "succeeded" and synced.json()["amount_received"] == AMOUNT
        assert [(a["gateway"], a["status"]) for a in attempts] == [("razorpay", "captured")]
    else:  # nothing was charged, but nothing proves it either: unresolved, never failed
        assert synced.json()["status"] == "processing" and synced.json()["amount_received"] == 0
        assert [(a["gateway"], a["status"]) for a in attempts] == [("razorpay", "unknown")]
    await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    await asyncio.sleep(0.3)
    assert await event_count(stack, body["id"], "payment.succeeded") == (1 if charged else 0)


async def test_routing_order_decides_which_gateway_is_tried_first(merchant, stack):
    updated = await merchant.http.put(
        "/v1/merchant/routing", json={"gateways": ["paytm", "razorpay", "payu", "juspay"]}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["gateways"] == ["paytm", "razorpay", "payu", "juspay"]
    body = (await pay(merchant, OK_CARD)).json()
    assert body["status"] == "succeeded" and body["gateway"] == "paytm", body
    assert body["routing"]["gateway"] == "paytm"
    # Only two enabled: the others are never tried, even on failover.
    updated = await merchant.http.put("/v1/merchant/routing", json={"gateways": ["juspay", "payu"]})
    assert updated.status_code == 200 and updated.json()["gateways"] == ["juspay", "payu"], updated.text
    await add_fault(stack, "juspay", "http_500", path_contains=ORDER_PATH["juspay"], method="POST")
    body = (await pay(merchant, OK_CARD)).json()
    assert body["status"] == "succeeded" and body["gateway"] == "payu", body
    assert [(a["gateway"], a["status"]) for a in await attempts_of(stack, body["id"])] == [
        ("juspay", "failed"),
        ("payu", "captured"),
    ]
    skipped = {s["gateway"]: s["reason"] for s in body["routing"]["skipped"]}
    assert skipped == {"razorpay": "disabled", "paytm": "disabled"}, body["routing"]


# --- circuit breaker -----------------------------------------------------------------------


async def test_breaker_opens_after_failures_skips_the_gateway_then_a_probe_closes_it(merchant, stack, breaker):
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=2)
    for expected_state in ("closed", "open"):
        body = (await pay(merchant, OK_CARD)).json()
        assert body["status"] == "succeeded" and body["gateway"] == "paytm", body
        assert len(body["routing"]["failovers"]) == 1
        assert await breaker.state("razorpay") == expected_state
    # Open: razorpay is not even tried (it would succeed now: the fault is used up).
    body = (await pay(merchant, OK_CARD)).json()
    assert body["status"] == "succeeded" and body["gateway"] == "paytm", body
    assert body["routing"]["skipped"] == [{"gateway": "razorpay", "reason": "circuit_open"}]
    assert body["routing"]["failovers"] == []
    assert [a["gateway"] for a in await attempts_of(stack, body["id"])] == ["paytm"]
    # After the cooldown, one probe goes through; its success closes the breaker.
    await wait_breaker(breaker, "half_open")
    body = (await pay(merchant, OK_CARD)).json()
    assert body["status"] == "succeeded" and body["gateway"] == "razorpay", body
    assert body["routing"]["skipped"] == []
    assert await breaker.state("razorpay") == "closed"
    body = (await pay(merchant, OK_CARD)).json()
    assert body["gateway"] == "razorpay" and body["routing"]["skipped"] == [], body


async def test_a_failed_probe_opens_the_breaker_again(merchant, stack, breaker):
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=3)
    for _ in range(2):
        assert (await pay(merchant, OK_CARD)).json()["gateway"] == "paytm"
    await wait_breaker(breaker, "half_open")
    probe = (await pay(merchant, OK_CARD)).json()
    assert probe["gateway"] == "paytm" and [(f["from"], f["to"]) for f in probe["routing"]["failovers"]] == [
        ("razorpay", "paytm")
    ], probe
    assert await breaker.state("razorpay") == "open"
    body = (await pay(merchant, OK_CARD)).json()
    assert body["routing"]["skipped"] == [{"gateway": "razorpay", "reason": "circuit_open"}], body


async def test_only_one_probe_is_let_through_while_half_open(merchant, stack, breaker):
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=2)
    for _ in range(2):
        await pay(merchant, OK_CARD)
    await wait_breaker(breaker, "half_open")
    await add_fault(
        stack, "razorpay", "latency", path_contains=ORDER_PATH["razorpay"], method="POST", count=1, latency_ms=800
    )
    probe = asyncio.create_task(pay(merchant, OK_CARD))
    await asyncio.sleep(0.3)  # the probe is in flight at razorpay
    other = (await pay(merchant, OK_CARD)).json()
    assert other["gateway"] == "paytm", other
    assert other["routing"]["skipped"] == [{"gateway": "razorpay", "reason": "circuit_open"}]
    probe_body = (await probe).json()
    assert probe_body["status"] == "succeeded" and probe_body["gateway"] == "razorpay", probe_body
    assert await breaker.state("razorpay") == "closed"


async def test_unknown_outcomes_open_the_breaker_without_failing_over(merchant, stack, breaker):
    await webhook_mode(stack, "hold")
    await add_fault(stack, "razorpay", "drop", path_contains=CHARGE_PATH["razorpay"], count=2)
    for _ in range(2):
        body = (await pay(merchant, OK_CARD)).json()
        assert body["status"] == "processing" and body["gateway"] == "razorpay", body
        assert body["routing"]["failovers"] == []
    assert await breaker.state("razorpay") == "open"
    body = (await pay(merchant, OK_CARD)).json()
    assert body["gateway"] == "paytm" and body["routing"]["skipped"] == [
        {"gateway": "razorpay", "reason": "circuit_open"}
    ], body


async def test_every_gateway_open_answers_503_and_writes_nothing(merchant, stack, breaker):
    assert (await merchant.http.put("/v1/merchant/routing", json={"gateways": ["razorpay"]})).status_code == 200
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=2)
    for _ in range(2):
        response = await pay(merchant, OK_CARD)
        assert response.status_code == 502, response.text
    assert await breaker.state("razorpay") == "open"
    before = await payment_count(stack, merchant)
    for gateway in (None, "razorpay"):
        response = await pay(merchant, OK_CARD, gateway)
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["type"] == "gateway_error" and error["code"] == "gateways_unavailable", error
    assert await payment_count(stack, merchant) == before


async def test_a_half_open_probe_is_not_used_up_by_payments_routed_elsewhere(merchant, stack, breaker):
    """Paytm's breaker is half-open while Razorpay (first in order) is healthy: payments that go
    to Razorpay never touch Paytm, so they must not take Paytm's one probe -- the next payment
    that needs Paytm (Razorpay failing before money moved) is let through to it."""
    assert (
        await merchant.http.put("/v1/merchant/routing", json={"gateways": ["paytm", "razorpay"]})
    ).status_code == 200
    await add_fault(stack, "paytm", "http_500", path_contains=ORDER_PATH["paytm"], method="POST", count=2)
    for _ in range(2):
        assert (await pay(merchant, OK_CARD)).json()["gateway"] == "razorpay"
    assert await breaker.state("paytm") == "open"
    assert (
        await merchant.http.put("/v1/merchant/routing", json={"gateways": ["razorpay", "paytm"]})
    ).status_code == 200
    await wait_breaker(breaker, "half_open", gateway="paytm")
    elsewhere = (await pay(merchant, OK_CARD)).json()
    assert elsewhere["gateway"] == "razorpay" and elsewhere["routing"]["failovers"] == [], elsewhere
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=1)
    response = await pay(merchant, OK_CARD)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["gateway"] == "paytm" and body["status"] == "succeeded", body["routing"]
    assert await breaker.state("paytm") == "closed"


async def wait_breaker(breaker: CircuitBreaker, wanted: str, timeout: float = 5.0, gateway: str = "razorpay") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (state := await breaker.state(gateway)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.05)


# --- hostile answers on a named gateway ----------------------------------------------------

PROCESSED = ["garbled", "empty", "drop"]  # the gateway charged, then its answer was unusable
NOT_PROCESSED = ["http_500", "http_503_html"]  # the gateway answered an error without charging
# Which unprocessed 5xx bodies prove that nothing moved (the connector says RETRYABLE): Paytm's
# signed "System Error" (resultStatus F, code 501). Everything else proves nothing: UNKNOWN.
RETRYABLE_CHARGE_5XX = {("paytm", "http_500")}


@pytest.mark.parametrize("fault", PROCESSED + NOT_PROCESSED)
@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_hostile_answers_on_the_charge_keep_the_right_state(merchant, stack, gateway, fault):
    await webhook_mode(stack, "hold")  # only the engine's own status sync may settle it
    await add_fault(stack, gateway, fault, path_contains=CHARGE_PATH[gateway])
    response = await pay(merchant, OK_CARD, gateway)
    expect_no_500(response)
    if (gateway, fault) in RETRYABLE_CHARGE_5XX:
        assert response.status_code == 502, response.text
        assert response.json()["error"]["type"] == "gateway_error"
        payment_id = response.json()["error"]["payment_id"]
        assert (await get_payment(merchant, payment_id))["status"] == "requires_payment_method"
        assert [a["status"] for a in await attempts_of(stack, payment_id)] == ["failed"]
        return
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing" and body["last_error"] is None, body
    assert [(a["gateway"], a["status"]) for a in await attempts_of(stack, body["id"])] == [(gateway, "unknown")]
    await sandbox(stack, "DELETE", "/_sandbox/faults")
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200, synced.text
    statuses = [a["status"] for a in await attempts_of(stack, body["id"])]
    if fault in PROCESSED:
        assert synced.json()["status"] == "succeeded" and synced.json()["amount_received"] == AMOUNT, synced.json()
        assert statuses == ["captured"]
    else:
        assert synced.json()["status"] == "processing" and synced.json()["amount_received"] == 0, synced.json()
        assert statuses == ["unknown"]
    await sandbox(stack, "POST", "/_sandbox/webhooks/flush")
    await asyncio.sleep(0.3)
    final = await get_payment(merchant, body["id"])
    assert final["amount_received"] == (AMOUNT if fault in PROCESSED else 0)
    assert len(await successful_attempts(stack, body["id"])) == (1 if fault in PROCESSED else 0)


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_timeout_on_the_charge_is_unknown_then_sync_finds_the_money(merchant, stack, gateway):
    await webhook_mode(stack, "hold")
    await add_fault(stack, gateway, "timeout", path_contains=CHARGE_PATH[gateway], count=1)
    started = asyncio.get_running_loop().time()
    response = await pay(merchant, OK_CARD, gateway)
    assert asyncio.get_running_loop().time() - started < 5.5  # the read timeout (3 s), not the hang (6 s)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "processing" and body["last_error"] is None, body
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["unknown"]
    synced = await merchant.http.post(f"/v1/payments/{body['id']}/sync")
    assert synced.status_code == 200 and synced.json()["status"] == "succeeded", synced.text
    assert [a["status"] for a in await attempts_of(stack, body["id"])] == ["captured"]


@pytest.mark.parametrize("fault", ["http_500", "http_503_html", "garbled", "empty", "drop"])
@pytest.mark.parametrize("gateway", sorted(ORDER_PATH))
async def test_a_broken_order_step_is_a_clean_502_and_nothing_is_charged(merchant, stack, gateway, fault):
    await add_fault(stack, gateway, fault, path_contains=ORDER_PATH[gateway], method="POST")
    response = await pay(merchant, OK_CARD, gateway)
    expect_no_500(response)
    assert response.status_code == 502, response.text
    error = response.json()["error"]
    assert error["type"] == "gateway_error"
    payment = await get_payment(merchant, error["payment_id"])
    assert payment["status"] == "requires_payment_method" and payment["amount_received"] == 0
    assert [a["status"] for a in await attempts_of(stack, payment["id"])] == ["failed"]


async def test_a_5xx_storm_on_one_gateway_is_absorbed_by_the_others(merchant, stack):
    await add_fault(stack, "razorpay", "http_500")  # every razorpay request, for as long as it lasts
    responses = await asyncio.gather(*(pay(merchant, OK_CARD, amount=AMOUNT + i) for i in range(6)))
    for response in responses:
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "succeeded" and body["gateway"] == "paytm", body
        attempts = await attempts_of(stack, body["id"])
        assert [(a["gateway"], a["status"]) for a in attempts] == [("razorpay", "failed"), ("paytm", "captured")]
    named = await asyncio.gather(*(pay(merchant, OK_CARD, "razorpay") for _ in range(3)))
    for response in named:
        expect_no_500(response)
        assert response.status_code == 502, response.text
        payment_id = response.json()["error"]["payment_id"]
        assert (await get_payment(merchant, payment_id))["amount_received"] == 0


async def test_a_payment_that_failed_over_is_refunded_on_the_gateway_that_took_the_money(merchant, stack):
    await add_fault(stack, "razorpay", "http_500", path_contains=ORDER_PATH["razorpay"], method="POST", count=1)
    body = (await pay(merchant, OK_CARD)).json()
    assert body["gateway"] == "paytm" and body["status"] == "succeeded", body
    refund = await merchant.http.post("/v1/refunds", json={"payment_id": body["id"], "amount": 7000})
    assert refund.status_code == 200, refund.text
    settled = await wait_refund(merchant, refund.json()["id"], "succeeded")
    assert settled["status"] == "succeeded", settled
    attempt_id = await stack.engine.pool.fetchval("SELECT attempt_id FROM refunds WHERE id = $1", settled["id"])
    captured = [a for a in await attempts_of(stack, body["id"]) if a["status"] == "captured"]
    assert [a["id"] for a in captured] == [attempt_id] and captured[0]["gateway"] == "paytm"


async def test_a_lost_capture_answer_is_retried_without_capturing_twice(merchant, stack):
    held = (await pay(merchant, OK_CARD, "razorpay", capture_method="manual")).json()
    assert held["status"] == "requires_capture", held
    await webhook_mode(stack, "hold")  # the capture webhook would settle it first; here the retry must
    await add_fault(stack, "razorpay", "garbled", path_contains="/capture", count=1)
    lost = await merchant.http.post(f"/v1/payments/{held['id']}/capture")
    expect_no_500(lost)
    assert lost.status_code == 502, lost.text  # the gateway did not confirm: retry or sync
    assert lost.json()["error"]["type"] == "gateway_error"
    shown = await get_payment(merchant, held["id"])
    assert shown["status"] == "requires_capture" and shown["amount_received"] == 0, shown
    retried = await merchant.http.post(f"/v1/payments/{held['id']}/capture")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "succeeded" and retried.json()["amount_received"] == AMOUNT
    attempts = await attempts_of(stack, held["id"])
    assert [(a["status"], a["amount_captured"]) for a in attempts] == [("captured", AMOUNT)]
    assert await event_count(stack, held["id"], "payment.succeeded") == 1


async def test_routing_skips_gateways_that_cannot_take_the_currency(merchant, stack):
    order = ["paytm", "payu", "juspay", "razorpay"]
    assert (await merchant.http.put("/v1/merchant/routing", json={"gateways": order})).status_code == 200
    response = await pay(merchant, OK_CARD, currency="USD")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["gateway"] == "razorpay" and body["currency"] == "USD", body
    assert body["routing"]["skipped"] == [{"gateway": g, "reason": "currency_unsupported"} for g in order[:3]]
    for gateway in order[:3]:
        named = await pay(merchant, OK_CARD, gateway, currency="USD")
        assert named.status_code == 400, named.text
        assert named.json()["error"]["type"] == "invalid_request_error"
    assert await payment_count(stack, merchant) == 1
