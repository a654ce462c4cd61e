"""What one API request answers, without a framework: a status, the exact body bytes, headers.

The payment routes run both under Litestar (every route) and as raw ASGI (the checkout's hot
routes, api/hot_routes.py); both build their answers and their error envelopes here, so the two
cannot drift apart. Every error leaves in the DESIGN.md shape ``{"error": {type, code, message,
param?}}``; nothing else reaches a client, so no stack trace, SQL or secret can leak.
"""

from __future__ import annotations

import logging
import re
from typing import NamedTuple

from engine.errors import DependencyUnavailable, EngineError
from engine.logs import ThrottledWarning
from engine.metrics import DEPENDENCY_ERRORS
from engine.store.db import is_outage
from engine.views import encode

log = logging.getLogger("api.errors")
_outage_log = ThrottledWarning(log)
JSON = "application/json"
# msgspec says "... - at `$.payment_method.card.number`" (or, for a bad dict key, "... - at `key`
# in `$.metadata`"); the path is the param.
_PATH = re.compile(r"(?:at|in) `\$\.?([^`]*)`")
_FIELD = re.compile(r"field `([^`]+)`")


class Answer(NamedTuple):
    """One response: status, body (JSON bytes, sent and stored as they are) and extra headers."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), if set."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


def error_answer(status: int, body: dict[str, object], headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """A JSON error envelope."""
    return Answer(status, encode({"error": body}), headers)


def engine_error(exc: EngineError) -> Answer:
    """An ``EngineError`` (with ``Retry-After`` when it says when to retry)."""
    headers = (("Retry-After", str(exc.retry_after)),) if exc.retry_after is not None else ()
    return error_answer(exc.status, exc.to_dict(), headers)


def invalid_body(message: str, key: str | None) -> Answer:
    """400 naming the offending parameter, derived from msgspec's message."""
    param = _param_from(message) or key
    if "malformed" in message.lower():
        return malformed_json()
    body: dict[str, object] = {"type": "invalid_request_error", "code": "parameter_invalid", "message": message[:300]}
    if param:
        body["param"] = param
    if message.startswith("Object missing required field"):
        body["code"] = "parameter_missing"
    elif message.startswith("Object contains unknown field"):
        body["code"] = "parameter_unknown"
    # msgspec messages never include values, only types and paths, so they are safe to echo.
    return error_answer(400, body)


def malformed_json() -> Answer:
    """400 for a body that is not JSON at all."""
    return error_answer(
        400,
        {
            "type": "invalid_request_error",
            "code": "parameter_invalid",
            "message": "The request body is not valid JSON.",
        },
    )


def too_large() -> Answer:
    """413 for a body above ``MAX_BODY_BYTES``."""
    return error_answer(
        413, {"type": "invalid_request_error", "code": "body_too_large", "message": "The request body is too large."}
    )


def unexpected(exc: Exception, method: str, path: str) -> Answer:
    """Anything unexpected: log it (with the request id), answer a bland 500.

    PostgreSQL being unreachable is not unexpected: it answers 503 ``service_unavailable`` with
    ``Retry-After`` and one warning line a minute, not a stack trace per request."""
    if is_outage(exc):
        DEPENDENCY_ERRORS.labels("postgres").inc()
        _outage_log.warn("postgres", "PostgreSQL is unreachable; answering 503", exc=exc)
        return engine_error(DependencyUnavailable("postgres"))
    log.error("unhandled error on %s %s: %s", method, path, type(exc).__name__, exc_info=exc)
    return error_answer(
        500,
        {
            "type": "api_error",
            "code": "internal_error",
            "message": "An internal error occurred. The request id identifies it in our logs.",
        },
    )


def _param_from(message: str) -> str | None:
    path = _PATH.search(message)
    field = _FIELD.search(message)
    parts = [p for p in ((path.group(1) if path else ""), (field.group(1) if field else "")) if p]
    return ".".join(parts).replace("[", ".").replace("]", "") or None
