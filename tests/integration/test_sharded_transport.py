"""The sharded gateway transport spreads concurrent calls and gives every slot back."""

from __future__ import annotations

import asyncio

import httpx

from engine.gateways.transport import ShardedTransport
from tests.support.servers import serve_asgi


async def slow_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await asyncio.sleep(0.05)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_concurrent_calls_use_several_pools_and_release_them():
    transport = ShardedTransport(shards=4, connections_per_shard=8)
    async with serve_asgi(slow_app) as url, httpx.AsyncClient(transport=transport) as client:
        seen_busy: list[int] = []

        async def call() -> int:
            response = await client.get(url)
            seen_busy.append(sum(1 for n in transport._busy if n))
            return response.status_code

        statuses = await asyncio.gather(*(call() for _ in range(40)))
        assert statuses == [200] * 40
        assert max(seen_busy) > 1  # more than one pool was in use at once
        assert transport._busy == [0, 0, 0, 0]  # every slot was given back
