"""The engine's one HTTP client for gateway calls: an aiohttp session sized for checkout load.

``engine.bootstrap`` creates one ``GatewayClient`` and closes it at shutdown; connectors hold it
and send through ``engine.gateways.http.send``, which classifies every outcome. Nothing here
decides whether a request was sent: this module only makes sure aiohttp never sends one twice.
"""

from __future__ import annotations

from types import TracebackType

import aiohttp

# Gateway latency must cost connections, not throughput (DESIGN §8): at 1 s latency thousands of
# calls are in flight. Beyond the limit, calls wait for a free connection up to the connect
# timeout (then NOT_SENT: nothing left).
DEFAULT_LIMIT = 1024
# Shorter than the shortest server-side idle timeout we talk to (uvicorn, the sandbox: 5 s; load
# balancers in front of gateways: 60 s and more). A pooled connection older than this is dropped
# instead of reused, so a request never races the server closing an idle connection -- the race
# that turns a perfectly good POST into UNKNOWN.
KEEPALIVE_S = 4.0


class ResendRefused(aiohttp.ClientConnectionError):
    """A connection failed after it was obtained; raised instead of aiohttp's own error so that
    aiohttp does not resend the request. The original error is ``__cause__``."""


async def _one_attempt(request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType) -> aiohttp.ClientResponse:
    """Client middleware: at most one attempt per request, whatever the method.

    aiohttp (3.x, ``ClientSession._request``) resends a request once on a fresh connection when
    the first attempt fails with ``ClientOSError`` or ``ServerDisconnectedError`` -- the stale
    keep-alive connection case -- but only for methods it calls idempotent (GET, HEAD, OPTIONS,
    TRACE, PUT, DELETE); a POST is never resent. We refuse the resend for every method: a GET
    whose first attempt reached the gateway and whose resend then failed to connect would
    otherwise be reported as "never sent", and one ``send`` must be one request on the wire.
    So a reset on a reused connection is UNKNOWN (``http.send``), never retried into NOT_SENT.
    (An idle connection whose close the loop has already seen is never reused: aiohttp checks
    ``is_connected()`` when it takes one from the pool.) Connect-phase errors pass unchanged
    (aiohttp never retries those).
    """
    try:
        return await handler(request)
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise ResendRefused(type(exc).__name__) from exc


class GatewayClient:
    """One ``aiohttp.ClientSession`` shared by every connector, created on first use.

    Created lazily so that building a connector needs no running event loop (configuration
    checks and unit tests build connectors synchronously); the session then lives in the loop
    that first sends. Timeouts: ``connect_timeout`` bounds waiting for a pooled connection plus
    DNS and the TCP/TLS handshake; ``read_timeout`` bounds each wait for response bytes. There
    is deliberately no total timeout: aiohttp raises a plain ``TimeoutError`` for it whatever the
    phase, which would hide whether the request left.
    """

    __slots__ = ("_closed", "_session", "connect_timeout", "keepalive_s", "limit", "read_timeout")

    def __init__(
        self,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 20.0,
        limit: int = DEFAULT_LIMIT,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.limit = limit
        self.keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def session(self) -> aiohttp.ClientSession | None:
        """The shared session (created now if this is the first call; needs a running loop), or
        ``None`` once the client is closed: a call racing shutdown must not open a new pool."""
        if self._closed:
            return None
        session = self._session
        if session is None:
            session = self._session = self._new_session()
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=0, keepalive_timeout=self.keepalive_s)
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.connect_timeout,
            sock_connect=self.connect_timeout,
            sock_read=self.read_timeout,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            middlewares=(_one_attempt,),
            # No cookies: one client serves every merchant's accounts, and gateways' APIs are
            # stateless; a shared jar could carry one account's cookie to another's request.
            cookie_jar=aiohttp.DummyCookieJar(),
            # No proxy or netrc lookups from the environment (aiohttp would do them per request,
            # in a thread); gateway credentials travel only in the headers the connector sets.
            trust_env=False,
            raise_for_status=False,
        )

    async def close(self) -> None:
        """Close the session and its connections; final (idempotent)."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def new_client(
    connect_timeout: float = 3.0, read_timeout: float = 20.0, *, limit: int = DEFAULT_LIMIT
) -> GatewayClient:
    """A gateway client with these timeouts (seconds): the engine's (bootstrap) and the tests'."""
    return GatewayClient(connect_timeout=connect_timeout, read_timeout=read_timeout, limit=limit)
