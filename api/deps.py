"""Request dependencies: the engine and the authenticated merchant."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State

from engine.bootstrap import Engine
from engine.errors import AuthenticationFailed, PermissionDenied
from engine.services.merchants import KEY_PREFIX
from engine.signing import constant_time_equal


def engine_of(state: State) -> Engine:
    """The running engine (set up by the app's lifespan)."""
    return state.engine  # type: ignore[no-any-return]


def bearer(request: Request) -> str:
    """The bearer token, or 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Provide your API key as 'Authorization: Bearer sk_test_…'.", code="missing_api_key")
    return token.strip()


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
