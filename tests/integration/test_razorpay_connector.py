"""The Razorpay connector over real HTTP against the in-process sandbox.

Every published test instrument, manual capture, refunds, the 3-D Secure redirect and its
signed callback, webhooks (received by a tiny ASGI app standing in for the engine) and the
sandbox's transport faults. The sandbox shares no code with the connector: it is the other
side of the wire.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
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
from engine.gateways.razorpay import RazorpayConnector, RazorpayCredentials
from engine.gateways.registry import build_connector
from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.support.servers import free_port, serve_asgi

CREDS = RazorpayCredentials("rzp_test_connector", "sandbox_secret", "sandbox_webhook_secret")
UPI_DELAY_S = 0.3
_counter = iter(range(1, 1_000_000))


@dataclass
class Receiver:
    """A minimal ASGI app recording the webhooks the sandbox delivers."""

    deliveries: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.deliveries.append((scope["path"], headers, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Env:
    url: str
    client: httpx.AsyncClient  # the sandbox's control endpoints and pages
    receiver: Receiver
    rzp: RazorpayConnector
    gateway: GatewayClient  # what the connectors send through

    def connector(self, client: GatewayClient | None = None) -> RazorpayConnector:
        return RazorpayConnector(CREDS, base_url=self.url + "/razorpay", client=client or self.gateway)

    async def fault(self, fault: str, path_contains: str, count: int = 1) -> None:
        body = {"gateway": "razorpay", "fault": fault, "path_contains": path_contains, "count": count}
        (await self.client.post(self.url + "/_sandbox/faults", json=body)).raise_for_status()

    async def webhook_mode(self, mode: str) -> None:
        (await self.client.post(self.url + "/_sandbox/webhooks", json={"mode": mode})).raise_for_status()


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
                rzp = RazorpayConnector(CREDS, base_url=url + "/razorpay", client=gateway)
                yield Env(url, client, receiver, rzp, gateway)


@pytest.fixture(autouse=True)
async def clean(env: Env) -> AsyncIterator[None]:
    yield
    await env.client.delete(env.url + "/_sandbox/faults")
    await env.webhook_mode("normal")


def card(number: str) -> PaymentMethod:
    return PaymentMethod(type="card", card=CardDetails(number, 12, 2030, "123", "Test Payer"))


def request(method: PaymentMethod, *, capture: bool = True, amount: int = 50000, **kw: Any) -> ChargeRequest:
    n = next(_counter)
    return ChargeRequest(
        attempt_id=f"att_{n:06d}", payment_id=f"pay_e{n:06d}", merchant_id="mer_it", amount=amount,
        currency="INR", method=method, capture=capture, callback_url="https://shop.example/return", **kw,
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


# --- cards -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4111111111111111", "4242424242424242", "5555555555554444", "6521111111111110"])
async def test_success_cards_capture(env: Env, number: str) -> None:
    req = request(card(number))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.CAPTURED and res.amount_captured == req.amount
    assert res.gateway_reference and res.gateway_reference.startswith("pay_")
    assert res.gateway_order_id and res.gateway_order_id.startswith("order_")
    assert (await env.rzp.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize(
    ("number", "decline"),
    [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"),
     ("4000000000000069", "expired_card")],
)  # fmt: skip
async def test_declined_cards(env: Env, number: str, decline: str) -> None:
    req = request(card(number))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.DECLINED and res.decline_code == decline
    assert res.gateway_reference  # the failed payment's id, from the error metadata
    synced = await env.rzp.sync(ref_of(req, res))
    assert synced.outcome is Outcome.DECLINED and synced.decline_code == decline
    # the customer tries another card on the same order
    retry = await env.rzp.authorize(
        request(card("4111111111111111"), gateway_order_id=res.gateway_order_id, amount=req.amount)
    )
    assert retry.outcome is Outcome.CAPTURED and retry.gateway_order_id == res.gateway_order_id


async def test_invalid_card_number_is_declined_without_charge(env: Env) -> None:
    res = await env.rzp.authorize(request(card("4111111111111112")))
    assert res.outcome is Outcome.DECLINED and res.decline_code == "incorrect_number"


async def test_gateway_error_card_is_retryable(env: Env) -> None:
    res = await env.rzp.authorize(request(card("4000000000000119")))
    assert res.outcome is Outcome.RETRYABLE and res.gateway_order_id


async def test_charge_then_drop_is_unknown_then_sync_captured(env: Env) -> None:
    req = request(card("4000000000000259"))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_reference is None
    synced = await env.rzp.sync(ref_of(req, res))  # by order: no payment id came back
    assert synced.outcome is Outcome.CAPTURED and synced.gateway_reference


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_3ds_redirect_then_callback_and_sync(env: Env, decision: str) -> None:
    req = request(card("4000000000003220"))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    page = await env.client.get(res.redirect_url)
    assert page.status_code == 200 and "Approve" in page.text
    answer = await env.client.get(res.redirect_url, params={"decision": decision})
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.netloc == "shop.example"
    params = dict(parse_qsl(location.query))
    ref = AttemptRef(req.attempt_id, None, res.gateway_order_id, req.amount, req.currency)
    checked = env.rzp.verify_callback(params, ref)
    assert checked is not None and checked.outcome is Outcome.UNKNOWN
    if decision == "approve":
        assert checked.gateway_reference == res.gateway_reference
        sig = params["razorpay_signature"]
        tampered = {**params, "razorpay_signature": sig[:-1] + ("1" if sig[-1] == "0" else "0")}
        assert env.rzp.verify_callback(tampered, ref) is None
        synced = await env.rzp.sync(ref_of(req, checked))
        assert synced.outcome is Outcome.CAPTURED
    else:
        assert checked.raw_status == "callback_error"
        synced = await env.rzp.sync(ref)
        assert synced.outcome is Outcome.DECLINED


@pytest.mark.parametrize(
    "method",
    [
        PaymentMethod(type="netbanking", bank_code="HDFC"),
        PaymentMethod(type="wallet", wallet_provider="paytm"),
    ],
)
async def test_netbanking_and_wallet_redirect(env: Env, method: PaymentMethod) -> None:
    req = request(method)
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.REQUIRES_ACTION and res.redirect_url
    await env.client.get(res.redirect_url, params={"decision": "approve"})
    assert (await env.rzp.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


# --- UPI -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("vpa", "final"), [("success@upi", Outcome.CAPTURED), ("failure@upi", Outcome.DECLINED)])
async def test_upi_collect(env: Env, vpa: str, final: Outcome) -> None:
    req = request(PaymentMethod(type="upi", vpa=vpa))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.PROCESSING and res.gateway_reference
    assert (await env.rzp.sync(ref_of(req, res))).outcome is Outcome.PROCESSING

    async def settled() -> ChargeResult | None:
        synced = await env.rzp.sync(ref_of(req, res))
        return synced if synced.outcome is not Outcome.PROCESSING else None

    synced = await eventually(settled)
    assert synced is not None and synced.outcome is final


# --- capture, void, refunds ------------------------------------------------------------------------


async def test_manual_capture_and_idempotent_retry(env: Env) -> None:
    req = request(card("4111111111111111"), capture=False)
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.AUTHORIZED and res.amount_captured == 0
    ref = ref_of(req, res)
    captured = await env.rzp.capture(ref, req.amount)
    assert captured.outcome is Outcome.CAPTURED and captured.amount_captured == req.amount
    again = await env.rzp.capture(ref, req.amount)  # a retry after a lost answer
    assert again.outcome is Outcome.CAPTURED


async def test_partial_capture_is_refused(env: Env) -> None:
    # Razorpay documents full-amount captures only (registry: partial_capture=False).
    req = request(card("4111111111111111"), capture=False)
    ref = ref_of(req, await env.rzp.authorize(req))
    out = await env.rzp.capture(ref, 20000)
    assert out.outcome is Outcome.DECLINED
    assert (await env.rzp.sync(ref)).outcome is Outcome.AUTHORIZED


async def test_capture_of_failed_payment_is_declined(env: Env) -> None:
    req = request(card("4000000000000002"))
    res = await env.rzp.authorize(req)
    out = await env.rzp.capture(ref_of(req, res), req.amount)
    assert out.outcome is Outcome.DECLINED and out.error_message


async def test_capture_timeout_is_unknown_then_retry_captured(env: Env) -> None:
    req = request(card("4111111111111111"), capture=False)
    ref = ref_of(req, await env.rzp.authorize(req))
    await env.fault("timeout", "/capture")
    async with new_client(5.0, 0.3) as short:
        lost = await env.connector(short).capture(ref, req.amount)
    assert lost.outcome is Outcome.UNKNOWN
    assert (await env.rzp.capture(ref, req.amount)).outcome is Outcome.CAPTURED


async def test_void_makes_no_call(env: Env) -> None:
    res = await env.rzp.void(AttemptRef("att_x", "pay_nothing", "order_nothing"))
    assert res.outcome is Outcome.VOIDED


async def test_refunds_partial_multiple_over_and_idempotent(env: Env) -> None:
    req = request(card("4111111111111111"), amount=10000)
    ref = ref_of(req, await env.rzp.authorize(req))
    first = await env.rzp.refund(RefundRequest("re_it_first01", ref, 3000, "INR"))
    assert first.outcome is RefundOutcome.SUCCEEDED and first.gateway_refund_id
    replay = await env.rzp.refund(RefundRequest("re_it_first01", ref, 3000, "INR"))
    assert replay.gateway_refund_id == first.gateway_refund_id  # X-Refund-Idempotency
    second = await env.rzp.refund(RefundRequest("re_it_second1", ref, 5000, "INR"))
    assert second.outcome is RefundOutcome.SUCCEEDED and second.gateway_refund_id != first.gateway_refund_id
    over = await env.rzp.refund(RefundRequest("re_it_over001", ref, 2001, "INR"))
    assert over.outcome is RefundOutcome.FAILED and over.error_message
    rest = await env.rzp.refund(RefundRequest("re_it_rest001", ref, 2000, "INR"))
    assert rest.outcome is RefundOutcome.SUCCEEDED


async def test_refund_pending_and_dropped_answer(env: Env) -> None:
    req = request(card("4111111111111111"), amount=10000)
    ref = ref_of(req, await env.rzp.authorize(req))
    await env.fault("refund_pending", "/refund")
    pending = await env.rzp.refund(RefundRequest("re_it_pend001", ref, 1000, "INR"))
    assert pending.outcome is RefundOutcome.PENDING
    await env.fault("drop", "/refund")
    lost = await env.rzp.refund(RefundRequest("re_it_drop001", ref, 1000, "INR"))
    assert lost.outcome is RefundOutcome.UNKNOWN
    retried = await env.rzp.refund(RefundRequest("re_it_drop001", ref, 1000, "INR"))
    assert retried.outcome is RefundOutcome.SUCCEEDED  # the same refund, not a second one


# --- transport faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["garbled", "empty", "drop"])
async def test_processed_but_unreadable_is_unknown_then_sync(env: Env, fault: str) -> None:
    await env.fault(fault, "/payments/create/json")
    req = request(card("4111111111111111"))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.gateway_order_id
    assert (await env.rzp.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize("fault", ["http_500", "http_503_html"])
async def test_5xx_without_trustworthy_body_is_unknown(env: Env, fault: str) -> None:
    await env.fault(fault, "/payments/create/json")
    req = request(card("4111111111111111"))
    res = await env.rzp.authorize(req)
    assert res.outcome is Outcome.UNKNOWN
    synced = await env.rzp.sync(ref_of(req, res))  # not processed: the order has no payment
    assert synced.outcome is Outcome.UNKNOWN and synced.raw_status == "no_payment"


async def test_read_timeout_is_unknown_then_sync_captured(env: Env) -> None:
    await env.fault("timeout", "/payments/create/json")
    req = request(card("4111111111111111"))
    async with new_client(5.0, 0.3) as short:
        res = await env.connector(short).authorize(req)
    assert res.outcome is Outcome.UNKNOWN and res.error_code == "transport_ReadTimeout"
    assert (await env.rzp.sync(ref_of(req, res))).outcome is Outcome.CAPTURED


@pytest.mark.parametrize("fault", ["http_500", "http_503_html", "garbled", "timeout"])
async def test_order_failures_are_retryable(env: Env, fault: str) -> None:
    await env.fault(fault, "/v1/orders")
    async with new_client(5.0, 0.3) as short:
        res = await env.connector(short).authorize(request(card("4111111111111111")))
    assert res.outcome is Outcome.RETRYABLE


async def test_unreachable_gateway_is_retryable(env: Env) -> None:
    dead = RazorpayConnector(CREDS, base_url=f"http://127.0.0.1:{free_port()}/razorpay", client=env.gateway)
    req = request(card("4111111111111111"))
    assert (await dead.authorize(req)).outcome is Outcome.RETRYABLE
    assert (await dead.sync(AttemptRef("a", "pay_x", "order_x"))).outcome is Outcome.UNKNOWN
    refund = await dead.refund(RefundRequest("re_it_dead001", AttemptRef("a", "pay_x"), 100, "INR"))
    assert refund.outcome is RefundOutcome.FAILED


async def test_wrong_credentials_are_retryable(env: Env) -> None:
    bad = build_connector(
        "razorpay", {"key_id": "rzp_live_nope", "key_secret": "x", "webhook_secret": "y"},
        base_url=env.url + "/razorpay", client=env.gateway,
    )  # fmt: skip
    assert (await bad.authorize(request(card("4111111111111111")))).outcome is Outcome.RETRYABLE


async def test_sync_without_references_is_unknown(env: Env) -> None:
    assert (await env.rzp.sync(AttemptRef("att_none"))).outcome is Outcome.UNKNOWN


# --- webhooks --------------------------------------------------------------------------------------


def _events_for(env: Env, pay_id: str) -> list[tuple[str, dict[str, str], bytes]]:
    return [d for d in env.receiver.deliveries if pay_id.encode() in d[2]]


async def test_webhooks_verify_and_parse(env: Env) -> None:
    req = request(card("4111111111111111"))
    res = await env.rzp.authorize(req)
    assert res.gateway_reference

    async def three() -> list[Any]:
        found = _events_for(env, res.gateway_reference or "")
        return found if len(found) >= 3 else []

    deliveries = await eventually(three)
    assert deliveries
    seen = {}
    for path, headers, body in deliveries:
        assert path == "/hooks/razorpay/mer_it"
        assert webhook_verified(env.rzp, headers, body)
        event = env.rzp.parse_webhook(headers, body)
        assert event.attempt_id == req.attempt_id and event.gateway_reference == res.gateway_reference
        seen[event.event_type] = event
    assert seen["payment.authorized"].charge.outcome is Outcome.AUTHORIZED  # type: ignore[union-attr]
    assert seen["payment.captured"].charge.outcome is Outcome.CAPTURED  # type: ignore[union-attr]
    assert seen["order.paid"].gateway_order_id == res.gateway_order_id


async def test_tampered_webhooks_do_not_verify(env: Env) -> None:
    await env.webhook_mode("tamper")
    res = await env.rzp.authorize(request(card("4111111111111111")))
    deliveries = await eventually(lambda: _events_for(env, res.gateway_reference or ""))
    assert deliveries and not any(webhook_verified(env.rzp, h, b) for _, h, b in deliveries)


async def test_refund_webhook_carries_our_refund_id(env: Env) -> None:
    req = request(card("4111111111111111"), amount=10000)
    ref = ref_of(req, await env.rzp.authorize(req))
    out = await env.rzp.refund(RefundRequest("re_it_hook001", ref, 500, "INR"))
    rid = out.gateway_refund_id or ""
    deliveries = await eventually(
        lambda: [d for d in env.receiver.deliveries if rid.encode() in d[2] and b"refund.processed" in d[2]]
    )
    assert out.outcome is RefundOutcome.SUCCEEDED and rid and deliveries, env.receiver.deliveries[-3:]
    event = env.rzp.parse_webhook(deliveries[0][1], deliveries[0][2])
    assert event.refund is not None and event.refund.outcome is RefundOutcome.SUCCEEDED
    assert event.refund_reference == "re_it_hook001" and event.refund.gateway_refund_id == rid
