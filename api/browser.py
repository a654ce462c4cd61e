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

from api.answers import Answer
from engine.bootstrap import Engine
from engine.services import client_secrets

_BROWSER_FIELDS = (
    "id", "object", "amount", "currency", "status", "capture_method", "payment_method", "next_action",
    "last_error", "return_url",
)  # fmt: skip


class _Identified(msgspec.Struct):
    id: str = ""
    object: str = ""


_identified = msgspec.json.Decoder(_Identified).decode


def splice(body: bytes, secret: str) -> bytes:
    """``body`` (a JSON object) with ``"client_secret": secret`` appended."""
    return body[:-1] + b',"client_secret":' + msgspec.json.encode(secret) + b"}"


async def with_client_secret(
    engine: Engine, merchant_id: str, answer: Answer, created_id: str | None, secret: str | None
) -> Answer:
    """The merchant's (secret-key) answer about a payment, carrying its client secret.

    ``created_id``/``secret``: the payment this request created and its secret (in memory);
    any other payment's secret (a replay, a resumed create) is read back sealed.
    """
    if not 200 <= answer.status < 300 or not answer.body.endswith(b"}"):
        return answer
    ident = _identified(answer.body)
    if ident.object != "payment":
        return answer
    if ident.id != created_id or secret is None:
        secret = await client_secrets.reveal(engine, merchant_id, ident.id)
        if secret is None:
            return answer
    return answer._replace(body=splice(answer.body, secret))


def for_browser(publishable: bool, answer: Answer) -> Answer:
    """A publishable-key answer keeps only the checkout's fields of the payment (errors as they are)."""
    if not publishable or not 200 <= answer.status < 300:
        return answer
    value = msgspec.json.decode(answer.body)
    if not isinstance(value, dict) or value.get("object") != "payment":
        return answer
    trimmed = {name: value.get(name) for name in _BROWSER_FIELDS}
    return answer._replace(body=msgspec.json.encode(trimmed))
