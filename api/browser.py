"""What the payment endpoints add for browser-side credentials: the client secret spliced into
the merchant's answers, and the trimmed payment a publishable key sees.

The stored answer of an idempotent create never holds the client secret (it is rendered
without it); the secret is appended to the JSON object as the last field when the response
leaves, from memory for the request that created the payment and, for a replay or a resumed
create, read back sealed from ``payment_client_secrets``. A replay is then byte for byte the
first answer (the same secret at the same place).
"""

from __future__ import annotations

import msgspec
from litestar import Request, Response

from api.idem import JSON
from engine.bootstrap import Engine
from engine.services import client_secrets

_BROWSER_FIELDS = (
    "id", "object", "amount", "currency", "status", "capture_method", "payment_method", "next_action",
    "last_error", "return_url",
)  # fmt: skip


class _Identified(msgspec.Struct):
    id: str = ""
    object: str = ""


def splice(body: bytes, secret: str) -> bytes:
    """``body`` (a JSON object) with ``"client_secret": secret`` appended."""
    return body[:-1] + b',"client_secret":' + msgspec.json.encode(secret) + b"}"


async def with_client_secret(
    engine: Engine, merchant_id: str, response: Response[bytes], created_id: str | None, secret: str | None
) -> Response[bytes]:
    """The merchant's (secret-key) answer about a payment, carrying its client secret.

    ``created_id``/``secret``: the payment this request created and its secret (in memory);
    any other payment's secret (a replay, a resumed create) is read back sealed.
    """
    body = response.content
    status = response.status_code or 200
    if not 200 <= status < 300 or not isinstance(body, bytes) or not body.endswith(b"}"):
        return response
    ident = msgspec.json.decode(body, type=_Identified)
    if ident.object != "payment":
        return response
    if ident.id != created_id or secret is None:
        secret = await client_secrets.reveal(engine, merchant_id, ident.id)
        if secret is None:
            return response
    return Response(splice(body, secret), status_code=status, media_type=JSON, headers=response.headers)


def for_browser(request: Request, response: Response[bytes]) -> Response[bytes]:
    """A publishable-key answer keeps only the checkout's fields of the payment (errors as they are)."""
    if not getattr(request.state, "publishable", False) or not 200 <= (response.status_code or 200) < 300:
        return response
    value = msgspec.json.decode(response.content)
    if not isinstance(value, dict) or value.get("object") != "payment":
        return response
    trimmed = {name: value.get(name) for name in _BROWSER_FIELDS}
    return Response(msgspec.json.encode(trimmed), status_code=response.status_code, media_type=JSON,
                    headers=response.headers)  # fmt: skip
