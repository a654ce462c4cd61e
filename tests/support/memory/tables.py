"""The in-memory tables behind ``MemoryDatabase``, copy-on-write, and the rules the SQL enforces.

Every repository call is one *statement*: it forks the tables it runs on, writes into the fork
and merges the fork back only when it returns, so a statement that raises (a stale version
guard, an illegal status move, a CHECK) writes nothing -- as one SQL statement would.
``transaction()`` forks the live tables once more: its statements merge into that fork, and the
fork merges into the live tables only when the block ends without an exception.

Rows are immutable values (``msgspec`` Structs replaced, never mutated), so a merge is "every
key whose value object changed". A transaction whose rows were changed meanwhile by another
writer raises ``ConcurrentWrite``: PostgreSQL would have made one writer wait for the other's
row lock, which this store does not model -- a test that needs that interleaving needs the
real database.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from engine.model import Attempt, Payment, Refund
from engine.states import ATTEMPT_TRANSITIONS, PAYMENT_TRANSITIONS, REFUND_TRANSITIONS, can_move

NAMES = (
    "payments",
    "attempts",
    "events",
    "refunds",
    "work",
    "keys",
    "merchants",
    "api_keys",
    "accounts",
    "customers",
    "webhooks",
    "client_secrets",
)
_MISSING: Any = object()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ConcurrentWrite(RuntimeError):
    """Two writers changed one row and this store cannot say who would have waited."""


class Clock:
    """The database's ``now()``: the wall clock plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class Sequences:
    """bigserial columns and insertion order, shared by every fork."""

    def __init__(self) -> None:
        self.events = itertools.count(1)
        self.work = itertools.count(1)
        self.rows = itertools.count(1)


