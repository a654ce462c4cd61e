"""Repository of idempotency keys (SQL in sql/queries/idempotency.sql; semantics in
engine/services/idempotency.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.store.base import Repository, affected
from engine.store.sqlfile import load_queries

Q = load_queries("idempotency")


class StoredKey(msgspec.Struct, frozen=True):
    """A key as stored: what request it belongs to and how far that request got."""

    method: str
    path: str
    fingerprint: bytes
    state: str  # "in_flight" | "done"
    response_status: int | None
    response_body: bytes | None
    recovery_point: str
    object_id: str | None
    locked_at: datetime
    held_for_s: float
    expired: bool


def stored_key(row: Any) -> StoredKey | None:
    """The key in a row holding the columns of ``Q.get`` (all NULL: no key)."""
    if row is None or row["state"] is None:
        return None
    body = row["response_body"]
    return StoredKey(
        method=row["method"],
        path=row["path"],
        fingerprint=bytes(row["fingerprint"]),
        state=row["state"],
        response_status=row["response_status"],
        response_body=bytes(body) if body is not None else None,
        recovery_point=row["recovery_point"],
        object_id=row["object_id"],
        locked_at=row["locked_at"],
        held_for_s=row["held_for"].total_seconds(),
        expired=row["expired"],
    )


class IdempotencyKeys(Repository):
    """Keys of merchants' POST requests, with their recovery point or final response."""

    __slots__ = ()

    async def claim(self, merchant_id: str, key: str, method: str, path: str, fingerprint: bytes, ttl_h: int) -> bool:
        """Store ``key`` in flight for this request; False when it already exists."""
        return await self._db.fetchval(Q.claim, merchant_id, key, method, path, fingerprint, ttl_h) is not None

    async def get(self, merchant_id: str, key: str) -> StoredKey | None:
        """The stored key, or ``None``."""
        return stored_key(await self._db.fetchrow(Q.get, merchant_id, key))

    async def take_over(self, merchant_id: str, key: str, locked_at: datetime, timeout_s: float) -> bool:
        """Take an in-flight key whose holder stopped renewing it; exactly one caller wins."""
        return await self._db.fetchval(Q.take_over, merchant_id, key, locked_at, timeout_s) is not None

    async def reclaim_expired(self, merchant_id: str, key: str) -> bool:
        """Delete the key if it expired; True when it did."""
        return await self._db.fetchval(Q.reclaim_expired, merchant_id, key) is not None

    async def checkpoint(self, merchant_id: str, key: str, point: str, object_id: str) -> None:
        """Record the next recovery point (and renew the lock)."""
        await self._db.execute(Q.checkpoint, merchant_id, key, point, object_id)

    async def complete(self, merchant_id: str, key: str, status: int, body: bytes) -> None:
        """Store the final response."""
        await self._db.execute(Q.complete, merchant_id, key, status, body)

    async def release(self, merchant_id: str, key: str) -> bool:
        """Forget a key still at ``started``; True when it was deleted."""
        return await self._db.fetchval(Q.release, merchant_id, key) is not None

    async def unlock(self, merchant_id: str, key: str) -> None:
        """Let a retry take the key over at once."""
        await self._db.execute(Q.unlock, merchant_id, key)

    async def purge_expired(self) -> int:
        """Delete keys past their expiry (plus an hour of grace); how many."""
        return affected(await self._db.execute(Q.purge_expired))
