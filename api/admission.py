"""Admitting a request, without a framework: authenticate, rate-limit, then decode strictly.

Order matters for security and for clear errors: a request without valid credentials learns
nothing about its body; a request with credentials gets the exact parameter path of the first
body problem. Bodies are decoded with msgspec's strict rules (``"100"`` never becomes ``100``),
once, into the Struct the handler uses. Litestar's gate (api/hooks.py) and the raw ASGI hot
routes (api/hot_routes.py) both admit requests through these functions.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine.bootstrap import Engine
from engine.errors import AuthenticationFailed, NotFound, PermissionDenied, ValidationError
from engine.services import client_secrets, ratelimits
from engine.services.merchants import PUBLISHABLE_PREFIX, authenticate

_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def check_path(path: str) -> None:
    """Ids never contain control characters: answer 404 before anything reaches the database."""
    if not path.isprintable():
        raise NotFound("No such object.", code="resource_missing")


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer …`` header, or 401."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Provide your API key as 'Authorization: Bearer sk_test_…'.", code="missing_api_key")
    return token.strip()


async def admit_merchant(engine: Engine, authorization: str | None, *, publishable_route: bool) -> tuple[str, bool]:
    """The merchant a request is from and whether it used its publishable key; 401/403/429."""
    token = bearer_token(authorization)
    publishable = token.startswith(PUBLISHABLE_PREFIX)
    if publishable and not publishable_route:
        # Decided before any lookup: a browser key opens two endpoints, nothing else.
        raise PermissionDenied(
            "A publishable key can only list a payment's methods and confirm it; use your secret key.",
            code="publishable_key_not_allowed",
        )
    merchant_id = await authenticate(engine, token, "publishable" if publishable else "secret")
    await ratelimits.check(engine, merchant_id)  # before any claim or write
    return merchant_id, publishable


def decode_body(raw: bytes, kind: type[msgspec.Struct], optional: bool) -> msgspec.Struct:
    """``raw`` as a ``kind``, strictly; 400 naming the first bad parameter."""
    if b"\\u0000" in raw:
        # PostgreSQL text cannot hold NUL, and no legitimate field needs it.
        _reject_nul(raw)
    if optional and (not raw or raw.strip() == b"null"):
        # An optional body may be absent or JSON null (the document allows null); whitespace
        # alone is not JSON and is refused like any other malformed body.
        raw = b"{}"
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.json.Decoder(kind)
    return decoder.decode(raw)  # type: ignore[no-any-return]


async def check_client_secret(
    engine: Engine, merchant_id: str, payment_id: str, method: str, body: Any, query_secret: str | None
) -> None:
    """A publishable-key request names its payment's client secret: the ``client_secret``
    query parameter (GET) or body field (POST). Nothing the browser must not choose may ride
    along: the gateway and the return URL are the merchant's (set with the secret key)."""
    if method == "GET":
        presented = query_secret
    else:
        presented = getattr(body, "client_secret", None)
        for field in ("gateway", "return_url"):
            if getattr(body, field, None) is not None:
                raise PermissionDenied(f"{field} cannot be set with a publishable key.", param=field)
    await client_secrets.verify(engine, merchant_id, payment_id, presented)


def _reject_nul(raw: bytes) -> None:
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
