"""engine/services/breaker.py over the in-memory Redis: counts, opens, probes, fails open."""

from __future__ import annotations

import pytest

from engine.gateways.base import Outcome
from engine.services.confirm import confirm
from tests.support.fake_connector import captured
from tests.support.fake_engine import add_merchant, fake
from tests.unit.services.helpers import a_payment, confirm_cmd


async def test_declines_never_count_and_unhealthy_answers_open_it(engine):
    breaker = engine.breaker
    breaker.threshold = 3
    for _ in range(5):
        await breaker.record("payu", Outcome.DECLINED)
    assert await breaker.state("payu") == "closed"
    for _ in range(2):
        await breaker.record("payu", Outcome.UNKNOWN)
    assert await breaker.allow("payu")
    await breaker.record("payu", Outcome.RETRYABLE)
    assert await breaker.state("payu") == "open" and not await breaker.allow("payu")


async def test_failures_outside_the_window_are_forgotten(engine):
    engine.breaker.threshold = 2
    await engine.breaker.record("payu", Outcome.UNKNOWN)
    engine.db.clock.advance(engine.breaker.window_s + 1)
    await engine.breaker.record("payu", Outcome.UNKNOWN)
    assert await engine.breaker.state("payu") == "closed"


async def test_a_healthy_answer_from_a_clean_breaker_costs_no_redis_command(engine):
    await engine.breaker.allow("payu")
    sent = list(engine.cache.client.commands)
    await engine.breaker.record("payu", Outcome.CAPTURED)
    assert engine.cache.client.commands == sent


async def test_a_pre_check_never_takes_the_probe(engine):
    engine.breaker.threshold = 1
    await engine.breaker.record("payu", Outcome.UNKNOWN)
    engine.db.clock.advance(engine.breaker.cooldown_s + 1)
    assert await engine.breaker.allow("payu", probe=False)
    assert await engine.breaker.allow("payu")  # the probe
    assert not await engine.breaker.allow("payu")


async def test_with_redis_down_the_breaker_fails_open_and_payments_flow(engine):
    merchant = await add_merchant(engine, "razorpay")
    engine.cache.client.down = True
    assert await engine.breaker.health(["razorpay"]) == {}
    assert await engine.breaker.allow("razorpay")
    await engine.breaker.record("razorpay", Outcome.UNKNOWN)  # ignored, no raise
    assert await engine.breaker.state("razorpay") == "closed"
    p = await a_payment(engine, merchant)
    fake(engine, "razorpay").will("authorize", captured())
    assert (await confirm(engine, merchant, p.id, confirm_cmd(), None)).status == "succeeded"


@pytest.mark.parametrize("gateways", [[], ["a", "b"]])
async def test_health_reads_every_gateway_in_one_round_trip(engine, gateways):
    before = engine.cache.client.commands.count("MGET")
    health = await engine.breaker.health(gateways)
    assert set(health) == set(gateways)
    assert engine.cache.client.commands.count("MGET") - before == (1 if gateways else 0)
