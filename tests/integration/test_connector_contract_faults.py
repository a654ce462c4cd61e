"""What every connector of the registry must do when the wire misbehaves, and with webhooks.

The second half of the connector contract (``test_connector_contract.py`` has the flows), over
the sandbox's fault injection: a request that provably never left is ``RETRYABLE``; one that may
have left is ``UNKNOWN`` until a status sync says otherwise; an exception raised before anything
was sent is visible to ``http.counting()`` (the engine's ``ConnectorBug``). Webhooks: genuine
deliveries verify through the core comparer (``common.webhook_verified``), and tampered ones, or
genuine ones checked against another account, do not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from engine.gateways import http, registry
from engine.gateways.base import AttemptRef, ChargeRequest, ChargeResult, Outcome, RefundOutcome, RefundRequest
from engine.gateways.common import webhook_verified
from tests.support.connector_drivers import DRIVERS, Driver
from tests.support.gateway_env import (
    Delivery,
    GatewayEnv,
    SandboxEnv,
    card,
    eventually,
    ref_of,
    refund_id,
    sandbox_env,
    short_client,
)
from tests.support.gateway_env import request as charge

OK_CARD = "4111111111111111"
SETUP_FAULTS = ("http_500", "http_503_html", "garbled", "empty", "timeout")


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[SandboxEnv]:
    async with sandbox_env() as env:
        yield env


@pytest.fixture(params=registry.SUPPORTED_GATEWAYS)
async def gw(request: pytest.FixtureRequest, sandbox: SandboxEnv) -> AsyncIterator[tuple[GatewayEnv, Driver]]:
    yield sandbox.bind(request.param), DRIVERS[request.param]
    await sandbox.reset()


async def paid(env: GatewayEnv, d: Driver, number: str = OK_CARD) -> tuple[ChargeRequest, ChargeResult]:
    req = charge(d.prefix, card(number), amount=10000)
    return req, await env.gw.authorize(req)


class BrokenClient(http.GatewayClient):
    """A client that fails before anything can be sent: a bug inside the connector's call path."""

    def session(self) -> aiohttp.ClientSession | None:
        raise RuntimeError("broken before sending")


# --- transport -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["garbled", "empty", "drop"])
async def test_processed_but_unreadable_is_unknown_then_sync(gw: tuple[GatewayEnv, Driver], fault: str) -> None:
    env, d = gw
    await env.fault(fault, d.payment_path)
    req, res = await paid(env, d)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize("fault", ["http_500", "http_503_html"])
async def test_a_5xx_on_the_payment_call_proves_nothing_was_charged_only_when_signed(
    gw: tuple[GatewayEnv, Driver], fault: str
) -> None:
    env, d = gw
    await env.fault(fault, d.payment_path)
    req, res = await paid(env, d)
    assert res.outcome is (d.http_500 if fault == "http_500" else Outcome.UNKNOWN)
    synced = await env.gw.sync(ref_of(req, res))  # not processed: the gateway has no payment
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


