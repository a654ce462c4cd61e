"""The request gate that runs before Litestar touches the body: authenticate, then decode strictly.

Order matters for security and for clear errors: a request without valid credentials learns
nothing about its body; a request with credentials gets the exact parameter path of the first
body problem. Litestar's own ``data`` conversion is lenient (``"100"`` would become ``100``), so
the body is decoded here with msgspec's strict rules, once: the Struct is left where Litestar's
``data`` extractor looks for the decoded JSON (the connection's scope state), and converting an
instance of the target Struct hands it over unchanged, so the handler gets this very object.
``data`` in the handler signatures still documents the schema in OpenAPI.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.utils.scope.state import ScopeState

from api.deps import bearer, check_admin, engine_of
from engine.errors import NotFound, PermissionDenied, ValidationError
from engine.services import client_secrets, ratelimits
from engine.services.merchants import PUBLISHABLE_PREFIX, authenticate

_BODY_TYPES: dict[Any, tuple[type[msgspec.Struct], bool] | None] = {}


async def gate(request: Request) -> None:
    """App-level ``before_request``: auth by the route's ``opt["auth"]``, then strict decoding."""
    if not request.url.path.isprintable():
        # Ids never contain control characters; answer before anything reaches the database.
        raise NotFound("No such object.", code="resource_missing")
    handler = request.route_handler
    auth = handler.opt.get("auth")
    engine = engine_of(request.app.state)
    publishable = False
    if auth == "merchant":
        token = bearer(request)
        publishable = token.startswith(PUBLISHABLE_PREFIX)
        if publishable and not handler.opt.get("publishable"):
            # Decided before any lookup: a browser key opens two endpoints, nothing else.
            raise PermissionDenied(
                "A publishable key can only list a payment's methods and confirm it; use your secret key.",
                code="publishable_key_not_allowed",
            )
        request.state.merchant_id = await authenticate(engine, token, "publishable" if publishable else "secret")
        request.state.publishable = publishable
        await ratelimits.check(engine, request.state.merchant_id)  # before any claim or write
    elif auth == "admin":
        check_admin(engine, request)
    body_type = _body_type(handler)
    if body_type is not None:
        kind, optional = body_type
        raw = await request.body()
        if b"\\u0000" in raw:
            # PostgreSQL text cannot hold NUL, and no legitimate field needs it.
            _reject_nul(raw, kind)
        if optional and (not raw or raw.strip() == b"null"):
            # An optional body may be absent or JSON null (the document allows null); whitespace
            # alone is not JSON and is refused like any other malformed body.
            raw = b"{}"
        # Kept for the idempotency fingerprint too (api/idem.py: the decoded fields, sorted).
        request.state.body = ScopeState.from_scope(request.scope).json = msgspec.json.decode(raw, type=kind)
    if publishable:
        await _check_client_secret(request, engine)


async def _check_client_secret(request: Request, engine: Any) -> None:
    """A publishable-key request names its payment's client secret: the ``client_secret``
    query parameter (GET) or body field (POST). Nothing the browser must not choose may ride
    along: the gateway and the return URL are the merchant's (set with the secret key)."""
    body = getattr(request.state, "body", None)
    if request.method == "GET":
        presented = request.query_params.get("client_secret")
    else:
        presented = getattr(body, "client_secret", None)
        for field in ("gateway", "return_url"):
            if getattr(body, field, None) is not None:
                raise PermissionDenied(f"{field} cannot be set with a publishable key.", param=field)
    await client_secrets.verify(engine, request.state.merchant_id, request.path_params.get("payment_id", ""), presented)


def _body_type(handler: Any) -> tuple[type[msgspec.Struct], bool] | None:
    """The Struct a handler's ``data`` parameter expects, and whether an empty body is allowed."""
    if handler in _BODY_TYPES:
        return _BODY_TYPES[handler]
    found: tuple[type[msgspec.Struct], bool] | None = None
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is not None:
        annotation = parameter.annotation
        args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
        structs = [a for a in args if isinstance(a, type) and issubclass(a, msgspec.Struct)]
        if structs:
            found = (structs[0], type(None) in args)
    _BODY_TYPES[handler] = found
    return found


def _reject_nul(raw: bytes, kind: type[msgspec.Struct]) -> None:
    """Name the field holding a NUL character (decoding generically to find it)."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        value = None
    path = _find_nul(value, "")
    raise ValidationError("Strings must not contain NUL characters.", param=path or None)


def _find_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            if (found := _find_nul(item, here)) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := _find_nul(item, f"{path}.{index}")) is not None:
                return found
    return None
