"""PayU India simulator, mounted at ``/payu``: ``_payment``, the command API, the PayU page, webhooks.

Published test account: key ``sandboxkey``, salt ``sandboxsalt``. Hashes: :mod:`sandbox.payu.hashes`.

Webhook routing: PayU sends webhooks to a URL configured on its dashboard; the sandbox uses
``SANDBOX_WEBHOOK_URL`` with ``gateway="payu"`` and ``merchant_id`` = the ``udf1`` posted with
``_payment`` (empty when absent). Payment webhooks are the response fields, form-encoded, with the
reverse ``hash``; refund webhooks are JSON (see :mod:`sandbox.payu.commands`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router

from sandbox.context import GatewaySpec, SandboxContext
from sandbox.faults import fault_middleware
from sandbox.payu.routes import api_router
from sandbox.payu.service import PayuService

NAME = "payu"
SERVER_ERROR_BODY = b'{"status":0,"msg":"Internal Server Error"}'


def router() -> Router:
    """The ``/payu`` Router with fault injection."""
    return Router(
        path=f"/{NAME}", route_handlers=[api_router()], middleware=[fault_middleware(NAME, SERVER_ERROR_BODY)]
    )


def install(ctx: SandboxContext) -> PayuService:
    """Create this gateway's state inside a sandbox context."""
    return PayuService(ctx)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """PayU answers unknown URLs with an HTML 404."""
    return Response(content="<html><body><h1>404 Not Found</h1></body></html>", status_code=404, media_type="text/html")


GATEWAY = GatewaySpec(name=NAME, router=router, install=install, not_found=not_found)
