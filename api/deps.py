"""Request dependencies: the engine and the authenticated merchant."""

from __future__ import annotations

from litestar import Request
from litestar.datastructures import State

from engine.bootstrap import Engine
from engine.errors import AuthenticationFailed, PermissionDenied
from engine.services.merchants import authenticate
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


async def merchant_id(request: Request, state: State) -> str:
    """The merchant the API key belongs to (401 otherwise)."""
    return await authenticate(engine_of(state), bearer(request))


async def admin(request: Request, state: State) -> None:
    """Admin calls need ``ENGINE_ADMIN_TOKEN``; an unset token disables the admin API."""
    expected = engine_of(state).settings.admin_token
    token = bearer(request)
    if not expected:
        raise PermissionDenied("The admin API is disabled: ENGINE_ADMIN_TOKEN is not set.")
    if not constant_time_equal(token, expected):
        raise AuthenticationFailed("Invalid admin token.")
