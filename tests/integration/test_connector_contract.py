"""What every connector of the registry must do, against the sandbox over real HTTP.

Parametrised over ``registry.SUPPORTED_GATEWAYS`` (a gateway without a driver in
``tests/support/connector_drivers.py`` fails at import): cards, redirects and UPI, sync, refunds,
capture and void as ``registry.capabilities`` declare them, transport faults (``NOT_SENT`` is
``RETRYABLE``, anything that may have left is ``UNKNOWN`` until a sync says otherwise), webhook
proofs through the core comparer, and the sent-request count behind ``ConnectorBug``. Each
gateway's own quirks stay in ``test_<gateway>_connector.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.gateways import registry
from engine.gateways.base import (
    NO_REFUND,
    AttemptRef,
    ChargeRequest,
    ChargeResult,
    Outcome,
    PaymentMethod,
    RefundOutcome,
)
from engine.gateways.base import RefundRequest as Refund
from engine.gateways.common import webhook_verified
from tests.support.connector_drivers import DRIVERS, Driver
from tests.support.gateway_env import GatewayEnv, SandboxEnv, card, eventually, ref_of, refund_id, sandbox_env
from tests.support.gateway_env import request as charge

OK_CARD = "4111111111111111"


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[SandboxEnv]:
    async with sandbox_env() as env:
        yield env


@pytest.fixture(params=registry.SUPPORTED_GATEWAYS)
async def gw(request: pytest.FixtureRequest, sandbox: SandboxEnv) -> AsyncIterator[tuple[GatewayEnv, Driver]]:
    yield sandbox.bind(request.param), DRIVERS[request.param]
    await sandbox.reset()


async def paid(
    env: GatewayEnv, d: Driver, amount: int = 10000, number: str = OK_CARD
) -> tuple[ChargeRequest, ChargeResult]:
    req = charge(d.prefix, card(number), amount=amount)
    return req, await env.gw.authorize(req)


async def settled(env: GatewayEnv, ref: AttemptRef) -> ChargeResult | None:
    async def check() -> ChargeResult | None:
        synced = await env.gw.sync(ref)
        return synced if synced.outcome is not Outcome.PROCESSING else None

    return await eventually(check)


# --- payments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [OK_CARD, "4242424242424242", "5555555555554444", "6521111111111110"])
async def test_success_cards_are_captured_and_sync_confirms(gw: tuple[GatewayEnv, Driver], number: str) -> None:
    env, d = gw
    req, res = await paid(env, d, 50000, number)
    assert res.outcome is Outcome.CAPTURED and res.amount_captured == req.amount and res.gateway_reference
    assert d.is_order_of(req.attempt_id, res.gateway_order_id)
    # From our attempt id alone: a crash may have lost every gateway reference.
    assert (await env.gw.sync(AttemptRef(req.attempt_id, amount=req.amount))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize(
    ("number", "decline"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"), ("4000000000000069", "expired_card")],
)  # fmt: skip
async def test_declined_cards_stay_declined(gw: tuple[GatewayEnv, Driver], number: str, decline: str) -> None:
    env, d = gw
    req, res = await paid(env, d, number=number)
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline and res.gateway_reference
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.DECLINED and synced.decline_code == decline
    assert (await paid(env, d))[1].outcome is Outcome.CAPTURED  # the next attempt is a new one


async def test_an_invalid_card_number_is_declined(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    res = (await paid(env, d, number="4111111111111112"))[1]
    assert res.outcome is Outcome.DECLINED and res.decline_code == d.invalid_card_decline


async def test_a_gateway_error_is_retryable_and_charged_nothing(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d, number="4000000000000119")
    assert res.outcome is Outcome.RETRYABLE and d.is_order_of(req.attempt_id, res.gateway_order_id)
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


async def test_charged_then_dropped_is_unknown_until_sync(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d, number="4000000000000259")
    assert res.outcome is Outcome.UNKNOWN and res.gateway_reference is None
    assert res.error_code and res.error_code.startswith("transport_")
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.CAPTURED and synced.gateway_reference and synced.amount_captured == req.amount


async def test_sync_of_an_attempt_the_gateway_never_saw(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    synced = await env.gw.sync(AttemptRef(charge(d.prefix, card(OK_CARD)).attempt_id, amount=100))
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


@pytest.mark.parametrize(("decision", "final"), [("approve", Outcome.CAPTURED), ("reject", Outcome.DECLINED)])
async def test_3ds_redirect_then_signed_callback_and_sync(
    gw: tuple[GatewayEnv, Driver], decision: str, final: Outcome
) -> None:
    env, d = gw
    req, res = await paid(env, d, number="4000000000003220")
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    page = await env.client.get(res.redirect_url)
    assert page.status_code == 200 and "Approve" in page.text
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.PROCESSING  # the customer is on the page
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    location = urlsplit(answer.headers["location"])
    assert answer.status_code == 302 and location.netloc == "shop.example"
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    assert env.gw.verify_callback(dict(parse_qsl(location.query, keep_blank_values=True)), ref) is not None
    assert (await env.gw.sync(ref)).outcome is final


@pytest.mark.parametrize("method", ["netbanking", "wallet"])
async def test_netbanking_and_wallet_redirect(gw: tuple[GatewayEnv, Driver], method: str) -> None:
    env, d = gw
    req = charge(d.prefix, getattr(d, method))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    await env.client.get(res.redirect_url, params={"decision": "approve"})
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize(("vpa", "final"), [("success@upi", Outcome.CAPTURED), ("failure@upi", Outcome.DECLINED)])
async def test_upi_collect_settles_by_status_and_webhook(
    gw: tuple[GatewayEnv, Driver], vpa: str, final: Outcome
) -> None:
    env, d = gw
    req = charge(d.prefix, PaymentMethod(type="upi", vpa=vpa))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.PROCESSING and res.gateway_reference
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.PROCESSING  # the customer has not approved yet
    assert (synced := await settled(env, ref_of(req, res))) is not None and synced.outcome is final

    def final_event() -> bool:
        events = [env.gw.parse_webhook(h, b) for _, h, b in env.hooks(req.attempt_id)]
        return any(e.charge and e.charge.outcome is final and e.attempt_id == req.attempt_id for e in events)

    assert await eventually(final_event)
    hooks = env.hooks(req.attempt_id)
    assert all(p == f"/hooks/{d.gateway}/mer_it" and webhook_verified(env.gw, h, b) for p, h, b in hooks)


async def test_an_invalid_vpa_is_declined(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    res = await env.gw.authorize(charge(d.prefix, PaymentMethod(type="upi", vpa="not a vpa")))
    assert res.outcome is Outcome.DECLINED and res.decline_code == "invalid_vpa"


# --- capture and void, as capabilities declare -------------------------------------------------


async def test_manual_capture_as_declared(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req = charge(d.prefix, card(OK_CARD), capture=False)
    res = await env.gw.authorize(req)
    if not registry.capabilities(d.gateway).manual_capture:
        assert res.outcome is Outcome.RETRYABLE and res.error_code == "manual_capture_unsupported"
        return
    assert res.outcome is Outcome.AUTHORIZED and res.amount_captured == 0
    captured = await env.gw.capture(ref_of(req, res), req.amount)
    assert captured.outcome is Outcome.CAPTURED and captured.amount_captured == req.amount
    assert (await env.gw.capture(ref_of(req, res), req.amount)).outcome is Outcome.CAPTURED  # a retry
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


async def test_void_as_declared(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    caps = registry.capabilities(d.gateway)
    if not caps.void:
        req, res = await paid(env, d)
        voided = await env.gw.void(ref_of(req, res))
        assert voided.outcome is Outcome.DECLINED and voided.error_code == "void_unsupported"
        return
    req = charge(d.prefix, card(OK_CARD), capture=False)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.AUTHORIZED
    assert (await env.gw.void(ref_of(req, res))).outcome is Outcome.VOIDED


async def test_capture_confirms_a_captured_charge_and_refuses_a_declined_one(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d)
    assert (await env.gw.capture(ref_of(req, res), req.amount)).outcome is Outcome.CAPTURED
    req, res = await paid(env, d, number="4000000000000002")
    assert (await env.gw.capture(ref_of(req, res), req.amount)).outcome is Outcome.DECLINED


# --- refunds -----------------------------------------------------------------------------------


async def test_refund_then_refund_status_then_webhook(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d)
    ref = ref_of(req, res)
    part = 3000 if registry.capabilities(d.gateway).partial_refund else req.amount
    first = Refund(refund_id(d.prefix), ref, part, "INR")
    out = await env.gw.refund(first)
    assert out.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED) and out.gateway_refund_id
    known = Refund(first.refund_id, ref, part, "INR", gateway_refund_id=out.gateway_refund_id)

    async def done() -> bool:
        return (await env.gw.refund_status(known)).outcome is RefundOutcome.SUCCEEDED

    assert await eventually(done)
    echoed = d.refund_reference(first.refund_id)

    def refund_events() -> list[object]:
        events = [env.gw.parse_webhook(h, b) for _, h, b in env.hooks(echoed) if webhook_verified(env.gw, h, b)]
        return [e for e in events if e.refund and e.refund.outcome is RefundOutcome.SUCCEEDED]

    event = (await eventually(refund_events))[0]
    assert event.refund_reference == echoed and event.refund.gateway_refund_id == out.gateway_refund_id
    if part < req.amount:
        over = await env.gw.refund(Refund(refund_id(d.prefix), ref, req.amount - part + 1, "INR"))
        assert over.outcome is RefundOutcome.FAILED
        assert over.error_code == d.over_refund_code if d.over_refund_code else over.error_message
        rest = await env.gw.refund(Refund(refund_id(d.prefix), ref, req.amount - part, "INR"))
        assert rest.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED)


async def test_a_refund_of_a_declined_payment_fails(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d, number="4000000000000002")
    out = await env.gw.refund(Refund(refund_id(d.prefix), ref_of(req, res), 100, "INR"))
    assert out.outcome is RefundOutcome.FAILED
    assert out.error_code == d.declined_refund_code if d.declined_refund_code else out.error_message


async def test_a_refund_the_gateway_never_got_is_no_refund_then_sent_once(gw: tuple[GatewayEnv, Driver]) -> None:
    env, d = gw
    req, res = await paid(env, d)
    never_sent = Refund(refund_id(d.prefix), ref_of(req, res), req.amount, "INR")
    asked = await env.gw.refund_status(never_sent)
    if d.gateway == "razorpay":  # its status call re-sends under X-Refund-Idempotency by itself
        assert asked.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED), asked
    else:  # "none under that id": never a failure, and safe to send now
        assert (asked.outcome, asked.error_code) == (RefundOutcome.UNKNOWN, NO_REFUND), asked
        sent = await env.gw.refund(never_sent)
        assert sent.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED), sent
    again = await env.gw.refund(never_sent)  # a second send under the same id is the first refund
    assert again.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED), again
