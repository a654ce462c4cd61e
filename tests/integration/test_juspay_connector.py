"""Juspay's own quirks, over real HTTP against the in-process sandbox.

What every connector must do is in ``test_connector_contract.py`` / ``_faults.py``; this keeps what
only Juspay does: customers, the HMAC-signed return URL, refunds under a derived
``unique_request_id`` (idempotent at Juspay, recovered from the order when an answer is lost), and
its event names and ids.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.gateways.base import AttemptRef, ChargeRequest, Outcome, PaymentMethod, RefundOutcome, RefundRequest
from engine.gateways.juspay import builders
from tests.support.gateway_env import GatewayEnv, card, eventually, ref_of, sandbox_env
from tests.support.gateway_env import request as charge

GATEWAY = "juspay"


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[GatewayEnv]:
    async with sandbox_env() as sandbox:
        yield sandbox.bind(GATEWAY)


@pytest.fixture(autouse=True)
async def clean(env: GatewayEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.reset()


def request(method: PaymentMethod, **kw: Any) -> ChargeRequest:
    return charge("jsp", method, **kw)


async def paid(env: GatewayEnv, amount: int = 10000) -> tuple[ChargeRequest, AttemptRef]:
    req = request(card("4111111111111111"), amount=amount)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.CAPTURED
    return req, ref_of(req, res)


async def test_create_customer_is_idempotent(env: GatewayEnv) -> None:
    created = await env.gw.create_customer("cus_jsp_000001", "asha@example.com", "+91 98765 43210", "Asha Rao")
    assert created and created.startswith("cst_")
    again = await env.gw.create_customer("cus_jsp_000001", "asha@example.com", "+91 98765 43210", "Asha Rao")
    assert again == created
    assert await env.gw.create_customer("cus_jsp_000002", None, None, None)  # placeholders where Juspay insists
    assert await env.gw.create_customer("short", None, "9876543210", None) is None  # refused: < 8 characters
    assert await env.dead().create_customer("cus_jsp_000003", None, None, None) is None


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_the_signed_return_url_maps_to_its_outcome(env: GatewayEnv, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.gw.authorize(req)
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    params = dict(parse_qsl(urlsplit(answer.headers["location"]).query, keep_blank_values=True))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.gw.verify_callback(params, ref)
    assert checked is not None
    flipped = {**params, "status": "CHARGED" if decision == "reject" else "AUTHENTICATION_FAILED"}
    assert env.gw.verify_callback(flipped, ref) is None
    assert env.gw.verify_callback({**params, "signature": params["signature"][::-1]}, ref) is None
    if decision == "approve":
        assert checked.outcome is Outcome.CAPTURED
    else:
        assert checked.outcome is Outcome.DECLINED and checked.decline_code == "authentication_failed"


async def test_refunds_go_under_a_derived_unique_request_id(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    first = RefundRequest("re_jsp_first0000000000001", ref, 3000, "INR")
    unique = builders.request_id_for(first.refund_id)
    out = await env.gw.refund(first)
    assert out.outcome is RefundOutcome.PENDING and out.gateway_refund_id == unique
    replay = await env.gw.refund(first)  # idempotent on unique_request_id
    assert replay.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED) and replay.gateway_refund_id == unique
    hooks = await eventually(lambda: [h for h in env.hooks(unique) if b"ORDER_REFUNDED" in h[2]])
    event = env.gw.parse_webhook(hooks[0][1], hooks[0][2])
    assert event.refund is not None and event.refund_reference == unique and event.charge is None


async def test_refund_failure_and_dropped_answer(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    await env.fault("refund_fail", "/refunds")
    failing = RefundRequest("re_jsp_fail00000000000001", ref, 1000, "INR")
    assert (await env.gw.refund(failing)).outcome is RefundOutcome.PENDING

    async def failed() -> bool:
        return (await env.gw.refund_status(failing)).outcome is RefundOutcome.FAILED

    assert await eventually(failed)
    hooks = await eventually(
        lambda: [h for h in env.hooks(builders.request_id_for(failing.refund_id)) if b"FAILED" in h[2]]
    )
    assert hooks and env.gw.parse_webhook(hooks[0][1], hooks[0][2]).refund.outcome is RefundOutcome.FAILED  # type: ignore[union-attr]
    await env.fault("drop", "/refunds")
    dropped = await env.gw.refund(RefundRequest("re_jsp_drop00000000000001", ref, 2000, "INR"))
    assert dropped.outcome is RefundOutcome.PENDING  # the lost answer was recovered from the order


async def test_webhook_events_carry_juspays_names_and_ids(env: GatewayEnv) -> None:
    req, _ = await paid(env)
    hooks = await eventually(lambda: env.hooks(req.attempt_id))
    event = env.gw.parse_webhook(hooks[0][1], hooks[0][2])
    assert event.event_type == "ORDER_SUCCEEDED" and event.event_id.startswith("evt_")
