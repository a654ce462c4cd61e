"""asyncpg repository for refunds (SQL in sql/queries/refunds.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.ids import new_id
from engine.model import Payment, Refund
from engine.store.base import Repository, keys
from engine.store.sqlfile import load_queries

Q = load_queries("refunds")


def _refund(row: Any) -> Refund:
    return Refund(**dict(row))


class Refunds(Repository):
    """Refunds and the refunded total they reserve on their payment."""

    __slots__ = ()

    async def reserve(self, payment_id: str, merchant_id: str, amount: int) -> Payment | None:
        """Add ``amount`` to the payment's refunded total if it stays within what was captured."""
        row = await self._db.fetchrow(Q.reserve_refund, payment_id, merchant_id, amount)
        return Payment(**dict(row)) if row else None

    async def release(self, payment_id: str, merchant_id: str, amount: int) -> None:
        """Give back a reservation whose refund failed at the gateway."""
        await self._db.execute(Q.release_refund, payment_id, merchant_id, amount)

    async def insert(
        self, merchant_id: str, payment: Payment, attempt_id: str, amount: int, reason: str | None
    ) -> Refund:
        """A new ``pending`` refund."""
        row = await self._db.fetchrow(
            Q.insert_refund, new_id("re"), merchant_id, payment.id, attempt_id, amount, payment.currency, reason
        )
        return _refund(row)

    async def get(self, refund_id: str, merchant_id: str) -> Refund | None:
        """The merchant's refund or ``None``."""
        row = await self._db.fetchrow(Q.get_refund, refund_id, merchant_id)
        return _refund(row) if row else None

    async def page(
        self,
        merchant_id: str,
        payment_id: str | None,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Refund]:
        """Up to ``limit`` of the merchant's refunds (of one payment, or all) older (or newer)
        than a cursor, newest first."""
        rows = await self._db.fetch(Q.list_refunds, merchant_id, payment_id, *keys(older_than, newer_than), limit)
        return [_refund(r) for r in rows]

    async def cursor_of(self, refund_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        """The sort key of the merchant's refund ``refund_id``, for cursor pagination."""
        row = await self._db.fetchrow(Q.refund_cursor, refund_id, merchant_id)
        return (row["created_at"], row["id"]) if row else None

    async def lock(self, refund_id: str, merchant_id: str) -> Refund | None:
        """Read and row-lock a refund."""
        row = await self._db.fetchrow(Q.lock_refund, refund_id, merchant_id)
        return _refund(row) if row else None

    async def update(
        self,
        refund: Refund,
        status: str,
        gateway_refund_id: str | None,
        error_code: str | None,
        error_message: str | None,
    ) -> Refund:
        """Move a refund to ``status`` (the trigger rejects illegal moves)."""
        row = await self._db.fetchrow(
            Q.update_refund, refund.id, refund.merchant_id, status, gateway_refund_id, error_code, error_message
        )
        return _refund(row)

    async def find_by_gateway_id(self, merchant_id: str, gateway_refund_id: str) -> Refund | None:
        """The refund a gateway knows by its own id (gateways that shorten our ids echo theirs)."""
        row = await self._db.fetchrow(Q.find_by_gateway_refund_id, merchant_id, gateway_refund_id)
        return _refund(row) if row else None

    async def claim_due(self, limit: int, backoff_s: list[float]) -> list[Refund]:
        """Claim up to ``limit`` due pending refunds for this reconciler."""
        return [_refund(r) for r in await self._db.fetch(Q.claim_due_refunds, limit, backoff_s)]
