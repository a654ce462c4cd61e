"""Paytm PG simulator, mounted at ``/paytm``: JSON APIs, bank / OTP / wallet page, signed webhooks.

Published test account: MID ``SANDBOXMID0000000001``, merchant key ``sandboxmerchkey1``, website
``WEBSTAGING`` (any ``websiteName`` is accepted). Signatures are PaytmChecksum
(:mod:`sandbox.paytm.checksum`): ``head.signature`` over the exact ``body`` JSON text of requests
and responses, ``CHECKSUMHASH`` (dict mode) on callbacks and payment webhooks.

Endpoints: ``POST /theia/api/v1/initiateTransaction`` (alias ``/order/initiate``),
``POST /theia/api/v1/processTransaction``, ``POST /v3/order/status``, ``POST /refund/apply``,
``POST /v2/refund/status``; page ``/pages/bank/{TXNID}``.

Webhook routing: Paytm sends webhooks to a URL configured per MID; the sandbox uses
``SANDBOX_WEBHOOK_URL`` with ``gateway="paytm"`` and ``merchant_id`` = the order's
``body.extendInfo.mercUnqRef`` from Initiate Transaction (empty when absent). Payment webhooks are
form-encoded callback fields with ``CHECKSUMHASH``; refund webhooks are signed JSON envelopes.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router

from sandbox.context import GatewaySpec, SandboxContext
from sandbox.faults import fault_middleware
from sandbox.paytm import wire
from sandbox.paytm.pages import pages_router
from sandbox.paytm.routes import api_router
from sandbox.paytm.service import PaytmService

NAME = "paytm"
SERVER_ERROR_BODY = wire.signed({"resultInfo": wire.result_info(wire.SYSTEM_ERROR)})


def router() -> Router:
    """The ``/paytm`` Router: the API, the pages and fault injection."""
    return Router(
        path=f"/{NAME}",
        route_handlers=[api_router(), pages_router()],
        middleware=[fault_middleware(NAME, SERVER_ERROR_BODY)],
    )


def install(ctx: SandboxContext) -> PaytmService:
    """Create this gateway's state inside a sandbox context."""
    return PaytmService(ctx)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Paytm (a Spring application) answers unknown URLs with a JSON 404."""
    body = {"status": 404, "error": "Not Found", "path": request.url.path}
    return Response(content=body, status_code=404, media_type="application/json")


GATEWAY = GatewaySpec(name=NAME, router=router, install=install, not_found=not_found)
