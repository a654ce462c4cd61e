"""In-memory IdempotencyKeys (the semantics of sql/queries/idempotency.sql)."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import msgspec

from engine.store.idempotency import StoredKey
from tests.support.memory.base import MemoryRepository, statement
from tests.support.memory.tables import EPOCH

replace = msgspec.structs.replace


def stored(row: KeyRow | None, now: datetime) -> StoredKey | None:
    """The row as the real repository returns it."""
    if row is None:
        return None
    return StoredKey(
        method=row.method,
        path=row.path,
        fingerprint=row.fingerprint,
        state=row.state,
        response_status=row.response_status,
        response_body=row.response_body,
        recovery_point=row.recovery_point,
        object_id=row.object_id,
        locked_at=row.locked_at,
        held_for_s=(now - row.locked_at).total_seconds(),
        expired=row.expires_at < now,
    )


class KeyRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of idempotency_keys."""

    merchant_id: str
    key: str
    method: str
    path: str
    fingerprint: bytes
    state: str
    locked_at: datetime
    expires_at: datetime
    response_status: int | None = None
    response_body: bytes | None = None
    recovery_point: str = "started"
    object_id: str | None = None

    def __post_init__(self) -> None:
        if self.state == "done" and (self.response_status is None or self.response_body is None):
            raise asyncpg.CheckViolationError("done_has_response")
        if self.recovery_point != "started" and self.object_id is None:
            raise asyncpg.CheckViolationError("recovery_point_has_object")


class IdempotencyKeys(MemoryRepository):
    def _in_flight(self, merchant_id: str, key: str) -> KeyRow | None:
        row = self.t.keys.get((merchant_id, key))
        return row if row is not None and row.state == "in_flight" else None

    def _write(self, row: KeyRow, **changes: object) -> None:
        self.t.keys[row.merchant_id, row.key] = replace(row, **changes)

    @statement
    def claim(self, merchant_id: str, key: str, method: str, path: str, fingerprint: bytes, ttl_h: int) -> bool:
        if (merchant_id, key) in self.t.keys:
            return False
        now = self.t.now
        self.t.keys[merchant_id, key] = KeyRow(
            merchant_id=merchant_id, key=key, method=method, path=path, fingerprint=bytes(fingerprint),
            state="in_flight", locked_at=now, expires_at=now + timedelta(hours=ttl_h),
        )  # fmt: skip
        return True

    @statement
    def get(self, merchant_id: str, key: str) -> StoredKey | None:
        return stored(self.t.keys.get((merchant_id, key)), self.t.now)

    @statement
    def take_over(self, merchant_id: str, key: str, locked_at: datetime, timeout_s: float) -> bool:
        row = self._in_flight(merchant_id, key)
        now = self.t.now
        if row is None or row.locked_at != locked_at or not row.locked_at < now - timedelta(seconds=timeout_s):
            return False
        self._write(row, locked_at=now)
        return True

    @statement
    def reclaim_expired(self, merchant_id: str, key: str) -> bool:
        row = self.t.keys.get((merchant_id, key))
        if row is None or not row.expires_at < self.t.now:
            return False
        del self.t.keys[merchant_id, key]
        return True

    @statement
    def checkpoint(self, merchant_id: str, key: str, point: str, object_id: str) -> None:
        if (row := self._in_flight(merchant_id, key)) is not None:
            self._write(row, recovery_point=point, object_id=object_id, locked_at=self.t.now)

    @statement
    def complete(self, merchant_id: str, key: str, status: int, body: bytes) -> None:
        if (row := self._in_flight(merchant_id, key)) is not None:
            self._write(row, state="done", response_status=status, response_body=bytes(body))

    @statement
    def release(self, merchant_id: str, key: str) -> bool:
        row = self._in_flight(merchant_id, key)
        if row is None or row.recovery_point != "started":
            return False
        del self.t.keys[merchant_id, key]
        return True

    @statement
    def unlock(self, merchant_id: str, key: str) -> None:
        if (row := self._in_flight(merchant_id, key)) is not None:
            self._write(row, locked_at=EPOCH)

    @statement
    def purge_expired(self) -> int:
        cutoff = self.t.now - timedelta(hours=1)
        gone = [k for k, row in self.t.keys.items() if row.expires_at < cutoff]
        for k in gone:
            del self.t.keys[k]
        return len(gone)