class Tables:
    """One dict per table (key -> immutable row)."""

    def __init__(self, clock: Clock, seq: Sequences, data: dict[str, dict] | None = None, now: datetime | None = None):
        self.clock = clock
        self.seq = seq
        # PostgreSQL's now() is the transaction's start; None on the live tables.
        self._now = now
        self._snapshot: dict[str, dict] | None = None
        self.payments: dict[str, Payment] = {}
        self.attempts: dict[str, Attempt] = {}
        self.events: dict[int, dict[str, Any]] = {}
        self.refunds: dict[str, Refund] = {}
        self.work: dict[int, Any] = {}
        self.keys: dict[tuple[str, str], Any] = {}
        self.merchants: dict[str, dict[str, Any]] = {}
        self.api_keys: dict[bytes, dict[str, Any]] = {}
        self.accounts: dict[str, Any] = {}
        self.customers: dict[str, Any] = {}
        self.webhooks: dict[tuple[str, str, str], str] = {}
        # payment id -> (merchant id, secret hash, sealed secret, key id)
        self.client_secrets: dict[str, tuple[str, bytes, bytes, str]] = {}
        if data is not None:
            for name in NAMES:
                setattr(self, name, data[name])

    @property
    def now(self) -> datetime:
        return self._now or self.clock.now()

    def fork(self) -> Tables:
        """A copy to write into; ``merge_into`` applies what changed."""
        data = {name: dict(getattr(self, name)) for name in NAMES}
        child = Tables(self.clock, self.seq, data, self.now)
        child._snapshot = {name: dict(getattr(self, name)) for name in NAMES}
        return child

    def merge_into(self, parent: Tables) -> None:
        assert self._snapshot is not None
        changes = []
        for name in NAMES:
            mine, before, theirs = getattr(self, name), self._snapshot[name], getattr(parent, name)
            for key in mine.keys() | before.keys():
                value = mine.get(key, _MISSING)
                if value is before.get(key, _MISSING):
                    continue
                if theirs.get(key, _MISSING) is not before.get(key, _MISSING):
                    raise ConcurrentWrite(f"{name} row {key!r} was changed by another writer meanwhile")
                changes.append((theirs, key, value))
        for table, key, value in changes:
            if value is _MISSING:
                del table[key]
            else:
                table[key] = value

    def order(self) -> int:
        """A row's insertion rank (tie-breaker where SQL orders by creation)."""
        return next(self.seq.rows)

    # -- rows with the rules of the schema --------------------------------------------------

    def put_payment(self, new: Payment) -> Payment:
        old = self.payments.get(new.id)
        if old is not None:
            _moves("payment", PAYMENT_TRANSITIONS, old.status, new.status)
            if (new.amount, new.currency) != (old.amount, old.currency):
                raise _check("immutable_amount", "payment amount and currency are immutable")
            if new.amount_received < old.amount_received:
                raise _check("monotonic_received", "amount_received cannot decrease")
        if not 0 <= new.amount_received <= new.amount:
            raise _check("captured_within_amount", f"amount_received {new.amount_received}")
        if not 0 <= new.amount_capturable <= new.amount:
            raise _check("capturable_within_amount", f"amount_capturable {new.amount_capturable}")
        if not 0 <= new.amount_refunded <= new.amount_received:
            raise _check("refunded_within_captured", f"amount_refunded {new.amount_refunded}")
        if new.status == "succeeded" and new.amount_received <= 0:
            raise _check("succeeded_has_money", "a succeeded payment received nothing")
        self.payments[new.id] = new
        return copy(new)

    def put_attempt(self, new: Attempt) -> Attempt:
        old = self.attempts.get(new.id)
        if old is not None:
            _moves("attempt", ATTEMPT_TRANSITIONS, old.status, new.status)
        if not 0 <= new.amount_captured <= new.amount:
            raise _check("attempt_captured_within_amount", f"amount_captured {new.amount_captured}")
        if new.status in ("authorized", "captured") and any(
            a.payment_id == new.payment_id and a.id != new.id and a.status in ("authorized", "captured")
            for a in self.attempts.values()
        ):
            raise asyncpg.UniqueViolationError("duplicate key value violates one_success_per_payment")
        self.attempts[new.id] = new
        return copy(new)

    def put_refund(self, new: Refund) -> Refund:
        old = self.refunds.get(new.id)
        if old is not None:
            _moves("refund", REFUND_TRANSITIONS, old.status, new.status)
        self.refunds[new.id] = new
        return copy(new)

    def add_event(self, merchant_id: str, event_id: str, type_: str, object_id: str, data: Any) -> None:
        seq = next(self.seq.events)
        self.events[seq] = {
            "id": event_id, "merchant_id": merchant_id, "type": type_, "object_id": object_id,
            "data": jsonb(data), "created_at": self.now,
        }  # fmt: skip


# The columns an UPDATE of a payment / an attempt writes (sql/queries/payments.sql).
PAYMENT_WRITES = (
    "status", "amount_capturable", "amount_received", "gateway", "gateway_reference", "payment_method",
    "next_action", "last_error", "return_url", "routing",
)  # fmt: skip
ATTEMPT_WRITES = (
    "status", "amount_captured", "gateway_order_id", "gateway_reference", "redirect_url", "decline_code",
    "error_code", "error_message", "raw_status", "sync_count", "next_sync_at", "failover_reason", "last_synced_at",
)  # fmt: skip


def updated(stored: Any, new: Any, columns: tuple[str, ...], now: datetime) -> Any:
    """``stored`` with ``new``'s values of ``columns``, its version bumped (what the UPDATE does)."""
    changes = {c: getattr(new, c) for c in columns}
    return msgspec.structs.replace(stored, **changes, version=stored.version + 1, updated_at=now)


def copy(row: Any) -> Any:
    """A caller's own copy of a stored row (callers may not change the store by mutating it)."""
    return msgspec.structs.replace(row)


def jsonb(value: Any) -> Any:
    """What a jsonb column gives back for ``value``."""
    return msgspec.json.decode(msgspec.json.encode(value))


def _moves(entity: str, table: dict, old: str, new: str) -> None:
    if not can_move(table, old, new):
        raise _check("legal_status_transition", f"illegal {entity} status transition {old} -> {new}")


def _check(constraint: str, message: str) -> asyncpg.CheckViolationError:
    return asyncpg.CheckViolationError(f"{message} (constraint {constraint})")
