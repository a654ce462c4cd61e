"""Razorpay API routes (``/razorpay/v1/...``), authenticated with HTTP Basic ``key_id:key_secret``."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from sandbox.context import context_of
from sandbox.faults import DROP_HEADER
from sandbox.razorpay import validation as v
from sandbox.razorpay.errors import auth_failed, input_error
from sandbox.razorpay.refunds import create_refund
from sandbox.razorpay.service import RazorpayService
from sandbox.razorpay.wire import collection, key_secret_for, order_wire, payment_wire, refund_wire

AnyRequest = Request[Any, Any, Any]
KeyId = NamedDependency[str]
Rzp = NamedDependency[RazorpayService]
PathId = FromPath[str]


def authenticate(request: AnyRequest) -> str:
    """The key id of a request carrying valid Basic credentials; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise auth_failed()
    try:
        key_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise auth_failed() from exc
    expected = key_secret_for(key_id)
    if expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise auth_failed()
    return key_id


def provide_service(request: AnyRequest, key_id: str) -> RazorpayService:
    """The Razorpay state of the application serving this request (once ``key_id`` authenticated).

    Depending on ``key_id`` makes the two dependencies one chain: Litestar resolves a batch of
    several dependencies in an anyio task group per request, which was 12% of the sandbox's CPU.
    """
    del key_id
    service: RazorpayService = context_of(request.scope).gateways["razorpay"]
    return service


async def _body(request: AnyRequest) -> dict[str, Any]:
    return v.parse_body(await request.body(), request.headers.get("content-type", ""))


def _query_int(request: AnyRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = v.integer(raw, name)
    if not low <= value <= high:
        raise input_error(f"The {name} must be between {low} and {high}.", name)
    return value


@post("/v1/orders", status_code=200)
async def create_order(request: AnyRequest, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Create an order."""
    return order_wire(rzp.create_order(key_id, await _body(request)))


@get("/v1/orders", sync_to_thread=False)
def list_orders(request: AnyRequest, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """List orders (``receipt``, ``count`` 1-100 default 10, ``skip``)."""
    count = _query_int(request, "count", 10, 1, 100)
    skip = _query_int(request, "skip", 0, 0, 10**9)
    orders = rzp.list_orders(key_id, request.query_params.get("receipt"), count, skip)
    return collection(order_wire(order) for order in orders)


@get("/v1/orders/{order_id:str}", sync_to_thread=False)
def fetch_order(order_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Fetch one order."""
    return order_wire(rzp.store.order(key_id, order_id))


@get("/v1/orders/{order_id:str}/payments", sync_to_thread=False)
def order_payments(order_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """The payments of an order, newest first."""
    order = rzp.store.order(key_id, order_id)
    return collection(payment_wire(rzp.store.payments[pid]) for pid in reversed(order.payment_ids))


@post(["/v1/payments/create/json", "/v1/payments/create/upi"], status_code=200)
async def create_payment(request: AnyRequest, key_id: KeyId, rzp: Rzp) -> Response[Any]:
    """S2S JSON payment creation; the outcome depends on the test instrument."""
    created = rzp.create_payment(key_id, await _body(request))
    headers = {DROP_HEADER.decode(): "1"} if created.drop else None
    return Response(content=created.body, status_code=200, headers=headers, media_type="application/json")


@get("/v1/payments/{payment_id:str}", sync_to_thread=False)
def fetch_payment(payment_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Fetch one payment."""
    return payment_wire(rzp.store.payment(key_id, payment_id))


@post("/v1/payments/{payment_id:str}/capture", status_code=200)
async def capture_payment(request: AnyRequest, payment_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Capture an authorized payment."""
    return payment_wire(rzp.capture(key_id, payment_id, await _body(request)))


@post("/v1/payments/{payment_id:str}/refund", status_code=200)
async def refund_payment(request: AnyRequest, payment_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Refund (part of) a captured payment; ``X-Refund-Idempotency`` makes retries safe."""
    idempotency = request.headers.get("x-refund-idempotency")
    refund = create_refund(rzp, key_id, payment_id, await _body(request), idempotency, request.url.path)
    return refund_wire(refund)


@get("/v1/payments/{payment_id:str}/refunds", sync_to_thread=False)
def payment_refunds(payment_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """The refunds of a payment, newest first."""
    payment = rzp.store.payment(key_id, payment_id)
    return collection(refund_wire(rzp.store.refunds[rid]) for rid in reversed(payment.refund_ids))


@get("/v1/payments/{payment_id:str}/refunds/{refund_id:str}", sync_to_thread=False)
def payment_refund(payment_id: PathId, refund_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """One refund of a payment."""
    refund = rzp.store.refund(key_id, refund_id)
    if refund.payment_id != rzp.store.payment(key_id, payment_id).id:
        raise input_error("The refund does not belong to this payment.", "refund_id")
    return refund_wire(refund)


@get("/v1/refunds/{refund_id:str}", sync_to_thread=False)
def fetch_refund(refund_id: PathId, key_id: KeyId, rzp: Rzp) -> dict[str, Any]:
    """Fetch one refund."""
    return refund_wire(rzp.store.refund(key_id, refund_id))


def api_router() -> Router:
    """The authenticated ``/v1`` API."""
    return Router(
        path="/",
        route_handlers=[
            create_order,
            list_orders,
            fetch_order,
            order_payments,
            create_payment,
            fetch_payment,
            capture_payment,
            refund_payment,
            payment_refunds,
            payment_refund,
            fetch_refund,
        ],
        dependencies={
            "key_id": Provide(authenticate, sync_to_thread=False),
            "rzp": Provide(provide_service, sync_to_thread=False),
        },
    )
