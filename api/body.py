"""Strict request-body decoding.

Litestar converts ``data`` leniently (``"100"`` would become ``100``); money APIs must not guess,
so handlers re-decode the raw body strictly with msgspec. ``data`` stays in the signatures for
the OpenAPI schema. A type error raises ``msgspec.ValidationError``, rendered as a 400 naming
the parameter.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from litestar import Request

from engine.errors import ValidationError

T = TypeVar("T", bound=msgspec.Struct)


async def strict(request: Request, kind: type[T]) -> T:
    """The body decoded as ``kind`` with no type coercion; an empty body counts as ``{}``."""
    raw = await request.body()
    if b"\\u0000" in raw:
        # PostgreSQL text cannot hold NUL, and no legitimate field needs it.
        raise ValidationError("Strings must not contain NUL characters.", code="parameter_invalid")
    return msgspec.json.decode(raw if raw.strip() else b"{}", type=kind)
