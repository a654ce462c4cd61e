"""Fault injection shared by every simulated gateway.

Faults are registered through ``POST /_sandbox/faults`` (see :mod:`sandbox.control`) and applied by
:func:`fault_middleware`, which wraps each gateway's Router. Transport faults:

* ``http_500``: answer 500 with the gateway's server-error body, *without* processing the request.
* ``http_503_html``: answer 503 with an HTML page, without processing.
* ``garbled``: process the request, then answer 200 with truncated (invalid) JSON.
* ``empty``: process, then answer 200 with an empty body.
* ``timeout``: process, then hang ``SANDBOX_HANG_S`` seconds before answering.
* ``drop``: process, then drop the connection in the middle of the response.
* ``latency``: add ``latency_ms`` before processing.

Outcome faults, consulted by the gateways themselves:

* ``refund_pending``: refunds are accepted as pending and processed after ``SANDBOX_UPI_DELAY_S``.
* ``refund_fail``: refunds are accepted as pending and fail after ``SANDBOX_UPI_DELAY_S``.
* ``refund_review``: refunds are accepted as pending and go to manual review (Juspay's
  ``MANUAL_REVIEW``; only Juspay has that state, other gateways ignore this fault).

A fault applies to one gateway, optionally only to paths containing ``path_contains`` and to one
HTTP ``method`` (a fault on ``POST .../orders`` must not be used up by a status read), for ``count``
requests (unlimited when omitted) until cleared. A route handler can also ask for its own response
to be cut off by setting the :data:`DROP_HEADER` response header (used by "charged, then the
connection drops" test instruments).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

DROP_HEADER = b"x-sandbox-drop-connection"

HTML_503 = (
    b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    b"<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)


class FaultKind(enum.StrEnum):
    """Kinds of injectable faults."""

    HTTP_500 = "http_500"
    HTTP_503_HTML = "http_503_html"
    GARBLED = "garbled"
    EMPTY = "empty"
    TIMEOUT = "timeout"
    DROP = "drop"
    LATENCY = "latency"
    REFUND_PENDING = "refund_pending"
    REFUND_FAIL = "refund_fail"
    REFUND_REVIEW = "refund_review"


TRANSPORT_FAULTS = frozenset(
    {
        FaultKind.HTTP_500,
        FaultKind.HTTP_503_HTML,
        FaultKind.GARBLED,
        FaultKind.EMPTY,
        FaultKind.TIMEOUT,
        FaultKind.DROP,
    }
)


@dataclass(slots=True)
class Fault:
    """One registered fault."""

    id: int
    gateway: str
    fault: FaultKind
    path_contains: str | None = None
    count: int | None = None
    latency_ms: int = 1000
    method: str | None = None  # only requests with this HTTP method (e.g. POST: create, not read)

    def matches(self, gateway: str, path: str, method: str | None = None) -> bool:
        """True when this fault applies to a request to ``path`` on ``gateway``."""
        return (
            self.gateway == gateway
            and (not self.path_contains or self.path_contains in path)
            and (not self.method or method is None or self.method == method)
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (``count`` is what is left; null means unlimited)."""
        return asdict(self)


class FaultRegistry:
    """The active faults of one sandbox instance."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        gateway: str,
        fault: FaultKind,
        path_contains: str | None = None,
        count: int | None = None,
        latency_ms: int = 1000,
        method: str | None = None,
    ) -> Fault:
        """Register a fault and return it."""
        item = Fault(next(self._ids), gateway, fault, path_contains or None, count, latency_ms, method)
        self._faults.append(item)
        return item

    def clear(self) -> int:
        """Remove every fault; returns how many there were."""
        count, self._faults = len(self._faults), []
        return count

    def list(self) -> list[Fault]:
        """The active faults, oldest first."""
        return list(self._faults)

    def take(self, gateway: str, path: str, kinds: Iterable[FaultKind], method: str | None = None) -> Fault | None:
        """The first active fault of one of ``kinds`` matching the request, consuming one use of it."""
        wanted = set(kinds)
        for item in self._faults:
            if item.fault in wanted and item.matches(gateway, path, method):
                self._consume(item)
                return item
        return None

    def take_latency_ms(self, gateway: str, path: str, method: str | None = None) -> int:
        """Sum of every matching ``latency`` fault (one use of each is consumed)."""
        total = 0
        for item in list(self._faults):
            if item.fault is FaultKind.LATENCY and item.matches(gateway, path, method):
                total += item.latency_ms
                self._consume(item)
        return total

    def _consume(self, item: Fault) -> None:
        if item.count is not None:
            item.count -= 1
            if item.count <= 0:
                self._faults.remove(item)


def _json_response(status: int, body: bytes, content_type: bytes = b"application/json") -> list[Message]:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


async def _send_all(send: Send, messages: list[Message]) -> None:
    for message in messages:
        await send(message)


def fault_middleware(gateway: str, server_error_body: bytes) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware factory applying latency and transport faults to one gateway's routes."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            ctx = scope["litestar_app"].state.sandbox
            path, method = scope["path"], scope["method"]
            delay_ms = ctx.settings.latency_ms + ctx.faults.take_latency_ms(gateway, path, method)
            if delay_ms > 0:
                # The request has arrived whole before the gateway is slow: like a real gateway,
                # it is processed even if the client gives up (or dies) while waiting.
                receive = await _buffered_request(receive)
                await asyncio.sleep(delay_ms / 1000)
            fault = ctx.faults.take(gateway, path, TRANSPORT_FAULTS, method)
            kind = fault.fault if fault else None
            if kind is FaultKind.HTTP_500:
                await _send_all(send, _json_response(500, server_error_body))
                return
            if kind is FaultKind.HTTP_503_HTML:
                await _send_all(send, _json_response(503, HTML_503, b"text/html"))
                return
            start, body = await _run_buffered(app, scope, receive)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != DROP_HEADER]
            drop = len(headers) != len(start.get("headers", []))
            start = {**start, "headers": headers}
            if kind is FaultKind.DROP or drop:
                await _send_partial(send, start, body)
                return
            if kind is FaultKind.GARBLED:
                garbled = body[: max(1, len(body) // 2)] if body.strip() else b'{"id": "'
                await _send_all(send, _json_response(200, garbled))
                return
            if kind is FaultKind.EMPTY:
                await _send_all(send, _json_response(200, b""))
                return
            if kind is FaultKind.TIMEOUT:
                await asyncio.sleep(ctx.settings.hang_s)
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return handle

    return middleware


async def _buffered_request(receive: Receive) -> Receive:
    """Read the whole request body now; the returned ``receive`` replays it to the app."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


async def _run_buffered(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[dict[str, Any], bytes]:
    """Run the wrapped app, collecting its response instead of sending it."""
    start: dict[str, Any] = {"type": "http.response.start", "status": 500, "headers": []}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = dict(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    body = b"".join(chunks)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    start["headers"] = headers
    return start, body


async def _send_partial(send: Send, start: dict[str, Any], body: bytes) -> None:
    """Announce the full Content-Length, send part of the body, then give up on the response.

    The server notices the incomplete response and closes the socket: the client sees the
    connection drop mid-response.
    """
    await send(start)
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
