"""Request dependencies: the engine and the authenticated merchant."""

from __future__ import annotations

from litestar import Request, Response
from litestar.datastructures import State

from api.admission import bearer_token
from api.errors import respond
from api.idem import Call, Handler, run
from api.render import OK
from engine.bootstrap import Engine
from engine.errors import AuthenticationFailed, PermissionDenied
from engine.results import Render
from engine.services.merchants import KEY_PREFIX
from engine.signing import constant_time_equal


def engine_of(state: State) -> Engine:
    """The running engine (set up by the app's lifespan)."""
    return state.engine  # type: ignore[no-any-return]


def bearer(request: Request) -> str:
    """The bearer token, or 401."""
    return bearer_token(request.headers.get("authorization"))


async def merchant_id(request: Request) -> str:
    """The merchant authenticated by the request gate (``api.hooks.gate``)."""
    return request.state.merchant_id  # type: ignore[no-any-return]


def check_admin(engine: Engine, request: Request) -> None:
    """Admin calls need ``ENGINE_ADMIN_TOKEN``; an unset token disables the admin API."""
    expected = engine.settings.admin_token
    token = bearer(request)
    if not expected:
        raise PermissionDenied("The admin API is disabled: ENGINE_ADMIN_TOKEN is not set.")
    if not constant_time_equal(token, expected):
        if token.startswith(KEY_PREFIX):
            raise PermissionDenied("A merchant API key cannot call the admin API.")
        raise AuthenticationFailed("Invalid admin token.")


async def call_of(request: Request) -> Call:
    """The admitted request (api/hooks.py left the merchant and the decoded body in its state)."""
    body = getattr(request.state, "body", None)
    return Call(
        request.method,
        request.url.path,
        request.headers.get("idempotency-key"),
        body,
        b"" if body is not None else await request.body(),
        getattr(request.state, "merchant_id", ""),
        getattr(request.state, "publishable", False),
    )


async def run_call(
    request: Request, engine: Engine, merchant_id: str, handler: Handler, *, render: Render = OK
) -> Response[bytes]:
    """``api.idem.run`` for a Litestar handler: the request under its ``Idempotency-Key``."""
    return respond(await run(await call_of(request), engine, merchant_id, handler, render=render))
