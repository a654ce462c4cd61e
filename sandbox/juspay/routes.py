"""Juspay HTTP routes (``/juspay/...``), authenticated with HTTP Basic ``<api_key>:`` (empty password).

``POST`` bodies may be form-encoded (``metadata.key=…`` dot keys) or JSON (nested objects are read as
the same dot keys: ``{"metadata": {"txns": {"auto_capture": false}}}``). ``POST /txns`` may also go
without an ``Authorization`` header (Juspay exempts the card API) when it names ``merchant_id=sandbox``;
a header that is present must be right. ``x-merchantid`` is accepted and not required.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath

from sandbox.context import context_of
from sandbox.faults import DROP_HEADER
from sandbox.juspay import preauth, refunds
from sandbox.juspay import wire as w
from sandbox.juspay.service import JuspayService

AnyRequest = Request[Any, Any, Any]
PathId = FromPath[str]


def _service(request: AnyRequest) -> JuspayService:
    service: JuspayService = context_of(request.scope).gateways["juspay"]
    return service


def authenticate(request: AnyRequest, optional: bool = False) -> None:
    """Raise 401 unless the request carries ``Basic base64(api_key:)``."""
    header = request.headers.get("authorization")
    if header is None and optional:
        return
    scheme, _, encoded = (header or "").partition(" ")
    try:
        key = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        key = ""
    if scheme.lower() != "basic" or not hmac.compare_digest(key.encode(), w.API_KEY.encode()):
        raise w.JuspayError(401, "access_denied", "Authentication failed: invalid API key")


async def _data(request: AnyRequest) -> dict[str, str]:
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            data = msgspec.json.decode(raw) if raw.strip() else {}
        except msgspec.DecodeError as exc:
            raise w.bad_request("Request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise w.bad_request("Request body must be a JSON object")
        return _flatten(data)
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON object as form-style dot keys (``true`` / ``false`` for booleans, nulls left out)."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif value is not None:
            flat[prefix + key] = str(value).lower() if isinstance(value, bool) else str(value)
    return flat


@post("/customers", status_code=200)
async def create_customer(request: AnyRequest) -> dict[str, Any]:
    """Create Customer."""
    authenticate(request)
    return _service(request).create_customer(await _data(request))


@get("/customers/{customer_id:str}", sync_to_thread=False)
def get_customer(request: AnyRequest, customer_id: PathId) -> dict[str, Any]:
    """Get Customer (by Juspay id or ``object_reference_id``)."""
    authenticate(request)
    return _service(request).get_customer(customer_id)


@post("/orders", status_code=200)
async def create_order(request: AnyRequest) -> dict[str, Any]:
    """Create Order."""
    authenticate(request)
    return _service(request).create_order(await _data(request))


@get("/orders/{order_id:str}", sync_to_thread=False)
def order_status(request: AnyRequest, order_id: PathId) -> dict[str, Any]:
    """Order Status."""
    authenticate(request)
    return w.order_wire(_service(request).order(order_id))


@get("/order/status", sync_to_thread=False)
def legacy_order_status(request: AnyRequest) -> dict[str, Any]:
    """Order Status, legacy form ``?order_id=``."""
    authenticate(request)
    return w.order_wire(_service(request).order(request.query_params.get("order_id", "")))


@post("/txns", status_code=200)
async def create_txn(request: AnyRequest) -> Response[Any]:
    """Server-to-server transaction."""
    authenticate(request, optional=True)
    data = await _data(request)
    if "authorization" not in request.headers and data.get("merchant_id") != w.MERCHANT_ID:
        raise w.JuspayError(401, "access_denied", "merchant_id is required without an API key")
    answer = _service(request).create_txn(data)
    headers = {DROP_HEADER.decode(): "1"} if answer.drop else None
    return Response(content=answer.body, headers=headers, media_type="application/json")


@post("/orders/{order_id:str}/refunds", status_code=200)
async def refund(request: AnyRequest, order_id: PathId) -> dict[str, Any]:
    """Refund Order (idempotent on ``unique_request_id``)."""
    authenticate(request)
    return refunds.refund(_service(request), order_id, await _data(request), request.url.path)


@post("/order/refund", status_code=200)
async def legacy_refund(request: AnyRequest) -> dict[str, Any]:
    """Refund Order, legacy form with ``order_id`` in the body."""
    authenticate(request)
    data = await _data(request)
    return refunds.refund(_service(request), data.get("order_id", ""), data, request.url.path)


@post("/v2/txns/{txn_uuid:str}/capture", status_code=200)
async def capture_txn(request: AnyRequest, txn_uuid: PathId) -> dict[str, Any]:
    """Capture a pre-authorization (``AUTHORIZED`` -> ``CHARGED``)."""
    authenticate(request)
    return preauth.capture(_service(request), txn_uuid, await _data(request))


@post("/v2/txns/{txn_uuid:str}/void", status_code=200)
async def void_txn(request: AnyRequest, txn_uuid: PathId) -> dict[str, Any]:
    """Void a pre-authorization (``AUTHORIZED`` -> ``VOIDED``); a body, if any, is not read."""
    authenticate(request)
    return preauth.void(_service(request), txn_uuid)


def api_router() -> Router:
    """The authenticated API."""
    handlers = [create_customer, get_customer, create_order, order_status, legacy_order_status, create_txn]
    return Router(path="/", route_handlers=[*handlers, refund, legacy_refund, capture_txn, void_txn])
