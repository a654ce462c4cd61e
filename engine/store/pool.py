"""A lean pool of asyncpg connections: acquire, run, release -- and nothing per statement besides.

Why not ``asyncpg.Pool``: the engine runs every statement on its own pooled acquire (a connection
is never held across a gateway call), and asyncpg's pool costs about 55 µs of CPU per acquire +
release on top of the statement itself (a proxy object, a future, a timer, and a task per
release for ``asyncio.shield``). Measured on the 2-core development machine (20 tasks, a
one-row ``fetchrow`` on loopback, CPU per statement): asyncpg's pool 88-94 µs, this pool
47-52 µs, a bare connection 34-46 µs -- about a quarter of a millisecond per checkout (six
statements). This pool keeps only what the engine relies on:

- at most ``max_size`` connections, opened on demand (``min_size`` at start), each set up by
  ``init``; idle ones are reused last-in first-out (the warmest statement cache);
- an acquire waits at most ``acquire_timeout`` seconds -- for a free connection or for a new one
  to open -- and then raises ``ServiceUnavailable`` (503), so a starved or unreachable database
  answers in bounded time;
- a connection is reused only when the block that used it ended cleanly (or with an error the
  server answered, which leaves the protocol idle) and outside a transaction; anything else --
  a cancellation mid-statement, a lost socket, a timeout -- terminates it, and the freed slot
  lets the next acquire open a fresh one: the pool recovers by itself once PostgreSQL is back;
- no reset query on release (the engine never changes session state on pooled connections).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg

from engine.errors import ServiceUnavailable

Init = Callable[[asyncpg.Connection], Awaitable[None]]
_BUSY = "The service is busy (no database connection was free in time); retry shortly."


class Pool:
    """Connections to one database; ``async with pool.acquire() as conn`` or ``pool.fetch(...)``."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int,
        max_size: int,
        acquire_timeout: float | None,
        init: Init | None = None,
        **connect_kwargs: Any,
    ) -> None:
        """A pool for ``dsn``; ``connect_kwargs`` go to ``asyncpg.connect`` for every connection."""
        if not 0 <= min_size <= max_size or max_size < 1:
            raise ValueError("need 0 <= min_size <= max_size and max_size >= 1")
        self._dsn = dsn
        self._min = min_size
        self._max = max_size
        self.acquire_timeout = acquire_timeout
        self._init = init
        self._connect_kwargs = connect_kwargs
        self._idle: list[asyncpg.Connection] = []
        # Acquires waiting for a slot: each is handed a connection, or None ("open one yourself").
        self._waiters: collections.deque[asyncio.Future[asyncpg.Connection | None]] = collections.deque()
        self._size = 0  # open connections plus connections being opened
        self._closed = False

    async def start(self) -> Pool:
        """Open ``min_size`` connections (raising what connecting raises)."""
        for _ in range(self._min - len(self._idle)):
            self._size += 1
            try:
                self._idle.append(await self._connect())
            except BaseException:
                self._size -= 1
                raise
        return self

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        """A connection within ``timeout`` seconds (default: the pool's ``acquire_timeout``)."""
        return _Acquire(self, timeout if timeout is not None else self.acquire_timeout)

    # ``timeout`` is asyncpg's own statement timeout: repositories run on a connection or on the
    # pool alike (engine.store.base.Executor), so the signatures match asyncpg.Connection's.
    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> list[asyncpg.Record]:  # noqa: ASYNC109
        """``Connection.fetch`` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetch(query, *args, timeout=timeout)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """``Connection.fetchrow`` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """``Connection.fetchval`` on a pooled connection."""
        async with self.acquire() as conn:
            return await conn.fetchval(query, *args, timeout=timeout)

    async def execute(self, query: str, *args: Any) -> str:
        """``Connection.execute`` on a pooled connection (its command tag)."""
        async with self.acquire() as conn:
            return await conn.execute(query, *args)

    def get_size(self) -> int:
        """Connections open or being opened."""
        return self._size

    def get_idle_size(self) -> int:
        """Open connections not in use."""
        return len(self._idle)

    async def close(self) -> None:
        """Close the idle connections now and every other one when it is released; later
        acquires raise ``ServiceUnavailable``."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ServiceUnavailable("The service is shutting down; retry shortly."))
        idle, self._idle = self._idle, []
        self._size -= len(idle)
        await asyncio.gather(*(conn.close(timeout=2) for conn in idle), return_exceptions=True)

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self._dsn, **self._connect_kwargs)
        try:
            if self._init is not None:
                await self._init(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    def _take_idle(self) -> asyncpg.Connection | None:
        """The warmest idle connection still open, if any (no await: the common case)."""
        if self._closed:
            raise ServiceUnavailable("The service is shutting down; retry shortly.")
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
            self._size -= 1  # lost while idle (PostgreSQL restarted): open a fresh one instead
        return None

    async def _wait_or_connect(self) -> asyncpg.Connection:
        """A connection handed over by a release, or a new one when a slot is free."""
        if self._size >= self._max:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._put(waiter.result(), reusable=True)  # handed over as we gave up
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            if handed is not None:
                return handed
        else:
            self._size += 1
        try:
            return await self._connect()
        except BaseException:
            self._free_slot()
            raise

    def _put(self, conn: asyncpg.Connection | None, *, reusable: bool) -> None:
        """Give ``conn`` back (``None``: a slot whose connection could not be opened)."""
        if conn is None:
            self._free_slot()
        elif not reusable or self._closed or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._free_slot()
        else:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(conn)
                    return
            self._idle.append(conn)

    def _free_slot(self) -> None:
        """One connection fewer: the first waiter may open its own."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # keeps the slot: it opens the connection
                return
        self._size -= 1


class _Acquire:
    """``async with pool.acquire() as conn``: bounded wait in, clean-or-terminate out."""

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        conn = self._pool._take_idle()
        if conn is None:  # only a wait or a connect needs the bound (and its timer)
            try:
                async with asyncio.timeout(self._timeout):
                    conn = await self._pool._wait_or_connect()
            except TimeoutError:
                raise ServiceUnavailable(_BUSY) from None
        self._conn = conn
        return conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        # A server-side error (constraint, serialization, …) ends with the protocol ready for the
        # next statement; anything else may have left a statement half-sent or half-read.
        reusable = exc is None or (isinstance(exc, asyncpg.PostgresError) and not _is_outage_error(exc))
        self._pool._put(conn, reusable=reusable)


def _is_outage_error(exc: BaseException) -> bool:
    """A PostgresError that means the server is going away (its connections with it)."""
    return isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.exceptions.OperatorInterventionError)
