"""Litestar's exception handlers: each renders through api/answers.py, the one place error
envelopes are built (framework errors -- bad JSON, wrong types, unknown fields, oversized bodies,
unknown routes -- are translated there too)."""

from __future__ import annotations

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api import answers
from api.answers import JSON, Answer
from engine.errors import EngineError


def respond(answer: Answer) -> Response[bytes]:
    """A Litestar response carrying ``answer`` byte for byte."""
    return Response(answer.body, status_code=answer.status, media_type=JSON, headers=dict(answer.headers) or None)


def engine_error_handler(_: Request, exc: EngineError) -> Response[bytes]:
    """Render an ``EngineError`` (with ``Retry-After`` when it says when to retry)."""
    return respond(answers.engine_error(exc))


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
    return respond(answers.invalid_body(message, key))


def schema_error_handler(_: Request, exc: msgspec.ValidationError) -> Response[bytes]:
    """A body our own decoder rejected: same shape as Litestar's."""
    return respond(answers.invalid_body(str(exc), None))


def http_error_handler(_: Request, exc: HTTPException) -> Response[bytes]:
    """404 routes, 405 methods, 413 bodies and the like, in our shape."""
    status = exc.status_code
    if status == 413:
        return respond(answers.too_large())
    code = {404: "route_not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}.get(
        status, "invalid_request"
    )
    message = str(exc.detail) if exc.detail else "Invalid request."
    if status == 400 and "malformed" in message.lower():
        return respond(answers.malformed_json())
    type_ = "invalid_request_error" if status < 500 else "api_error"
    # The framework's own headers stay: a 405 must list the route's methods in ``Allow`` (RFC 9110).
    headers = tuple((k, v) for k, v in (exc.headers or {}).items() if k.lower() == "allow")
    return respond(answers.error_answer(status, {"type": type_, "code": code, "message": message[:300]}, headers))


def decode_error_handler(_: Request, exc: msgspec.DecodeError) -> Response[bytes]:
    """Malformed JSON that reached our own decoders."""
    return respond(answers.malformed_json())


def internal_error_handler(request: Request, exc: Exception) -> Response[bytes]:
    """Anything unexpected: a bland 500 (PostgreSQL unreachable: 503), see ``answers.unexpected``."""
    return respond(answers.unexpected(exc, request.method, request.url.path))
