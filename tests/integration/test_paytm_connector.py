"""The Paytm connector over real HTTP against the in-process sandbox.

Every published test instrument, the bank/OTP/wallet redirect and its signed callback, UPI
collect, asynchronous refunds (settled by refund status and by webhook), signed webhooks
(received by a tiny ASGI app standing in for the engine) and the sandbox's transport faults.
The sandbox shares no code with the connector: it is the other side of the wire.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from engine.gateways.base import (
    AttemptRef,
    CardDetails,
    ChargeRequest,
    ChargeResult,
    Outcome,
    PaymentMethod,
    RefundOutcome,
    RefundRequest,
)
from engine.gateways.common import webhook_verified
from engine.gateways.http import GatewayClient, new_client
from engine.gateways.paytm import PaytmConnector
from engine.gateways.registry import build_connector
from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.support.receiver import Receiver
from tests.support.servers import free_port, serve_asgi

# The sandbox's published Paytm test account (DESIGN.md §5).
SANDBOX_CREDENTIALS = {"mid": "SANDBOXMID0000000001", "merchant_key": "sandboxmerchkey1", "website": "WEBSTAGING"}
GATEWAY = "paytm"
UPI_DELAY_S = 0.3
_counter = iter(range(1, 1_000_000))


@dataclass
class Env:
    url: str
    client: httpx.AsyncClient  # the sandbox's control endpoints and pages
    receiver: Receiver
    gw: PaytmConnector
    gateway: GatewayClient  # what the connectors send through

    def connector(self, client: GatewayClient | None = None) -> PaytmConnector:
        built = build_connector(
            GATEWAY, SANDBOX_CREDENTIALS, base_url=f"{self.url}/{GATEWAY}", client=client or self.gateway
        )
        assert isinstance(built, PaytmConnector)
        return built

    async def fault(self, fault: str, path_contains: str, count: int = 1) -> None:
        body = {"gateway": GATEWAY, "fault": fault, "path_contains": path_contains, "count": count}
        (await self.client.post(self.url + "/_sandbox/faults", json=body)).raise_for_status()

    async def webhook_mode(self, mode: str) -> None:
        (await self.client.post(self.url + "/_sandbox/webhooks", json={"mode": mode})).raise_for_status()

    def hooks(self, needle: str) -> list[tuple[str, dict[str, str], bytes]]:
        return [d for d in self.receiver.deliveries if needle.encode() in d[2]]


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[Env]:
    receiver = Receiver()
    async with serve_asgi(receiver) as hooks:
        port = free_port()
        settings = SandboxSettings(
            public_url=f"http://127.0.0.1:{port}",
            webhook_url=hooks + "/hooks/{gateway}/{merchant_id}",
            upi_delay_s=UPI_DELAY_S,
            hang_s=1.5,
            webhook_retry_delays_s=(0.1,),
            webhook_timeout_s=2.0,
        )
        async with serve_asgi(create_app(settings), port=port) as url:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client, new_client(5.0, 5.0) as gateway:
                env = Env(url, client, receiver, None, gateway)  # type: ignore[arg-type]
                env.gw = env.connector()
                yield env


@pytest.fixture(autouse=True)
async def clean(env: Env) -> AsyncIterator[None]:
    yield
    await env.client.delete(env.url + "/_sandbox/faults")
    await env.webhook_mode("normal")


def card(number: str) -> PaymentMethod:
    return PaymentMethod(type="card", card=CardDetails(number, 12, 2030, "123", "Test Payer"))


def request(method: PaymentMethod, *, amount: int = 50000, **kw: Any) -> ChargeRequest:
    n = next(_counter)
    return ChargeRequest(
        attempt_id=f"att_ptm{n:06d}", payment_id=f"pay_ptm{n:06d}", merchant_id="mer_it", amount=amount,
        currency="INR", method=method, capture=True, callback_url="https://shop.example/return", **kw,
    )  # fmt: skip


def ref_of(req: ChargeRequest, res: ChargeResult) -> AttemptRef:
    return AttemptRef(req.attempt_id, res.gateway_reference, res.gateway_order_id, req.amount, req.currency)


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy or ``within`` passes."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def settled(gw: PaytmConnector, ref: AttemptRef) -> ChargeResult:
    async def check() -> ChargeResult | None:
        synced = await gw.sync(ref)
        return synced if synced.outcome is not Outcome.PROCESSING else None

    result = await eventually(check)
    assert result is not None, "never settled"
    return result


# --- cards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4111111111111111", "4242424242424242", "5555555555554444", "6521111111111110"])
async def test_success_cards(env: Env, number: str) -> None:
    req = request(card(number))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.CAPTURED and res.amount_captured == req.amount
    assert res.gateway_reference and res.gateway_order_id == req.attempt_id
    assert (await env.gw.sync(AttemptRef(req.attempt_id, amount=req.amount))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize(
    ("number", "decline"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"), ("4000000000000069", "expired_card")],
)  # fmt: skip
async def test_declined_cards(env: Env, number: str, decline: str) -> None:
    req = request(card(number))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline and res.gateway_reference
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.DECLINED and synced.decline_code == decline


async def test_gateway_error_card_is_retryable(env: Env) -> None:
    req = request(card("4000000000000119"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.RETRYABLE and res.gateway_order_id == req.attempt_id
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


async def test_charge_then_drop_is_unknown_then_sync_captured(env: Env) -> None:
    req = request(card("4000000000000259"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.error_code and res.error_code.startswith("transport_")
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.CAPTURED and synced.gateway_reference and synced.amount_captured == req.amount


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_3ds_redirect_then_signed_callback_and_sync(env: Env, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    page = await env.client.get(res.redirect_url)
    assert page.status_code == 200 and "Approve" in page.text
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.PROCESSING
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.netloc == "shop.example"
    params = dict(parse_qsl(location.query, keep_blank_values=True))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.gw.verify_callback(params, ref)
    assert checked is not None
    tampered = {**params, "STATUS": "TXN_SUCCESS" if decision == "reject" else "TXN_FAILURE"}
    assert env.gw.verify_callback(tampered, ref) is None
    assert env.gw.verify_callback({**params, "CHECKSUMHASH": params["CHECKSUMHASH"][::-1]}, ref) is None
    synced = await env.gw.sync(ref)
    if decision == "approve":
        assert checked.outcome is Outcome.CAPTURED and synced.outcome is Outcome.CAPTURED
        assert checked.gateway_reference == synced.gateway_reference
    else:
        assert checked.outcome is Outcome.DECLINED and checked.decline_code == "customer_canceled"
        assert synced.outcome is Outcome.DECLINED


@pytest.mark.parametrize(
    "method",
    [PaymentMethod(type="netbanking", bank_code="HDFC"), PaymentMethod(type="wallet", wallet_provider="paytm")],
)
async def test_netbanking_and_wallet_redirect(env: Env, method: PaymentMethod) -> None:
    req = request(method)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    await env.client.get(res.redirect_url, params={"decision": "approve"})
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


# --- UPI -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vpa", "final"), [("success@upi", Outcome.CAPTURED), ("failure@upi", Outcome.DECLINED)])
async def test_upi_collect_settles_by_status_and_webhook(env: Env, vpa: str, final: Outcome) -> None:
    req = request(PaymentMethod(type="upi", vpa=vpa))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.PROCESSING and res.gateway_reference
    assert (await settled(env.gw, ref_of(req, res))).outcome is final
    hooks = await eventually(lambda: env.hooks(req.attempt_id))
    assert hooks and all(path == "/hooks/paytm/mer_it" for path, _, _ in hooks)
    assert all(webhook_verified(env.gw, h, b) for _, h, b in hooks)
    event = env.gw.parse_webhook(hooks[-1][1], hooks[-1][2])
    assert event.attempt_id == req.attempt_id and event.charge is not None and event.charge.outcome is final


async def test_invalid_vpa_is_declined(env: Env) -> None:
    res = await env.gw.authorize(request(PaymentMethod(type="upi", vpa="not a vpa")))
    assert res.outcome is Outcome.DECLINED and res.decline_code == "invalid_vpa"


# --- refunds ---------------------------------------------------------------------------------------


async def paid(env: Env, amount: int = 10000) -> tuple[ChargeRequest, AttemptRef]:
    req = request(card("4111111111111111"), amount=amount)
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.CAPTURED
    return req, ref_of(req, res)


async def test_refunds_are_async_and_settle_by_status_and_webhook(env: Env) -> None:
    _, ref = await paid(env)
    first = RefundRequest("re_ptm_first01", ref, 3000, "INR")
    out = await env.gw.refund(first)
    assert out.outcome is RefundOutcome.PENDING and out.gateway_refund_id
    replay = await env.gw.refund(first)  # a repeated refId is refused by Paytm: reported, not failed
    assert replay.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED)
    assert replay.gateway_refund_id == out.gateway_refund_id

    async def done() -> bool:
        return (await env.gw.refund_status(first)).outcome is RefundOutcome.SUCCEEDED

    assert await eventually(done)
    hooks = await eventually(lambda: [h for h in env.hooks("re_ptm_first01") if b'"status"' in h[2]])
    assert hooks and webhook_verified(env.gw, hooks[0][1], hooks[0][2])
    event = env.gw.parse_webhook(hooks[0][1], hooks[0][2])
    assert event.refund is not None and event.refund.outcome is RefundOutcome.SUCCEEDED
    assert event.refund_reference == "re_ptm_first01" and event.refund.gateway_refund_id == out.gateway_refund_id
    over = await env.gw.refund(RefundRequest("re_ptm_over001", ref, 7001, "INR"))
    assert over.outcome is RefundOutcome.FAILED and over.error_code == "620"
    rest = await env.gw.refund(RefundRequest("re_ptm_rest001", ref, 7000, "INR"))
    assert rest.outcome is RefundOutcome.PENDING


async def test_refund_failure_and_dropped_answer(env: Env) -> None:
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


async def test_refund_without_txn_id_learns_it(env: Env) -> None:
    req, _ref = await paid(env)
    out = await env.gw.refund(
        RefundRequest("re_ptm_noref01", AttemptRef(req.attempt_id, amount=req.amount), 500, "INR")
    )
    assert out.outcome is RefundOutcome.PENDING


async def test_refund_of_declined_payment_fails(env: Env) -> None:
    req = request(card("4000000000000002"))
    res = await env.gw.authorize(req)
    out = await env.gw.refund(RefundRequest("re_ptm_decl001", ref_of(req, res), 100, "INR"))
    assert out.outcome is RefundOutcome.FAILED and out.error_code == "600"


# --- transport faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["garbled", "empty", "drop"])
async def test_processed_but_unreadable_is_unknown_then_sync(env: Env, fault: str) -> None:
    await env.fault(fault, "processTransaction")
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id == req.attempt_id
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


async def test_html_503_is_unknown_and_nothing_was_processed(env: Env) -> None:
    await env.fault("http_503_html", "processTransaction")
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    assert res.outcome is Outcome.UNKNOWN
    synced = await env.gw.sync(ref_of(req, res))
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


async def test_signed_system_error_is_retryable(env: Env) -> None:
    await env.fault("http_500", "processTransaction")  # Paytm's signed F/501 body, not processed
    res = await env.gw.authorize(request(card("4111111111111111")))
    assert res.outcome is Outcome.RETRYABLE


async def test_read_timeout_is_unknown_then_sync_captured(env: Env) -> None:
    await env.fault("timeout", "processTransaction")
    req = request(card("4111111111111111"))
    async with new_client(5.0, 0.3) as short:
        res = await env.connector(short).authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.error_code == "transport_ReadTimeout"
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize("fault", ["http_500", "http_503_html", "garbled", "empty", "timeout"])
async def test_initiate_failures_are_retryable(env: Env, fault: str) -> None:
    await env.fault(fault, "initiateTransaction")
    async with new_client(5.0, 0.3) as short:
        res = await env.connector(short).authorize(request(card("4111111111111111")))
    assert res.outcome is Outcome.RETRYABLE


@pytest.mark.parametrize("fault", ["garbled", "empty", "http_503_html"])
async def test_unreadable_status_is_unknown(env: Env, fault: str) -> None:
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    await env.fault(fault, "/v3/order/status")
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.UNKNOWN
    assert (await env.gw.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


async def test_unreachable_gateway(env: Env) -> None:
    dead = build_connector(
        GATEWAY, SANDBOX_CREDENTIALS, base_url=f"http://127.0.0.1:{free_port()}/paytm", client=env.gateway
    )
    assert (await dead.authorize(request(card("4111111111111111")))).outcome is Outcome.RETRYABLE
    assert (await dead.sync(AttemptRef("att_x", "T", "att_x"))).outcome is Outcome.UNKNOWN
    refund = await dead.refund(RefundRequest("re_ptm_dead001", AttemptRef("att_x", "T", "att_x"), 100, "INR"))
    assert refund.outcome is RefundOutcome.FAILED


async def test_wrong_key_is_retryable_and_answers_are_not_trusted(env: Env) -> None:
    wrong = {**SANDBOX_CREDENTIALS, "merchant_key": "wrongmerchkey001"}
    bad = build_connector(GATEWAY, wrong, base_url=f"{env.url}/paytm", client=env.gateway)
    assert (await bad.authorize(request(card("4111111111111111")))).outcome is Outcome.RETRYABLE
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    assert (await bad.sync(ref_of(req, res))).outcome is Outcome.UNKNOWN  # refused or unverifiable


# --- webhooks --------------------------------------------------------------------------------------


async def test_payment_webhooks_verify_and_parse(env: Env) -> None:
    req = request(card("4111111111111111"))
    res = await env.gw.authorize(req)
    hooks = await eventually(lambda: env.hooks(req.attempt_id))
    assert hooks
    path, headers, body = hooks[0]
    assert path == "/hooks/paytm/mer_it" and webhook_verified(env.gw, headers, body)
    event = env.gw.parse_webhook(headers, body)
    assert event.attempt_id == req.attempt_id and event.gateway_reference == res.gateway_reference
    assert event.charge is not None and event.charge.outcome is Outcome.CAPTURED


async def test_duplicate_webhooks_share_an_event_id(env: Env) -> None:
    await env.webhook_mode("duplicate")
    req = request(card("4000000000000002"))
    await env.gw.authorize(req)
    hooks = await eventually(lambda: env.hooks(req.attempt_id) if len(env.hooks(req.attempt_id)) >= 2 else [])
    ids = {env.gw.parse_webhook(h, b).event_id for _, h, b in hooks}
    assert len(hooks) == 2 and len(ids) == 1


async def test_tampered_webhooks_do_not_verify(env: Env) -> None:
    await env.webhook_mode("tamper")
    req, ref = await paid(env)
    await env.gw.refund(RefundRequest("re_ptm_tamp001", ref, 100, "INR"))
    payment_hooks = await eventually(lambda: env.hooks(req.attempt_id))
    refund_hooks = await eventually(lambda: env.hooks("re_ptm_tamp001"))
    assert payment_hooks and refund_hooks
    assert not any(webhook_verified(env.gw, h, b) for _, h, b in payment_hooks + refund_hooks)
