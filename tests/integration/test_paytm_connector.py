"""Paytm's own quirks, over real HTTP against the in-process sandbox.

What every connector must do is in ``test_connector_contract.py`` / ``_faults.py``; this keeps what
only Paytm does: a callback whose every field is signed (so it maps to its outcome), refunds that
reject a repeated ``refId`` (reported as the first refund), asynchronous refund failures, and
refunds that need Paytm's TXNID (learnt from the status API when unknown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.gateways.base import AttemptRef, ChargeRequest, Outcome, PaymentMethod, RefundOutcome, RefundRequest
from tests.support.gateway_env import GatewayEnv, card, eventually, ref_of, sandbox_env
from tests.support.gateway_env import request as charge

GATEWAY = "paytm"


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[GatewayEnv]:
    async with sandbox_env() as sandbox:
        yield sandbox.bind(GATEWAY)


@pytest.fixture(autouse=True)
async def clean(env: GatewayEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.reset()


def request(method: PaymentMethod, **kw: Any) -> ChargeRequest:
    return charge("ptm", method, **kw)


async def paid(env: GatewayEnv, amount: int = 10000) -> tuple[ChargeRequest, AttemptRef]:
    req = request(card("4111111111111111"), amount=amount)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.CAPTURED
    return req, ref_of(req, res)


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_the_signed_callback_maps_to_its_outcome_and_resists_tampering(env: GatewayEnv, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.gw.authorize(req)
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    params = dict(parse_qsl(urlsplit(answer.headers["location"]).query, keep_blank_values=True))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.gw.verify_callback(params, ref)
    assert checked is not None
    tampered = {**params, "STATUS": "TXN_SUCCESS" if decision == "reject" else "TXN_FAILURE"}
    assert env.gw.verify_callback(tampered, ref) is None
    assert env.gw.verify_callback({**params, "CHECKSUMHASH": params["CHECKSUMHASH"][::-1]}, ref) is None
    synced = await env.gw.sync(ref)
    if decision == "approve":
        assert checked.outcome is Outcome.CAPTURED and checked.gateway_reference == synced.gateway_reference
    else:
        assert checked.outcome is Outcome.DECLINED and checked.decline_code == "customer_canceled"


async def test_a_repeated_refund_id_is_reported_as_the_first_refund(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    first = RefundRequest("re_ptm_first01", ref, 3000, "INR")
    out = await env.gw.refund(first)
    assert out.outcome is RefundOutcome.PENDING and out.gateway_refund_id  # asynchronous at Paytm
    replay = await env.gw.refund(first)  # Paytm refuses a repeated refId: reported, not failed
    assert replay.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED)
    assert replay.gateway_refund_id == out.gateway_refund_id


async def test_refund_failure_and_dropped_answer(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    await env.fault("refund_fail", "/refund/apply")
    failing = RefundRequest("re_ptm_fail001", ref, 1000, "INR")
    assert (await env.gw.refund(failing)).outcome is RefundOutcome.PENDING

    async def failed() -> bool:
        return (await env.gw.refund_status(failing)).outcome is RefundOutcome.FAILED

    assert await eventually(failed)
    await env.fault("drop", "/refund/apply")
    dropped = await env.gw.refund(RefundRequest("re_ptm_drop001", ref, 2000, "INR"))
    assert dropped.outcome is RefundOutcome.PENDING  # the lost answer was recovered by refund status


async def test_refund_without_txn_id_learns_it(env: GatewayEnv) -> None:
    req, _ref = await paid(env)
    out = await env.gw.refund(
        RefundRequest("re_ptm_noref01", AttemptRef(req.attempt_id, amount=req.amount), 500, "INR")
    )
    assert out.outcome is RefundOutcome.PENDING
