"""Juspay Express Checkout simulator, mounted at ``/juspay``: API, authentication page, webhooks.

Published test account: merchant id ``sandbox``, API key ``sandbox_api_key`` (HTTP Basic, key as the
username, empty password), response key ``sandbox_response_key`` (return-URL HMAC), webhook Basic
auth ``sandbox`` / ``sandbox_webhook_password``.

Endpoints: ``POST /customers``, ``GET /customers/{id}``, ``POST /orders``, ``GET /orders/{order_id}``
(legacy ``GET /order/status?order_id=``), ``POST /txns``, ``POST /orders/{order_id}/refunds``
(legacy ``POST /order/refund``), ``POST /v2/txns/{txn_uuid}/capture`` and ``.../void`` (pre-auth, see
:mod:`sandbox.juspay.preauth`); pages ``/pages/authenticate/{txn_uuid}``, ``/pay/{order_id}``.

Webhook routing: Juspay posts webhooks to a URL configured on its dashboard; the sandbox uses
``SANDBOX_WEBHOOK_URL`` with ``gateway="juspay"`` and ``merchant_id`` = the order's ``udf1`` (empty
when absent). Webhooks carry ``Authorization: Basic base64("sandbox:sandbox_webhook_password")``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router

from sandbox.context import GatewaySpec, SandboxContext
from sandbox.faults import fault_middleware
from sandbox.juspay.pages import pages_router
from sandbox.juspay.routes import api_router
from sandbox.juspay.service import JuspayService
from sandbox.juspay.wire import JuspayError

NAME = "juspay"
SERVER_ERROR_BODY = msgspec.json.encode(
    {"status": "error", "error_code": "internal_error", "error_message": "Something went wrong"}
)


def error_response(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler rendering :class:`JuspayError`."""
    assert isinstance(exc, JuspayError)
    return Response(content=exc.body, status_code=exc.status, media_type="application/json")


def router() -> Router:
    """The ``/juspay`` Router: the API, the pages, fault injection and Juspay-shaped errors."""
    return Router(
        path=f"/{NAME}",
        route_handlers=[api_router(), pages_router()],
        middleware=[fault_middleware(NAME, SERVER_ERROR_BODY)],
        exception_handlers={JuspayError: error_response},
    )


def install(ctx: SandboxContext) -> JuspayService:
    """Create this gateway's state inside a sandbox context."""
    return JuspayService(ctx)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Unknown URLs under ``/juspay``."""
    body = {"status": "error", "error_code": "not_found", "error_message": "Resource not found"}
    return Response(content=body, status_code=404, media_type="application/json")


GATEWAY = GatewaySpec(name=NAME, router=router, install=install, not_found=not_found)
