"""PayU's own quirks, over real HTTP against the in-process sandbox.

What every connector must do is in ``test_connector_contract.py`` / ``_faults.py``; this keeps what
only PayU does: a reverse-hashed surl/furl callback (status, amount and txnid signed), refund
tokens PayU remembers (``refund_exists_106``), its refusal of the same amount twice within
minutes, refunds keyed by its ``mihpayid`` (learnt when unknown) and its salt on every command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.gateways.base import AttemptRef, ChargeRequest, Outcome, PaymentMethod, RefundOutcome, RefundRequest
from tests.support.gateway_env import SANDBOX_CREDENTIALS, GatewayEnv, card, eventually, ref_of, sandbox_env
from tests.support.gateway_env import request as charge

GATEWAY = "payu"


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[GatewayEnv]:
    async with sandbox_env() as sandbox:
        yield sandbox.bind(GATEWAY)


@pytest.fixture(autouse=True)
async def clean(env: GatewayEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.reset()


def request(method: PaymentMethod, **kw: Any) -> ChargeRequest:
    return charge("pyu", method, **kw)


async def paid(env: GatewayEnv, amount: int = 10000) -> tuple[ChargeRequest, AttemptRef]:
    req = request(card("4111111111111111"), amount=amount)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.CAPTURED
    return req, ref_of(req, res)


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_the_reverse_hashed_callback_maps_to_its_outcome(env: GatewayEnv, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.gw.authorize(req)
    assert res.gateway_reference  # PayU's mihpayid is known before the customer acts
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    params = dict(parse_qsl(urlsplit(answer.headers["location"]).query, keep_blank_values=True))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.gw.verify_callback(params, ref)
    assert checked is not None and checked.gateway_reference == res.gateway_reference
    assert env.gw.verify_callback({**params, "status": "success" if decision == "reject" else "failure"}, ref) is None
    assert env.gw.verify_callback({**params, "amount": "1.00"}, ref) is None
    if decision == "approve":
        assert checked.outcome is Outcome.CAPTURED
    else:
        assert checked.outcome is Outcome.DECLINED and checked.decline_code == "customer_canceled"


async def test_a_reused_refund_token_is_the_existing_refund(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    first = RefundRequest("re_pyu_first01", ref, 3000, "INR")
    out = await env.gw.refund(first)
    assert out.outcome is RefundOutcome.PENDING and out.gateway_refund_id
    replay = await env.gw.refund(first)  # token already used: the refund exists
    assert replay.outcome is RefundOutcome.PENDING and replay.error_code == "refund_exists_106"
    known = RefundRequest("re_pyu_first01", ref, 3000, "INR", gateway_refund_id=out.gateway_refund_id)
    assert (await env.gw.refund(known)).gateway_refund_id == out.gateway_refund_id
    # Without PayU's request id there is nothing to ask check_action_status about.
    assert (await env.gw.refund_status(first)).outcome is RefundOutcome.UNKNOWN


async def test_same_amount_twice_within_minutes_is_refused(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    assert (await env.gw.refund(RefundRequest("re_pyu_same001", ref, 1000, "INR"))).outcome is RefundOutcome.PENDING
    again = await env.gw.refund(RefundRequest("re_pyu_same002", ref, 1000, "INR"))
    assert again.outcome is RefundOutcome.FAILED and again.error_code == "214"


async def test_refund_failure_and_dropped_answer(env: GatewayEnv) -> None:
    _, ref = await paid(env)
    await env.fault("refund_fail", "postservice")
    out = await env.gw.refund(RefundRequest("re_pyu_fail001", ref, 1000, "INR"))
    assert out.outcome is RefundOutcome.PENDING
    failing = RefundRequest("re_pyu_fail001", ref, 1000, "INR", gateway_refund_id=out.gateway_refund_id)

    async def failed() -> bool:
        return (await env.gw.refund_status(failing)).outcome is RefundOutcome.FAILED

    assert await eventually(failed)
    await env.fault("drop", "postservice")
    dropped = RefundRequest("re_pyu_drop001", ref, 2000, "INR")
    assert (await env.gw.refund(dropped)).outcome is RefundOutcome.UNKNOWN
    retried = await env.gw.refund(dropped)  # the same token: PayU has it, so it is pending, not new
    assert retried.outcome is RefundOutcome.PENDING and retried.error_code == "refund_exists_106"


async def test_refund_without_mihpayid_learns_it(env: GatewayEnv) -> None:
    req, _ = await paid(env)
    out = await env.gw.refund(
        RefundRequest("re_pyu_noref01", AttemptRef(req.attempt_id, amount=req.amount), 500, "INR")
    )
    assert out.outcome is RefundOutcome.PENDING


async def test_a_wrong_salt_is_refused_on_refunds_too(env: GatewayEnv) -> None:
    bad = env.connector(credentials={**SANDBOX_CREDENTIALS[GATEWAY], "salt": "wrong"})
    _req, ref = await paid(env)
    assert (await bad.refund(RefundRequest("re_pyu_salt001", ref, 100, "INR"))).outcome is RefundOutcome.FAILED
