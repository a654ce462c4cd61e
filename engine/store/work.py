"""Follow-up work rows (``work_items``; SQL in sql/queries/work.sql).

A row is written in the transaction that makes the work necessary and run by whoever leases it
first: the request that created it, or any process's background worker. The lease is
``held_until``, so a process that dies mid-work leaves a row that becomes free again by itself;
``run_at`` is when the next try is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.store.base import Repository
from engine.store.sqlfile import load_queries

Q = load_queries("work")


class WorkItem(msgspec.Struct, kw_only=True, frozen=True):
    """One unit of follow-up work: capturing an authorization, or registering a customer."""

    id: int
    merchant_id: str
    kind: str  # "capture" | "void" | "register_customer"
    payment_id: str | None
    attempt_id: str | None
    amount: int | None
    state: str
    tries: int
    run_at: datetime | None
    held_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    customer_id: str | None = None
    gateway_account_id: str | None = None
    event_id: str | None = None  # kind 'webhook' (engine/store/webhooks.py runs those)
    endpoint_id: str | None = None


def _item(row: Any) -> WorkItem:
    return WorkItem(**dict(row))


class Work(Repository):
    """Follow-up work rows: written with their cause, leased by whoever runs them."""

    __slots__ = ()

    async def add_capture(
        self, merchant_id: str, payment_id: str, attempt_id: str, amount: int, lease_s: float
    ) -> WorkItem | None:
        """A new capture row leased to the caller, or ``None`` when one is already open."""
        row = await self._db.fetchrow(Q.add_capture, merchant_id, payment_id, attempt_id, amount, lease_s)
        return _item(row) if row else None

    async def add_registrations(
        self, merchant_id: str, customer_id: str, account_ids: list[str], lease_s: float
    ) -> list[WorkItem]:
        """One registration row per gateway account, leased to the caller (who runs them now)."""
        return [
            _item(r) for r in await self._db.fetch(Q.add_registrations, merchant_id, customer_id, account_ids, lease_s)
        ]

    async def add_void(self, merchant_id: str, payment_id: str, attempt_id: str, lease_s: float) -> WorkItem | None:
        """A new void row leased to the caller, or ``None`` when one is already open."""
        row = await self._db.fetchrow(Q.add_void, merchant_id, payment_id, attempt_id, lease_s)
        return _item(row) if row else None

    async def lease_for_payment(
        self, merchant_id: str, payment_id: str, lease_s: float, kind: str = "capture"
    ) -> WorkItem | None:
        """Lease the payment's open ``kind`` work (capture or void), or ``None`` (none open, or a
        live holder has it)."""
        row = await self._db.fetchrow(Q.lease_for_payment, merchant_id, payment_id, lease_s, kind)
        return _item(row) if row else None

    async def open_for_payment(self, merchant_id: str, payment_id: str) -> WorkItem | None:
        """The payment's open capture or void row, leased or not."""
        row = await self._db.fetchrow(Q.open_for_payment, merchant_id, payment_id)
        return _item(row) if row else None

    async def claim_due(self, limit: int, lease_s: float) -> list[WorkItem]:
        """Lease up to ``limit`` due rows for this worker (``SKIP LOCKED``: safe on many processes)."""
        return [_item(r) for r in await self._db.fetch(Q.claim_due, limit, lease_s)]

    async def finish(self, item: WorkItem, state: str, error: str | None = None) -> None:
        """Close a row: ``done``, or ``failed`` (the gateway refused for good)."""
        await self._db.execute(Q.finish, item.id, item.merchant_id, state, error)

    async def retry_later(self, item: WorkItem, backoff_s: list[float], error: str) -> WorkItem | None:
        """Count a try and schedule the next one on the ladder."""
        row = await self._db.fetchrow(Q.retry_later, item.id, item.merchant_id, backoff_s, error)
        return _item(row) if row else None

    async def pending_by_kind(self, timeout_s: float) -> dict[str, int]:
        """Pending rows by kind, every merchant (operations only: the work-pending gauge)."""
        rows = await self._db.fetch(Q.pending_by_kind, timeout=timeout_s)
        return {r["kind"]: r["pending"] for r in rows}
