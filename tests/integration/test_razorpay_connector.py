"""Razorpay's own quirks, over real HTTP against the in-process sandbox.

What every connector must do is in ``test_connector_contract.py`` / ``_faults.py``; this keeps what
only Razorpay does: its own ``pay_`` / ``order_`` ids and orders reused across attempts, the
unsigned error callback, full-amount captures only, no void API, ``X-Refund-Idempotency``, and the
three events of one card payment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.gateways.base import AttemptRef, ChargeRequest, Outcome, PaymentMethod, RefundOutcome, RefundRequest
from engine.gateways.common import webhook_verified
from tests.support.gateway_env import GatewayEnv, card, eventually, ref_of, sandbox_env, short_client
from tests.support.gateway_env import request as charge

GATEWAY = "razorpay"


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[GatewayEnv]:
    async with sandbox_env() as sandbox:
        yield sandbox.bind(GATEWAY)


@pytest.fixture(autouse=True)
async def clean(env: GatewayEnv) -> AsyncIterator[None]:
    yield
    await env.sandbox.reset()


def request(method: PaymentMethod, **kw: Any) -> ChargeRequest:
    return charge("rzp", method, **kw)


# --- orders and ids --------------------------------------------------------------------------------


async def test_ids_are_razorpays_and_a_declined_attempts_order_takes_another_card(env: GatewayEnv) -> None:
    req = request(card("4000000000000002"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.DECLINED and res.gateway_reference and res.gateway_reference.startswith("pay_")
    assert res.gateway_order_id and res.gateway_order_id.startswith("order_")
    retry = await env.gw.authorize(request(card("4111111111111111"), gateway_order_id=res.gateway_order_id))
    assert retry.outcome is Outcome.CAPTURED and retry.gateway_order_id == res.gateway_order_id


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_3ds_callback_is_a_hint_and_only_success_is_signed(env: GatewayEnv, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.gw.authorize(req)
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    params = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.gw.verify_callback(params, ref)
    assert checked is not None and checked.outcome is Outcome.UNKNOWN  # confirmed by sync, never final
    if decision == "approve":
        assert checked.gateway_reference == res.gateway_reference
        sig = params["razorpay_signature"]
        tampered = {**params, "razorpay_signature": sig[:-1] + ("1" if sig[-1] == "0" else "0")}
        assert env.gw.verify_callback(tampered, ref) is None
        assert (await env.gw.sync(ref_of(req, checked))).outcome is Outcome.CAPTURED
    else:
        assert checked.raw_status == "callback_error"  # Razorpay does not sign failures


# --- capture and void ------------------------------------------------------------------------------


async def test_partial_capture_is_refused(env: GatewayEnv) -> None:
    # Razorpay documents full-amount captures only (registry: partial_capture=False).
    req = request(card("4111111111111111"), capture=False)
    ref = ref_of(req, await env.gw.authorize(req))
    assert (await env.gw.capture(ref, 20000)).outcome is Outcome.DECLINED
    assert (await env.gw.sync(ref)).outcome is Outcome.AUTHORIZED


async def test_capture_of_a_failed_payment_says_why(env: GatewayEnv) -> None:
    req = request(card("4000000000000002"))
    out = await env.gw.capture(ref_of(req, await env.gw.authorize(req)), req.amount)
    assert out.outcome is Outcome.DECLINED and out.error_message


async def test_capture_timeout_is_unknown_then_retry_captured(env: GatewayEnv) -> None:
    req = request(card("4111111111111111"), capture=False)
    ref = ref_of(req, await env.gw.authorize(req))
    await env.fault("timeout", "/capture")
    async with short_client() as short:
        assert (await env.connector(short).capture(ref, req.amount)).outcome is Outcome.UNKNOWN
    assert (await env.gw.capture(ref, req.amount)).outcome is Outcome.CAPTURED  # refused, then fetched


async def test_void_makes_no_call(env: GatewayEnv) -> None:
    dead = env.dead()  # Razorpay has no void API: uncaptured authorizations are auto-refunded
    assert (await dead.void(AttemptRef("att_x", "pay_nothing", "order_nothing"))).outcome is Outcome.VOIDED


# --- refunds ---------------------------------------------------------------------------------------


async def test_refund_idempotency_key_and_several_partials(env: GatewayEnv) -> None:
    req = request(card("4111111111111111"), amount=10000)
    ref = ref_of(req, await env.gw.authorize(req))
    first = await env.gw.refund(RefundRequest("re_it_first01", ref, 3000, "INR"))
    assert first.outcome is RefundOutcome.SUCCEEDED and first.gateway_refund_id  # synchronous at Razorpay
    replay = await env.gw.refund(RefundRequest("re_it_first01", ref, 3000, "INR"))
    assert replay.gateway_refund_id == first.gateway_refund_id  # X-Refund-Idempotency
    second = await env.gw.refund(RefundRequest("re_it_second1", ref, 5000, "INR"))
    assert second.outcome is RefundOutcome.SUCCEEDED and second.gateway_refund_id != first.gateway_refund_id
    over = await env.gw.refund(RefundRequest("re_it_over001", ref, 2001, "INR"))
    assert over.outcome is RefundOutcome.FAILED and over.error_message
    assert (await env.gw.refund(RefundRequest("re_it_rest001", ref, 2000, "INR"))).outcome is RefundOutcome.SUCCEEDED


async def test_refund_pending_and_dropped_answer(env: GatewayEnv) -> None:
    req = request(card("4111111111111111"), amount=10000)
    ref = ref_of(req, await env.gw.authorize(req))
    await env.fault("refund_pending", "/refund")
    assert (await env.gw.refund(RefundRequest("re_it_pend001", ref, 1000, "INR"))).outcome is RefundOutcome.PENDING
    await env.fault("drop", "/refund")
    lost = await env.gw.refund(RefundRequest("re_it_drop001", ref, 1000, "INR"))
    assert lost.outcome is RefundOutcome.UNKNOWN
    retried = await env.gw.refund(RefundRequest("re_it_drop001", ref, 1000, "INR"))
    assert retried.outcome is RefundOutcome.SUCCEEDED  # the same refund, not a second one


async def test_refund_without_a_payment_id_fails_without_a_call(env: GatewayEnv) -> None:
    out = await env.dead().refund(RefundRequest("re_it_noref01", AttemptRef("att_x", None, "order_x"), 100, "INR"))
    assert out.outcome is RefundOutcome.FAILED and out.error_code == "missing_payment_reference"


# --- webhooks --------------------------------------------------------------------------------------


async def test_a_card_payment_sends_authorized_captured_and_order_paid(env: GatewayEnv) -> None:
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    deliveries = await eventually(lambda: found if len(found := env.hooks(res.gateway_reference or "")) >= 3 else [])
    assert deliveries and all(webhook_verified(env.gw, h, b) for _, h, b in deliveries)
    seen = {e.event_type: e for e in (env.gw.parse_webhook(h, b) for _, h, b in deliveries)}
    assert seen["payment.authorized"].charge.outcome is Outcome.AUTHORIZED  # type: ignore[union-attr]
    assert seen["payment.captured"].charge.outcome is Outcome.CAPTURED  # type: ignore[union-attr]
    assert seen["order.paid"].gateway_order_id == res.gateway_order_id
