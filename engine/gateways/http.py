"""The one place connectors talk HTTP: send a request and classify what the transport proved.

A payment call has three possible transport outcomes, and confusing them costs money:

* ``NOT_SENT`` -- the request provably never reached the gateway (connection refused, DNS or
  TLS failure, connect timeout, pool exhausted). Nothing can have been charged; retrying or
  routing elsewhere is safe.
* ``UNKNOWN`` -- the request (or part of it) left, but no complete answer came back (read or
  write timeout, connection reset or closed mid-response, protocol error). The gateway may
  have acted; only a status sync can tell.
* ``ANSWERED`` -- a complete HTTP response: status, headers, raw body, and the body parsed as
  JSON -- or a parse failure flag when it is empty, HTML or garbled. Nothing here raises on a
  bad body; judging the answer is the transformer's job.

Connectors share one ``httpx.AsyncClient`` (timeouts and pool set by the engine); this module
never creates clients. Request bodies are never logged (they may hold a card number).
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import msgspec

log = logging.getLogger("engine.gateways.http")

# Gateway answers are small JSON documents; anything bigger is hostile or broken. Reading is
# capped so a 50 MB body cannot exhaust memory (reliability catalog G4).
MAX_BODY_BYTES = 1 << 20

_json_encoder = msgspec.json.Encoder()

# Raised before a single byte of the request left this process.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,  # refused, DNS, TLS handshake
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,  # the client refused to build the request
    httpx.ProxyError,
    httpx.InvalidURL,
)


class RequestCounter:
    """How many requests of one connector call may have reached the gateway (see ``counting``)."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = 0


_counter: contextvars.ContextVar[RequestCounter | None] = contextvars.ContextVar("gateway_requests", default=None)


@contextlib.contextmanager
def counting() -> Iterator[RequestCounter]:
    """Count, within the block (same task), the requests that may have left this process: an
    exception raised by a connector before any did is a bug that cannot have moved money."""
    counter = RequestCounter()
    token = _counter.set(counter)
    try:
        yield counter
    finally:
        _counter.reset(token)


class Transport(enum.StrEnum):
    """What the transport proved about a request."""

    NOT_SENT = "not_sent"
    UNKNOWN = "unknown"
    ANSWERED = "answered"


class HttpResult(msgspec.Struct, frozen=True):
    """The classified result of one HTTP exchange.

    ``data`` is the parsed JSON document when ``parsed`` is true; ``error`` names the transport
    exception class (never its message, which could echo a URL with credentials).
    """

    transport: Transport
    status: int = 0
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    body: bytes = b""
    data: Any = None
    parsed: bool = False
    too_large: bool = False
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def answered(self) -> bool:
        """A complete HTTP response arrived."""
        return self.transport is Transport.ANSWERED

    @property
    def ok(self) -> bool:
        """A complete 2xx response arrived."""
        return self.answered and 200 <= self.status < 300


def parse_json(body: bytes) -> tuple[bool, Any]:
    """Parse ``body`` as JSON; ``(False, None)`` for empty, HTML or garbled bodies."""
    if not body.strip():
        return False, None
    try:
        return True, msgspec.json.decode(body)
    except msgspec.DecodeError:
        return False, None


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    json: object | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    max_body: int = MAX_BODY_BYTES,
) -> HttpResult:
    """Send one request and classify the outcome. Never raises for network or body trouble.

    ``json`` may be a msgspec Struct or plain data; it is encoded with msgspec. Redirects are
    not followed (a gateway API never redirects; following one could leak credentials).
    Task cancellation still propagates: the caller decides what a cancelled call means.
    """
    started = time.perf_counter()
    req_headers = {"Accept": "application/json", **(headers or {})}
    content: bytes | None = None
    if json is not None:
        content = _json_encoder.encode(json)
        req_headers["Content-Type"] = "application/json"
    try:
        request = client.build_request(method, url, content=content, headers=req_headers)
        response = await client.send(
            request,
            stream=True,
            follow_redirects=False,
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        )
    except _NOT_SENT_ERRORS as exc:
        return _done(Transport.NOT_SENT, method, url, started, error=type(exc).__name__)
    except Exception as exc:  # timeout/reset after the request left, or anything unforeseen
        return _done(Transport.UNKNOWN, method, url, started, error=type(exc).__name__)
    try:
        body, too_large = await _read_capped(response, max_body)
    except httpx.DecodingError as exc:
        # Complete response with a broken Content-Encoding: an answer, but an unreadable one.
        await response.aclose()
        return _done(
            Transport.ANSWERED,
            method,
            url,
            started,
            status=response.status_code,
            headers=_headers(response),
            error=type(exc).__name__,
        )
    except Exception as exc:  # reset/timeout while reading the body: no complete answer
        await _close_quietly(response)
        return _done(Transport.UNKNOWN, method, url, started, error=type(exc).__name__)
    parsed, data = (False, None) if too_large else parse_json(body)
    return _done(
        Transport.ANSWERED,
        method,
        url,
        started,
        status=response.status_code,
        headers=_headers(response),
        body=body,
        data=data,
        parsed=parsed,
        too_large=too_large,
    )


async def _read_capped(response: httpx.Response, max_body: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_body:
                return b"", True
            chunks.append(chunk)
    finally:
        await response.aclose()
    return b"".join(chunks), False


async def _close_quietly(response: httpx.Response) -> None:
    try:
        await response.aclose()
    except Exception:  # noqa: S110 - the connection is already broken; nothing to report
        pass


def _headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _done(transport: Transport, method: str, url: str, started: float, **fields: Any) -> HttpResult:
    elapsed = (time.perf_counter() - started) * 1000
    result = HttpResult(transport=transport, elapsed_ms=elapsed, **fields)
    if transport is not Transport.NOT_SENT and (counter := _counter.get()) is not None:
        counter.sent += 1
    # Path only: query strings and bodies stay out of logs.
    log.debug(
        "gateway call %s %s -> %s %s %.1fms",
        method,
        httpx.URL(url).path,
        transport.value,
        result.status or result.error,
        elapsed,
    )
    return result
