"""The one place connectors talk HTTP: send a request and classify what the transport proved.

A payment call has three possible transport outcomes, and confusing them costs money:

* ``NOT_SENT`` -- the request provably never reached the gateway (connection refused, DNS or
  TLS failure, connect timeout, no free pooled connection in time). Nothing can have been
  charged; retrying or routing elsewhere is safe.
* ``UNKNOWN`` -- the request (or part of it) left, but no complete answer came back (read
  timeout, connection reset or closed mid-request or mid-response, protocol error). The gateway
  may have acted; only a status sync can tell.
* ``ANSWERED`` -- a complete HTTP response: status, headers, raw body, and the body parsed as
  JSON -- or a parse failure flag when it is empty, HTML or garbled. Nothing here raises on a
  bad body; judging the answer is the transformer's job.

Connectors share one ``GatewayClient`` (``engine.gateways.client``: one aiohttp session, its
timeouts and pool set by the engine). The classification is ours, not the library's: aiohttp's
exceptions are mapped one by one below, and a failure after a connection was obtained is never
"not sent" -- a reset on a reused keep-alive connection included. Request bodies are never logged
(they may hold a card number).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import enum
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import msgspec
from aiohttp.http_exceptions import ContentEncodingError

from engine.gateways.client import GatewayClient, ResendRefused, new_client

__all__ = [
    "MAX_BODY_BYTES",
    "GatewayClient",
    "HttpResult",
    "RequestCounter",
    "Transport",
    "counting",
    "new_client",
    "parse_json",
    "send",
]

log = logging.getLogger("engine.gateways.http")

# Gateway answers are small JSON documents; anything bigger is hostile or broken. Reading is
# capped so a 50 MB body cannot exhaust memory (reliability catalog G4).
MAX_BODY_BYTES = 1 << 20

_json_encoder = msgspec.json.Encoder()

# Raised before a single byte of the request left this process: the connector could not get a
# connection (refused, DNS, TLS handshake -- all ``ClientConnectorError``), the pool wait or the
# handshake timed out (``ConnectionTimeoutError``, raised by aiohttp only around
# ``connector.connect``), or aiohttp refused to build the request at all.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
)

# Stable names for ``HttpResult.error`` (they end up in attempts' error codes, e.g.
# ``transport_ReadTimeout``): the vocabulary predates aiohttp and must not change with the
# library. First match wins; order matters where classes nest.
_ERROR_NAMES: tuple[tuple[type[BaseException], str], ...] = (
    (aiohttp.ConnectionTimeoutError, "ConnectTimeout"),
    (aiohttp.ClientConnectorError, "ConnectError"),
    (aiohttp.NonHttpUrlClientError, "UnsupportedProtocol"),
    (aiohttp.InvalidURL, "InvalidURL"),
    (aiohttp.SocketTimeoutError, "ReadTimeout"),  # sock_read: no byte for read_timeout
    (aiohttp.ServerDisconnectedError, "RemoteProtocolError"),  # closed before a complete answer
    (aiohttp.ClientResponseError, "RemoteProtocolError"),  # not HTTP: bad status line, headers
    (aiohttp.ClientPayloadError, "RemoteProtocolError"),  # body cut short or malformed
    (aiohttp.ClientOSError, "ReadError"),  # reset after connect
    (aiohttp.ClientConnectionError, "WriteError"),  # aiohttp: "failed to send bytes"
    (asyncio.TimeoutError, "ReadTimeout"),
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

    ``data`` is the parsed JSON document when ``parsed`` is true; ``error`` is a stable name of
    the transport failure (``ConnectError``, ``ReadTimeout``, ...; see ``_ERROR_NAMES``), never
    an exception message, which could echo a URL with credentials.
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
    client: GatewayClient,
    method: str,
    url: str,
    *,
    json: object | None = None,
    form: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    max_body: int = MAX_BODY_BYTES,
) -> HttpResult:
    """Send one request and classify the outcome. Never raises for network or body trouble.

    ``json`` may be a msgspec Struct or plain data; it is encoded with msgspec. ``form`` is sent
    ``application/x-www-form-urlencoded`` instead (an empty mapping sends an empty form body).
    ``auth`` is HTTP Basic ``(user, password)``. Redirects are not followed (a gateway API never
    redirects; following one could leak credentials). Exactly one request goes on the wire:
    aiohttp's resend of idempotent methods is disabled (``client._one_attempt``). Task
    cancellation still propagates: the caller decides what a cancelled call means.
    """
    started = time.perf_counter()
    req_headers = {"Accept": "application/json"}
    if headers:
        req_headers.update(headers)
    data: bytes | None = None
    if form is not None:
        data = urlencode(form).encode()
        req_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json is not None:
        data = _json_encoder.encode(json)
        req_headers["Content-Type"] = "application/json"
    if auth is not None:
        req_headers["Authorization"] = _basic(auth)
    session = client.session()
    if session is None:  # the engine is shutting down: nothing can have left
        return _done(Transport.NOT_SENT, method, url, started, error="ClientClosed")
    try:
        response = await session.request(method, url, data=data, headers=req_headers, allow_redirects=False)
    except _NOT_SENT_ERRORS as exc:
        return _done(Transport.NOT_SENT, method, url, started, error=_name(exc))
    except Exception as exc:  # timeout/reset/garbage after the connection was obtained, or unforeseen
        return _done(Transport.UNKNOWN, method, url, started, error=_name(exc))
    try:
        body, too_large = await _read_capped(response, max_body)
    except aiohttp.ClientPayloadError as exc:
        response.close()
        if not isinstance(exc.__cause__, ContentEncodingError):
            return _done(Transport.UNKNOWN, method, url, started, error=_name(exc))
        # Complete response with a broken Content-Encoding: an answer, but an unreadable one.
        return _done(
            Transport.ANSWERED,
            method,
            url,
            started,
            status=response.status,
            headers=_headers(response),
            error="DecodingError",
        )
    except Exception as exc:  # reset/timeout while reading the body: no complete answer
        response.close()
        return _done(Transport.UNKNOWN, method, url, started, error=_name(exc))
    except BaseException:  # cancelled mid-body: the connection cannot be reused
        response.close()
        raise
    parsed, document = (False, None) if too_large else parse_json(body)
    return _done(
        Transport.ANSWERED,
        method,
        url,
        started,
        status=response.status,
        headers=_headers(response),
        body=body,
        data=document,
        parsed=parsed,
        too_large=too_large,
    )


async def _read_capped(response: aiohttp.ClientResponse, max_body: int) -> tuple[bytes, bool]:
    """The body, or ``(b"", True)`` past ``max_body`` bytes (the connection is then closed)."""
    length = response.content_length
    if length is not None and length > max_body:
        response.close()
        return b"", True
    content = response.content
    chunks: list[bytes] = []
    size = 0
    # Read at most one byte past the cap: enough to know it is too large.
    while chunk := await content.read(max_body + 1 - size):
        size += len(chunk)
        if size > max_body:
            response.close()
            return b"", True
        chunks.append(chunk)
    response.release()  # complete: the connection goes back to the pool
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), False


def _basic(auth: tuple[str, str]) -> str:
    user, password = auth
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in response.headers.items():
        name = key.lower()
        # A repeated header reads as one comma-joined value (RFC 9110 §5.3), as it did before.
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _name(exc: BaseException) -> str:
    if isinstance(exc, ResendRefused) and exc.__cause__ is not None:
        exc = exc.__cause__
    for kind, name in _ERROR_NAMES:
        if isinstance(exc, kind):
            return name
    return type(exc).__name__


def mark_sent() -> None:
    """Count one request that may have reached the gateway in the current ``counting()`` block
    (every ``send`` that did not prove NOT_SENT calls it; so do fakes of connectors)."""
    if (counter := _counter.get()) is not None:
        counter.sent += 1


def _done(transport: Transport, method: str, url: str, started: float, **fields: Any) -> HttpResult:
    elapsed = (time.perf_counter() - started) * 1000
    result = HttpResult(transport=transport, elapsed_ms=elapsed, **fields)
    if transport is not Transport.NOT_SENT:
        mark_sent()
    if log.isEnabledFor(logging.DEBUG):
        # Path only: query strings and bodies stay out of logs.
        log.debug(
            "gateway call %s %s -> %s %s %.1fms",
            method,
            urlsplit(url).path,
            transport.value,
            result.status or result.error,
            elapsed,
        )
    return result
