"""engine/services/routing.py: the merchant's order, skipped gateways and why, open breakers."""

from __future__ import annotations

import pytest

from engine.errors import GatewayFailure, InvalidRequest, ValidationError
from engine.gateways.base import Outcome
from engine.services.routing import get_routing, plan, set_routing
from tests.support.fake_engine import add_merchant


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay", "paytm", "payu")


async def test_candidates_follow_the_merchants_order(engine, merchant):
    routed = await plan(engine, merchant, "INR", "card", None)
    assert [a.gateway for a in routed.candidates] == ["razorpay", "paytm", "payu"]
    assert routed.skipped == () and not routed.named
    assert routed.decision() == {"gateway": "razorpay", "named": False, "skipped": [], "failovers": []}


async def test_unsuitable_gateways_are_skipped_with_their_reason(engine, merchant):
    usd = await plan(engine, merchant, "USD", "card", None)
    assert [a.gateway for a in usd.candidates] == ["razorpay"]
    assert {s["reason"] for s in usd.skipped} == {"currency_unsupported"}
    manual = await plan(engine, merchant, "INR", "card", None, "manual")
    assert [a.gateway for a in manual.candidates] == ["razorpay"]
    assert {s["reason"] for s in manual.skipped} == {"manual_capture_unsupported"}


async def test_a_disabled_gateway_is_skipped(engine, merchant):
    await set_routing(engine, merchant, ["payu", "razorpay"])
    routed = await plan(engine, merchant, "INR", "card", None)
    assert [a.gateway for a in routed.candidates] == ["payu", "razorpay"]
    assert routed.skipped == ({"gateway": "paytm", "reason": "disabled"},)
    assert await get_routing(engine, merchant) == {
        "object": "routing", "gateways": ["payu", "razorpay"], "available": ["paytm", "payu", "razorpay"]}  # fmt: skip


async def test_set_routing_rejects_repeats_and_unconfigured_gateways(engine, merchant):
    for order in (["payu", "payu"], ["juspay"]):
        with pytest.raises(ValidationError):
            await set_routing(engine, merchant, order)
    assert (await get_routing(engine, merchant))["gateways"] == ["razorpay", "paytm", "payu"]


async def test_an_open_breaker_is_skipped_and_all_open_is_a_503(engine, merchant):
    engine.breaker.threshold = 1
    await engine.breaker.record("razorpay", Outcome.UNKNOWN)
    routed = await plan(engine, merchant, "INR", "card", None)
    assert [a.gateway for a in routed.candidates] == ["paytm", "payu"]
    assert {"gateway": "razorpay", "reason": "circuit_open"} in routed.skipped
    for gateway in ("paytm", "payu"):
        await engine.breaker.record(gateway, Outcome.RETRYABLE)
    with pytest.raises(GatewayFailure) as down:
        await plan(engine, merchant, "INR", "card", None)
    assert (down.value.status, down.value.code) == (503, "gateways_unavailable")


async def test_a_healthy_answer_closes_the_breaker(engine, merchant):
    engine.breaker.threshold = 1
    await engine.breaker.record("razorpay", Outcome.RETRYABLE)
    assert await engine.breaker.state("razorpay") == "open"
    await engine.breaker.record("razorpay", Outcome.CAPTURED)
    assert await engine.breaker.state("razorpay") == "closed"
    assert (await plan(engine, merchant, "INR", "card", None)).candidates[0].gateway == "razorpay"


async def test_after_the_cooldown_one_probe_is_let_through(engine, merchant):
    engine.breaker.threshold = 1
    await engine.breaker.record("razorpay", Outcome.UNKNOWN)
    engine.db.clock.advance(engine.breaker.cooldown_s + 1)
    assert await engine.breaker.state("razorpay") == "half_open"
    first = await plan(engine, merchant, "INR", "card", None)
    assert first.candidates[0].gateway == "razorpay"  # the probe
    second = await plan(engine, merchant, "INR", "card", None)
    assert second.candidates[0].gateway == "paytm"  # the probe slot is taken


async def test_no_gateway_for_the_payment_is_a_400(engine, merchant):
    with pytest.raises(InvalidRequest) as none:
        await plan(engine, merchant, "EUR", "upi", None)
    assert none.value.code == "no_gateway_available"
    with pytest.raises(InvalidRequest) as unconfigured:
        await plan(engine, merchant, "INR", "card", "juspay")
    assert unconfigured.value.param == "gateway"


async def test_a_named_gateway_is_the_only_candidate(engine, merchant):
    routed = await plan(engine, merchant, "INR", "card", "payu")
    assert [a.gateway for a in routed.candidates] == ["payu"] and routed.named
