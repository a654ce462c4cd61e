"""The sandbox ASGI application: every simulated gateway under its own prefix, plus the control API.

Each gateway lives in its own folder (``sandbox/<gateway>/``) and exposes a
:class:`~sandbox.context.GatewaySpec` named ``GATEWAY``; adding one means appending it to
:data:`GATEWAYS`.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.exceptions import MethodNotAllowedException, NotFoundException

from sandbox import juspay, paytm, payu, razorpay
from sandbox.config import SandboxSettings
from sandbox.context import GatewaySpec, SandboxContext
from sandbox.control import control_router

GATEWAYS: tuple[GatewaySpec, ...] = (razorpay.GATEWAY, paytm.GATEWAY, payu.GATEWAY, juspay.GATEWAY)


def create_app(settings: SandboxSettings | None = None) -> Litestar:
    """Build the sandbox app (settings default to :meth:`SandboxSettings.from_env`)."""
    ctx = SandboxContext(settings or SandboxSettings.from_env())
    for spec in GATEWAYS:
        ctx.gateways[spec.name] = spec.install(ctx)

    def unknown_route(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        for spec in GATEWAYS:
            if spec.not_found is not None and request.url.path.startswith(f"/{spec.name}/"):
                return spec.not_found(request, exc)
        status = 405 if isinstance(exc, MethodNotAllowedException) else 404
        return Response({"status_code": status, "detail": str(exc)}, status_code=status)

    return Litestar(
        route_handlers=[control_router(), *(spec.router() for spec in GATEWAYS)],
        logging_config=None,  # keep the process's own logging setup
        state=State({"sandbox": ctx}),
        on_startup=[ctx.startup],
        on_shutdown=[ctx.shutdown],
        exception_handlers={NotFoundException: unknown_route, MethodNotAllowedException: unknown_route},
        openapi_config=None,
        debug=False,
    )


def serve(host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the sandbox with uvicorn until interrupted (``payment-engine sandbox`` calls this)."""
    import uvicorn

    uvicorn.run(create_app(), host=host, port=port, log_level="info", proxy_headers=False)
