"""The asyncpg connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec
from asyncpg.pool import PoolAcquireContext

from engine.errors import ServiceUnavailable

_encode = msgspec.json.encode
_decode = msgspec.json.decode
# What an unreachable, restarting or shut-down PostgreSQL raises through asyncpg: refused or reset
# sockets (OSError), "the database system is starting up / shutting down" (CannotConnectNow,
# class 57P), a connection closed under a query (InterfaceError, ConnectionDoesNotExist, class
# 08) and a pool acquire or connect that timed out. None of these says anything about the data.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.InterfaceError,
)
CONNECT_TIMEOUT_S = 5.0
# asyncpg query loggers attached to every new pooled connection; tests count round trips with
# them (a regression in statements per operation fails a test). Empty in production.
QUERY_LOGGERS: list[Callable[[Any], None]] = []


async def _init_connection(conn: asyncpg.Connection) -> None:
    for logger in QUERY_LOGGERS:
        conn.add_query_logger(logger)
    # jsonb <-> Python through msgspec: faster than the stdlib and exact for our types.
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=lambda v: _encode(v).decode(), decoder=_decode, format="text"
    )


async def _no_session_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's default reset query on release (a round trip per request).

    The engine never changes session state on pooled connections (no SET, LISTEN, cursors or
    advisory locks; migrations use their own connection), and asyncpg still rolls back any
    transaction left open before calling this.
    """


class _BoundedAcquire(PoolAcquireContext):
    """``async with pool.acquire()`` that gives up after the pool's acquire timeout.

    The bound is an ``asyncio.timeout`` around asyncpg's untimed acquire: asyncpg's own timeout
    runs the acquire through ``wait_for``, a task per acquire, i.e. per statement here."""

    __slots__ = ("bound",)

    def __init__(self, pool: asyncpg.Pool, timeout: float | None) -> None:
        super().__init__(pool, None)
        self.bound = timeout

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            async with asyncio.timeout(self.bound):
                return await super().__aenter__()
        except TimeoutError:
            raise ServiceUnavailable(
                "The service is busy (no database connection was free in time); retry shortly."
            ) from None


class BoundedPool(asyncpg.Pool):
    """A pool where every acquire -- ``pool.fetch`` and friends included -- waits at most
    ``acquire_timeout`` seconds for a connection, then raises ``ServiceUnavailable`` (503): a
    starved pool answers in bounded time instead of queueing requests until clients give up."""

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        """A connection within ``timeout`` (default: the pool's ``acquire_timeout``)."""
        return _BoundedAcquire(self, timeout if timeout is not None else self.acquire_timeout)


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 20, acquire_timeout: float | None = None
) -> asyncpg.Pool:
    """A pool whose connections speak jsonb as Python values (acquires bounded by ``acquire_timeout``)."""
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_no_session_reset,
        command_timeout=30,
        # A PostgreSQL that blackholes packets must cost a request seconds, not asyncpg's
        # default minute, before it answers 503.
        timeout=CONNECT_TIMEOUT_S,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        max_queries=50000,
        # No idle-connection timer: asyncpg re-arms it on every release (a timer per statement);
        # the pool is small and PostgreSQL can keep its idle connections.
        max_inactive_connection_lifetime=0,
        connect=None,
        setup=None,
        loop=None,
    )
    pool.acquire_timeout = acquire_timeout
    await pool
    return pool


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL is unreachable (not that a query or the data is wrong)."""
    if isinstance(exc, asyncpg.InterfaceError):
        # InterfaceError also covers API misuse (a bug, which must stay a 500); only a lost
        # connection is an outage.
        text = str(exc).lower()
        return "connection" in text and ("closed" in text or "lost" in text or "released" in text)
    if isinstance(exc, asyncpg.exceptions.InternalClientError):
        # A connection whose server vanished mid-statement can report its protocol state as
        # "another operation is in progress" on the next one; asyncpg then discards it.
        return "another operation" in str(exc)
    return isinstance(exc, OUTAGE_ERRORS)
