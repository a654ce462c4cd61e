"""The engine's connection pool and what counts as a database outage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from engine.store.pool import Pool

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


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20, acquire_timeout: float | None = None) -> Pool:
    """A started pool whose connections speak jsonb as Python values (acquires bounded by
    ``acquire_timeout``; see ``engine.store.pool`` for why it is not ``asyncpg.Pool``)."""
    pool = Pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        acquire_timeout=acquire_timeout,
        init=_init_connection,
        command_timeout=30,
        # A PostgreSQL that blackholes packets must cost a request seconds, not asyncpg's
        # default minute, before it answers 503.
        timeout=CONNECT_TIMEOUT_S,
    )
    return await pool.start()


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
