"""The unit of work: every repository, bound to one connection (and one transaction) or to the pool.

Services never see SQL, a pool or a connection. They receive the engine's ``Database`` and either

* call a repository on it directly -- each statement runs on a pooled connection in its own
  implicit transaction (a phase that is ONE statement pays no BEGIN/COMMIT round trip), or
* open ``async with db.transaction() as uow:`` when several statements must commit together;
  the repositories of ``uow`` are bound to that transaction's connection.

No connection is ever held across a gateway call: a phase opens its unit of work after the
call returned.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from engine.store.base import Executor
from engine.store.idempotency import IdempotencyKeys
from engine.store.merchants import Customers, GatewayAccounts, Merchants, WebhookReceipts
from engine.store.payments import Attempts, Events, Payments
from engine.store.phases import Phases
from engine.store.pool import Pool
from engine.store.refunds import Refunds
from engine.store.webhooks import Deliveries, Endpoints, EventFeed
from engine.store.work import Work


class UnitOfWork:
    """The repositories over one executor (a connection in a transaction, or the pool)."""

    __slots__ = (
        "accounts",
        "attempts",
        "customers",
        "events",
        "idempotency",
        "merchants",
        "payments",
        "phases",
        "refunds",
        "webhooks",
        "work",
    )

    def __init__(self, db: Executor) -> None:
        self.payments = Payments(db)
        self.attempts = Attempts(db)
        self.events = Events(db)
        self.phases = Phases(db)
        self.refunds = Refunds(db)
        self.work = Work(db)
        self.idempotency = IdempotencyKeys(db)
        self.merchants = Merchants(db)
        self.accounts = GatewayAccounts(db)
        self.customers = Customers(db)
        self.webhooks = WebhookReceipts(db)


class Database(UnitOfWork):
    """The engine's database: repositories over the pool (one statement, one implicit
    transaction each) and ``transaction()`` for phases of several statements."""

    __slots__ = ("pool",)

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool)
        self.pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitOfWork]:
        """One connection and one transaction: committed when the block ends, rolled back when
        it raises."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield UnitOfWork(conn)

    # Merchant webhooks (engine/services/deliveries.py, webhook_endpoints.py, event_feed.py): every
    # call is one statement, so they live on the pool only and are tested against PostgreSQL,
    # not the in-memory store of the service unit tests.
    @property
    def endpoints(self) -> Endpoints:
        """Webhook endpoints and their delivery attempts."""
        return Endpoints(self.pool)

    @property
    def deliveries(self) -> Deliveries:
        """The relay (outbox to delivery rows) and the delivery rows."""
        return Deliveries(self.pool)

    @property
    def feed(self) -> EventFeed:
        """The outbox as the merchant's events."""
        return EventFeed(self.pool)

    async def ping(self, timeout_s: float) -> bool:
        """Whether PostgreSQL answers a trivial query within ``timeout_s``."""
        return await self.pool.fetchval("SELECT 1", timeout=timeout_s) == 1

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.pool.close()
