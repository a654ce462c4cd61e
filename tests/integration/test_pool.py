"""The engine's connection pool against a real PostgreSQL: bounded waits, hand-over, and a
connection reused only when it is known to be clean."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from engine.errors import ServiceUnavailable
from engine.store.db import create_pool
from engine.store.pool import Pool
from tests.support.gateway_env import eventually
from tests.support.stack import Services

pytestmark = pytest.mark.integration


async def _backend(pool: Pool) -> int:
    return await pool.fetchval("SELECT pg_backend_pid()")


async def test_a_starved_pool_answers_service_unavailable_in_bounded_time(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=0.3)
    try:
        async with pool.acquire():
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable):
                await pool.fetchval("SELECT 1")
            assert time.monotonic() - started < 2.0
        assert await pool.fetchval("SELECT 1") == 1  # the slot is usable again
        assert pool.get_size() == 1
    finally:
        await pool.close()


async def test_a_released_connection_goes_to_the_first_waiter(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=5)
    order: list[int] = []
    try:
        held = pool.acquire()
        conn = await held.__aenter__()
        first_pid = await conn.fetchval("SELECT pg_backend_pid()")

        async def waiter(n: int) -> None:
            async with pool.acquire() as c:
                order.append(n)
                assert await c.fetchval("SELECT pg_backend_pid()") == first_pid

        tasks = [asyncio.create_task(waiter(n)) for n in range(3)]
        assert await eventually(lambda: len(pool._waiters) == 3)  # every waiter queued, none served
        assert order == []
        await held.__aexit__(None, None, None)
        await asyncio.gather(*tasks)
        assert order == [0, 1, 2] and pool.get_size() == 1
    finally:
        await pool.close()


async def test_a_server_error_keeps_the_connection_but_a_cancelled_statement_drops_it(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=5)
    try:
        pid = await _backend(pool)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetchval("SELECT 1 / 0")
        assert await _backend(pool) == pid  # answered by the server: still clean

        slow = asyncio.create_task(pool.fetchval("SELECT pg_sleep(10)"))
        assert await eventually(lambda: pool.get_idle_size() == 0)  # the sleep holds the connection
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert await _backend(pool) != pid  # a fresh connection, not the half-read one
        assert pool.get_size() == 1
    finally:
        await pool.close()


async def test_an_open_transaction_is_never_handed_on(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=5)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT pg_backend_pid()") != pid
    finally:
        await pool.close()


async def test_a_connection_lost_while_idle_is_replaced(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=5)
    killer = await asyncpg.connect(svc.database_url)
    try:
        pid = await _backend(pool)
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        idle = pool._idle[0]
        assert await eventually(idle.is_closed)  # the client sees the server hang up
        assert await _backend(pool) != pid
    finally:
        await killer.close()
        await pool.close()


async def test_a_failed_connect_frees_its_slot(svc: Services) -> None:
    pool = Pool("postgresql://postgres@127.0.0.1:1/none", min_size=0, max_size=1, acquire_timeout=5, timeout=2)
    for _ in range(3):  # the slot comes back each time: the next acquire tries again, never hangs
        with pytest.raises(OSError):
            await pool.fetchval("SELECT 1")
    assert pool.get_size() == 0


async def test_a_closed_pool_refuses_and_releases_its_waiters(svc: Services) -> None:
    pool = await create_pool(svc.database_url, min_size=1, max_size=1, acquire_timeout=5)
    held = pool.acquire()
    await held.__aenter__()
    waiting = asyncio.create_task(pool.fetchval("SELECT 1"))
    assert await eventually(lambda: len(pool._waiters) == 1)
    await pool.close()
    with pytest.raises(ServiceUnavailable):
        await waiting
    await held.__aexit__(None, None, None)  # terminated on release
    assert pool.get_size() == 0
    with pytest.raises(ServiceUnavailable):
        await pool.fetchval("SELECT 1")
