"""``MemoryDatabase``: the engine's ``Database`` (engine/store/uow.py) over in-memory tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.support.memory.base import Scope
from tests.support.memory.keys import IdempotencyKeys
from tests.support.memory.merchants import Customers, GatewayAccounts, Merchants, WebhookReceipts
from tests.support.memory.payments import Attempts, Events, Payments
from tests.support.memory.phases import Phases
from tests.support.memory.refunds import Refunds
from tests.support.memory.tables import Clock, Sequences, Tables
from tests.support.memory.work import Work


class MemoryUnitOfWork:
    """The repositories over one scope (a transaction's fork, or the live tables)."""

    def __init__(self, scope: Scope) -> None:
        self.payments = Payments(scope)
        self.attempts = Attempts(scope)
        self.events = Events(scope)
        self.phases = Phases(scope)
        self.refunds = Refunds(scope)
        self.work = Work(scope)
        self.idempotency = IdempotencyKeys(scope)
        self.merchants = Merchants(scope)
        self.accounts = GatewayAccounts(scope)
        self.customers = Customers(scope)
        self.webhooks = WebhookReceipts(scope)


class MemoryDatabase(MemoryUnitOfWork):
    """Repositories over the live tables (each call one atomic statement) and ``transaction()``
    (all or nothing: its writes reach the live tables only when the block ends cleanly)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.tables = Tables(self.clock, Sequences())
        super().__init__(Scope(self.tables))
        self.committed = 0
        self.rolled_back = 0
        self.closed = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryUnitOfWork]:
        fork = self.tables.fork()
        try:
            yield MemoryUnitOfWork(Scope(fork))
        except BaseException:
            self.rolled_back += 1
            raise
        fork.merge_into(self.tables)
        self.committed += 1

    async def ping(self, timeout_s: float) -> bool:
        return not self.closed

    async def close(self) -> None:
        self.closed = True
