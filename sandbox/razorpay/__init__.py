"""Razorpay simulator, mounted at ``/razorpay``: API, approval pages, signed webhooks.

Published test account: key id ``rzp_test_sandbox``, key secret ``sandbox_secret``, webhook secret
``sandbox_webhook_secret``. Any other key id starting with ``rzp_test_`` is accepted with the same
secret and is a separate account (objects are scoped by key id).
"""

from __future__ import annotations

from litestar import Router

from sandbox.context import GatewaySpec, SandboxContext
from sandbox.faults import fault_middleware
from sandbox.razorpay.errors import SERVER_ERROR_BODY, RazorpayError, error_response, not_found_response
from sandbox.razorpay.pages import pages_router
from sandbox.razorpay.routes import api_router
from sandbox.razorpay.service import RazorpayService

NAME = "razorpay"


def router() -> Router:
    """The ``/razorpay`` Router: the API, the pages, fault injection and Razorpay-shaped errors."""
    return Router(
        path=f"/{NAME}",
        route_handlers=[api_router(), pages_router()],
        middleware=[fault_middleware(NAME, SERVER_ERROR_BODY)],
        exception_handlers={RazorpayError: error_response},
    )


def install(ctx: SandboxContext) -> RazorpayService:
    """Create this gateway's state inside a sandbox context."""
    return RazorpayService(ctx)


GATEWAY = GatewaySpec(name=NAME, router=router, install=install, not_found=not_found_response)
