"""The chaos suite's leak scan finds card data where it would really sit: PostgreSQL's WAL and
heap files (jsonb, after a CHECKPOINT), a Redis value and Redis's RDB dump -- and nothing in a
freshly migrated database or an empty Redis. Against servers of the test's own."""

from __future__ import annotations

import asyncpg
import redis.asyncio as aioredis

from chaos.scan import scan_files, scan_redis
from tests.support.owned import owned_services

PAN, CVV = "4111111111111111", "737"


async def test_the_scan_finds_card_data_in_the_wal_the_heap_and_redis() -> None:
    async with owned_services() as (svc, pg, rd):
        assert scan_files([pg.data], [PAN], [CVV], names=True) == []
        assert await scan_redis(rd.url, [PAN], [CVV], dump_dir=pg.data.parent) == []
        conn = await asyncpg.connect(svc.database_url)
        try:
            await conn.execute("CREATE TABLE leak (x jsonb)")
            await conn.execute(
                "INSERT INTO leak VALUES ($1::jsonb)", f'{{"card": {{"number": "{PAN}", "cvc": "{CVV}"}}}}'
            )
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        found = scan_files([pg.data], [PAN], [CVV], names=True)
        assert any("pg_wal" in f and "card number" in f for f in found), found
        assert any("/base/" in f and "card number" in f for f in found), found
        assert any("CVV field name" in f for f in found), found
        client = aioredis.Redis.from_url(rd.url)
        try:
            await client.set("cache:x", "a" * 64 + PAN + "b" * 64)  # long enough for RDB's LZF
        finally:
            await client.aclose()
        found = await scan_redis(rd.url, [PAN], [CVV], dump_dir=pg.data.parent)
        assert any("key b'cache:x'" in f for f in found) and any("redis dump" in f for f in found), found
