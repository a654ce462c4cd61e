"""Every error leaves the API in the DESIGN.md shape: ``{"error": {type, code, message, param?}}``.

Framework errors (bad JSON, wrong types, unknown fields, oversized bodies, unknown routes) are
translated here; nothing else reaches the client, so no stack trace, SQL or secret can leak.
"""

from __future__ import annotations

import logging
import re

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from engine.errors import DependencyUnavailable, EngineError
from engine.logs import ThrottledWarning
from engine.metrics import DEPENDENCY_ERRORS
from engine.store.db import is_outage
from engine.views import encode

log = logging.getLogger("api.errors")
_outage_log = ThrottledWarning(log)
_JSON = "application/json"
# msgspec says "... - at `$.payment_method.card.number`" (or, for a bad dict key, "... - at `key`
# in `$.metadata`"); the path is the param.
_PATH = re.compile(r"(?:at|in) `\$\.?([^`]*)`")
_FIELD = re.compile(r"field `([^`]+)`")


def error_response(status: int, body: dict[str, object], headers: dict[str, str] | None = None) -> Response[bytes]:
    """A JSON error response with exact bytes."""
    return Response(encode({"error": body}), status_code=status, media_type=_JSON, headers=headers)


def engine_error_handler(_: Request, exc: EngineError) -> Response[bytes]:
    """Render an ``EngineError`` (with ``Retry-After`` when it says when to retry)."""
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return error_response(exc.status, exc.to_dict(), headers)


def validation_handler(_: Request, exc: ValidationException) -> Response[bytes]:
    """Body or parameter decoding failed: name the parameter and the problem."""
    message, key = "The request is invalid.", None
    extra = exc.extra if isinstance(exc.extra, list) else []
    if extra and isinstance(extra[0], dict):
        first = extra[0]
        message = str(first.get("message") or message)
        key = str(first["key"]) if first.get("key") else None
    elif exc.detail:
        message = str(exc.detail)
    return invalid_body(message, key)


def schema_error_handler(_: Request, exc: msgspec.ValidationError) -> Response[bytes]:
    """A body our own decoder rejected (optional bodies): same shape as Litestar's."""
    return invalid_body(str(exc), None)


def invalid_body(message: str, key: str | None) -> Response[bytes]:
    """400 naming the offending parameter, derived from msgspec's message."""
    param = _param_from(message) or key
    if "malformed" in message.lower():
        message, param = "The request body is not valid JSON.", None
    body: dict[str, object] = {"type": "invalid_request_error", "code": "parameter_invalid", "message": _clean(message)}
    if param:
        body["param"] = param
    if message.startswith("Object missing required field"):
        body["code"] = "parameter_missing"
    elif message.startswith("Object contains unknown field"):
        body["code"] = "parameter_unknown"
    return error_response(400, body)


def _param_from(message: str) -> str | None:
    path = _PATH.search(message)
    field = _FIELD.search(message)
    parts = [p for p in ((path.group(1) if path else ""), (field.group(1) if field else "")) if p]
    return ".".join(parts).replace("[", ".").replace("]", "") or None


def _clean(message: str) -> str:
    # msgspec messages never include values, only types and paths, so they are safe to echo.
    return message[:300]


def http_error_handler(_: Request, exc: HTTPException) -> Response[bytes]:
    """404 routes, 405 methods, 413 bodies and the like, in our shape."""
    status = exc.status_code
    code = {
        404: "route_not_found",
        405: "method_not_allowed",
        413: "body_too_large",
        415: "unsupported_media_type",
    }.get(status, "invalid_request")
    message = {413: "The request body is too large."}.get(status, str(exc.detail) if exc.detail else "Invalid request.")
    if status == 400 and "malformed" in message.lower():
        code, message = "parameter_invalid", "The request body is not valid JSON."
    type_ = "invalid_request_error" if status < 500 else "api_error"
    # The framework's own headers stay: a 405 must list the route's methods in ``Allow`` (RFC 9110).
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"} or None
    return error_response(status, {"type": type_, "code": code, "message": message[:300]}, headers)


def decode_error_handler(_: Request, exc: msgspec.DecodeError) -> Response[bytes]:
    """Malformed JSON that reached our own decoders."""
    return error_response(
        400,
        {
            "type": "invalid_request_error",
            "code": "parameter_invalid",
            "message": "The request body is not valid JSON.",
        },
    )


def internal_error_handler(request: Request, exc: Exception) -> Response[bytes]:
    """Anything unexpected: log it (with the request id), answer a bland 500.

    PostgreSQL being unreachable is not unexpected: it answers 503 ``service_unavailable`` with
    ``Retry-After`` and one warning line a minute, not a stack trace per request."""
    if is_outage(exc):
        DEPENDENCY_ERRORS.labels("postgres").inc()
        _outage_log.warn("postgres", "PostgreSQL is unreachable; answering 503", exc=exc)
        return engine_error_handler(request, DependencyUnavailable("postgres"))
    log.error("unhandled error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
    return error_response(
        500,
        {
            "type": "api_error",
            "code": "internal_error",
            "message": "An internal error occurred. The request id identifies it in our logs.",
        },
    )