async def test_a_read_timeout_is_unknown_then_sync_captured(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    await env.fault("timeout", d.payment_path)
    req = charge(d.prefix, card(OK_CARD))
    async with short_client() as short:
        res = await env.connector(short).authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.error_code == "transport_ReadTimeout"
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize(
    ("gw", "fault"),
    [(g, f) for g, d in DRIVERS.items() if d.setup_path for f in SETUP_FAULTS if f in d.setup_faults],
    indirect=["gw"],
)
async def test_a_failed_setup_call_is_retryable(gw: tuple[GatewayEnv, Driver], fault: str) -> None:
    env, d = gw
    assert d.setup_path
    await env.fault(fault, d.setup_path)
    async with short_client() as short:
        res = await env.connector(short).authorize(charge(d.prefix, card(OK_CARD)))
    assert res.outcome is Outcome.RETRYABLE


@pytest.mark.parametrize("fault", ["garbled", "empty", "http_503_html", "http_500"])
async def test_an_unreadable_status_is_unknown_and_the_next_sync_tells(
    gw: tuple[GatewayEnv, Driver], fault: str
) -> None:
    env, d = gw
    req, res = await paid(env, d)
    body = {"gateway": d.gateway, "fault": fault, "path_contains": d.status_path, "count": 1}
    if d.status_method:
        body["method"] = d.status_method
    (await env.client.post(env.url + "/_sandbox/faults", json=body)).raise_for_status()
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.UNKNOWN
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


async def test_an_unreachable_gateway_is_retryable_and_nothing_counts_as_sent(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    dead = env.dead()
    ref = AttemptRef("att_x", "ref_x", "attx", 100, "INR")
    with http.counting() as requests:
        assert (await dead.authorize(charge(d.prefix, card(OK_CARD)))).outcome is Outcome.RETRYABLE
        assert (await dead.sync(ref)).outcome is Outcome.UNKNOWN
        assert (await dead.refund(RefundRequest(refund_id(d.prefix), ref, 100, "INR"))).outcome is RefundOutcome.FAILED
    assert requests.sent == 0  # NOT_SENT: provably never left


async def test_refused_credentials_are_retryable_and_unverified_answers_unknown(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    bad = env.connector(credentials=d.wrong_credentials)
    assert (await bad.authorize(charge(d.prefix, card(OK_CARD)))).outcome is Outcome.RETRYABLE
    req, res = await paid(env, d)
    assert (await bad.sync(ref_of(req, res))).outcome is Outcome.UNKNOWN


async def test_an_exception_before_sending_is_counted_as_nothing_sent(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    with http.counting() as requests, pytest.raises(RuntimeError, match="broken before sending"):
        await env.connector(BrokenClient()).authorize(charge(d.prefix, card(OK_CARD)))
    assert requests.sent == 0  # the engine answers ConnectorBug, never an unknown outcome
    with http.counting() as requests:
        assert (await paid(env, d))[1].outcome is Outcome.CAPTURED
    assert requests.sent >= 1


# --- webhooks ------------------------------------------------------------------------------------


async def hooks_of(env: GatewayEnv, needle: str, at_least: int = 1) -> list[Delivery]:
    return await eventually(lambda: found if len(found := env.hooks(needle)) >= at_least else [])


async def test_payment_webhooks_verify_and_parse(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d)

    def captured() -> list[object]:
        events = [env.gw.parse_webhook(h, b) for _, h, b in env.hooks(req.attempt_id)]
        return [e for e in events if e.charge and e.charge.outcome is Outcome.CAPTURED]

    event = (await eventually(captured))[0]
    assert event.attempt_id == req.attempt_id and event.gateway_reference == res.gateway_reference and event.event_id
    hooks = env.hooks(req.attempt_id)
    assert all(path == f"/hooks/{d.gateway}/mer_it" and webhook_verified(env.gw, h, b) for path, h, b in hooks)
    other = env.connector(credentials=d.wrong_credentials)  # another account's secret
    assert not any(webhook_verified(other, h, b) for _, h, b in hooks)


async def test_tampered_webhooks_do_not_verify(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    await env.webhook_mode("tamper")
    req, res = await paid(env, d)
    refund = RefundRequest(refund_id(d.prefix), ref_of(req, res), 100, "INR")
    await env.gw.refund(refund)
    hooks = await hooks_of(env, req.attempt_id) + await hooks_of(env, d.refund_reference(refund.refund_id))
    assert hooks and not any(webhook_verified(env.gw, h, b) for _, h, b in hooks)


async def test_duplicate_webhooks_share_an_event_id(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    await env.webhook_mode("duplicate")
    req, _ = await paid(env, d, "4000000000000002")

    def paired() -> Counter[str] | None:
        counts = Counter(env.gw.parse_webhook(h, b).event_id for _, h, b in env.hooks(req.attempt_id))
        return counts if counts and all(n == 2 for n in counts.values()) else None

    assert await eventually(paired)  # every event twice, both times under one id (the dedupe key)
