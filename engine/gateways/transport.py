"""A sharded HTTP transport for the shared gateway client.

httpcore's connection pool does work proportional to the number of pooled connections (and of
queued requests) on every request: it checks each idle connection's socket and rescans the queue.
At checkout load (hundreds of concurrent gateway calls held open ~100 ms each) that bookkeeping
dominated the engine's CPU profile (about half of it). Spreading requests over several small
pools keeps each scan short while the total number of keep-alive connections stays the same.
"""

from __future__ import annotations

import httpx

DEFAULT_SHARDS = 16


class ShardedTransport(httpx.AsyncBaseTransport):
    """Sends each request through the least-busy of ``shards`` independent connection pools."""

    def __init__(self, *, shards: int = DEFAULT_SHARDS, connections_per_shard: int = 32) -> None:
        limits = httpx.Limits(max_connections=connections_per_shard, max_keepalive_connections=connections_per_shard)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._busy = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Route ``request`` to the pool with the fewest requests in flight."""
        index = min(range(len(self._pools)), key=self._busy.__getitem__)
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        # The connection stays busy until the body has been read and the response closed.
        response.stream = _Released(response.stream, self._busy, index)
        return response

    async def aclose(self) -> None:
        """Close every pool."""
        for pool in self._pools:
            await pool.aclose()


class _Released(httpx.AsyncByteStream):
    """A response stream that gives its pool's slot back when closed."""

    def __init__(self, inner: httpx.AsyncByteStream, busy: list[int], index: int) -> None:
        self._inner = inner
        self._busy = busy
        self._index = index
        self._open = True

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._index] -= 1
        await self._inner.aclose()
