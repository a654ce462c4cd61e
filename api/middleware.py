"""Pure ASGI middleware (no framework imports): the one per-request layer around the app.

``RequestIdMiddleware`` gives every HTTP request an id: the caller's ``X-Request-Id`` when it is
1-64 safe characters, otherwise a fresh ``req_<uuid hex>``. The id is put into
``engine.logs.request_id_var`` for the duration of the request (so every log line carries it),
stored in ``scope["state"]["request_id"]``, and echoed in the response's ``X-Request-Id`` header.
The same layer writes the access log line and counts and times the request for Prometheus (by
method, route template and status: one counter and one histogram per request, no more).

It also sheds load: with ``max_inflight`` set, a request arriving while that many are already
being handled by this process answers ``503 overloaded`` with ``Retry-After`` at once, before
the framework, the database or a gateway sees it (queueing it would only make every client time
out). Health, readiness and metrics are never shed nor counted. The check is an int comparison:
the event loop runs one coroutine at a time, so the counter needs no lock.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import Counter, Histogram

from engine.logs import request_id_var
from engine.metrics import SHED_REQUESTS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = b"x-request-id"
access_log = logging.getLogger("api.access")
_SAFE = re.compile(rb"[A-Za-z0-9._:\-]{1,64}")
HTTP_REQUESTS = Counter(
    "payment_engine_http_requests_total", "HTTP requests by method, route and status", ["method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "payment_engine_http_request_seconds",
    "HTTP request duration by method and route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


_NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})
_OVERLOADED = (
    b'{"error":{"type":"api_error","code":"overloaded",'
    b'"message":"The server is handling too many requests; retry after the number of seconds in Retry-After."}}'
)
_OVERLOADED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_OVERLOADED)).encode()),
    (b"retry-after", b"1"),
]


def new_request_id() -> str:
    """A fresh request id, ``req_`` followed by 32 hex digits."""
    return f"req_{uuid.uuid4().hex}"


def request_id_from_headers(headers: list[tuple[bytes, bytes]] | Any) -> str:
    """The caller's ``X-Request-Id`` if it is acceptable, else a new id."""
    for name, value in headers or ():
        if name.lower() == HEADER:
            if _SAFE.fullmatch(value):
                return value.decode("ascii")
            break
    return new_request_id()


class RequestIdMiddleware:
    """ASGI middleware that assigns, propagates and echoes the request id."""

    def __init__(self, app: ASGIApp, max_inflight: int = 0) -> None:
        """Wrap ``app``; ``max_inflight`` > 0 caps the requests handled at once (see the module doc)."""
        self.app = app
        self.max_inflight = max_inflight
        self.inflight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = request_id_from_headers(scope.get("headers"))
        state = scope.get("state")
        if isinstance(state, MutableMapping):
            state["request_id"] = request_id
        encoded = request_id.encode("ascii")
        status = 0
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                headers.append((HEADER, encoded))
                message["headers"] = headers
            await send(message)

        token = request_id_var.set(request_id)
        counted = self.max_inflight > 0 and scope["type"] == "http" and scope.get("path") not in _NEVER_SHED
        try:
            if not counted:
                await self.app(scope, receive, send_with_id)
            elif self.inflight >= self.max_inflight:
                SHED_REQUESTS.inc()
                await send_with_id({"type": "http.response.start", "status": 503, "headers": list(_OVERLOADED_HEADERS)})
                await send_with_id({"type": "http.response.body", "body": _OVERLOADED})
            else:
                self.inflight += 1
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    self.inflight -= 1
        finally:
            if scope["type"] == "http":
                elapsed = time.perf_counter() - started
                method = scope.get("method", "")
                # The framework's route template ("/v1/payments/{payment_id}"): ids never
                # become label values, so the series stay bounded.
                route = scope.get("path_template") or "unmatched"
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_SECONDS.labels(method, route).observe(elapsed)
                # One access line per request, carrying the request id (the path never holds card
                # data: ids only; the query string is left out because it can hold anything).
                if access_log.isEnabledFor(logging.INFO):
                    access_log.info(
                        "%s %s %s",
                        method,
                        scope.get("path"),
                        status,
                        extra={"status": status, "duration_ms": round(elapsed * 1000, 2)},
                    )
            request_id_var.reset(token)


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Factory form, for frameworks that take ``app -> app`` callables."""
    return RequestIdMiddleware(app)
