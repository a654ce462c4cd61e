"""In-memory Work (the semantics of sql/queries/work.sql): one open row per capture attempt and
per (customer, account) registration; the lease is ``held_until``; ``run_at`` is when a try is due."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from engine.store.work import WorkItem
from tests.support.memory.base import MemoryRepository, statement
from tests.support.memory.tables import Tables

replace = msgspec.structs.replace


def _free(item: WorkItem, now: datetime) -> bool:
    return item.held_until is None or item.held_until < now


def _new(t: Tables, merchant_id: str, kind: str, *, tries: int = 0, held_until: datetime | None = None, **fields):
    now = t.now
    item = WorkItem(
        id=next(t.seq.work), merchant_id=merchant_id, kind=kind, payment_id=fields.get("payment_id"),
        attempt_id=fields.get("attempt_id"), amount=fields.get("amount"), state="pending", tries=tries, run_at=now,
        held_until=held_until, last_error=None, created_at=now, updated_at=now,
        customer_id=fields.get("customer_id"), gateway_account_id=fields.get("gateway_account_id"),
    )  # fmt: skip
    if item.amount is not None and item.amount <= 0:
        raise AssertionError("CHECK work_items.amount > 0 violated")
    t.work[item.id] = item
    return item


def open_capture(
    t: Tables, merchant_id: str, payment_id: str, attempt_id: str, amount: int, lease_s: float = 0
) -> WorkItem | None:
    """INSERT ... ON CONFLICT (kind, attempt_id) WHERE state = 'pending' DO NOTHING."""
    if any(w.kind == "capture" and w.attempt_id == attempt_id and w.state == "pending" for w in t.work.values()):
        return None
    leased = lease_s > 0
    return _new(
        t, merchant_id, "capture", payment_id=payment_id, attempt_id=attempt_id, amount=amount,
        tries=1 if leased else 0, held_until=t.now + timedelta(seconds=lease_s) if leased else None,
    )  # fmt: skip


def close_capture(t: Tables, merchant_id: str, attempt_id: str, now: datetime) -> None:
    for w in list(t.work.values()):
        if (w.merchant_id, w.attempt_id, w.kind, w.state) == (merchant_id, attempt_id, "capture", "pending"):
            t.work[w.id] = replace(w, state="done", run_at=None, held_until=None, updated_at=now)


class Work(MemoryRepository):
    def _open_of(self, merchant_id: str, payment_id: str, kinds: tuple[str, ...]) -> WorkItem | None:
        return next(
            (
                w
                for w in sorted(self.t.work.values(), key=lambda w: w.id)
                if (w.merchant_id, w.payment_id, w.state) == (merchant_id, payment_id, "pending") and w.kind in kinds
            ),
            None,
        )

    @statement
    def add_void(self, merchant_id: str, payment_id: str, attempt_id: str, lease_s: float) -> WorkItem | None:
        if any(w.kind == "void" and w.attempt_id == attempt_id and w.state == "pending" for w in self.t.work.values()):
            return None
        held = self.t.now + timedelta(seconds=lease_s)
        return _new(self.t, merchant_id, "void", payment_id=payment_id, attempt_id=attempt_id, tries=1, held_until=held)

    @statement
    def add_capture(
        self, merchant_id: str, payment_id: str, attempt_id: str, amount: int, lease_s: float
    ) -> WorkItem | None:
        return open_capture(self.t, merchant_id, payment_id, attempt_id, amount, lease_s)

    @statement
    def add_registrations(
        self, merchant_id: str, customer_id: str, account_ids: list[str], lease_s: float
    ) -> list[WorkItem]:
        added = []
        for account in account_ids:
            if any(
                (w.kind, w.state, w.customer_id, w.gateway_account_id)
                == ("register_customer", "pending", customer_id, account)
                for w in self.t.work.values()
            ):
                continue
            held = self.t.now + timedelta(seconds=lease_s)
            added.append(
                _new(
                    self.t,
                    merchant_id,
                    "register_customer",
                    customer_id=customer_id,
                    gateway_account_id=account,
                    tries=1,
                    held_until=held,
                )
            )
        return added

    @statement
    def lease_for_payment(
        self, merchant_id: str, payment_id: str, lease_s: float, kind: str = "capture"
    ) -> WorkItem | None:
        now = self.t.now
        item = self._open_of(merchant_id, payment_id, (kind,))
        if item is None or not _free(item, now):
            return None
        item = replace(item, held_until=now + timedelta(seconds=lease_s), tries=item.tries + 1, updated_at=now)
        self.t.work[item.id] = item
        return item

    @statement
    def open_for_payment(self, merchant_id: str, payment_id: str) -> WorkItem | None:
        return self._open_of(merchant_id, payment_id, ("capture", "void"))

    @statement
    def claim_due(self, limit: int, lease_s: float) -> list[WorkItem]:
        now = self.t.now
        due = sorted(
            (
                w
                for w in self.t.work.values()
                if w.state == "pending" and w.run_at is not None and w.run_at <= now and _free(w, now)
            ),
            key=lambda w: (w.run_at, w.id),
        )[:limit]
        claimed = []
        for w in due:
            w = replace(w, held_until=now + timedelta(seconds=lease_s), tries=w.tries + 1, updated_at=now)
            self.t.work[w.id] = w
            claimed.append(w)
        return claimed

    @statement
    def finish(self, item: WorkItem, state: str, error: str | None = None) -> None:
        w = self.t.work.get(item.id)
        if w is not None and w.merchant_id == item.merchant_id and w.state == "pending":
            assert state in ("done", "failed"), state
            self.t.work[w.id] = replace(
                w, state=state, last_error=error, run_at=None, held_until=None, updated_at=self.t.now
            )

    @statement
    def retry_later(self, item: WorkItem, backoff_s: list[float], error: str) -> WorkItem | None:
        w = self.t.work.get(item.id)
        if w is None or w.merchant_id != item.merchant_id or w.state != "pending":
            return None
        now = self.t.now
        run_at = None if w.tries > len(backoff_s) else now + timedelta(seconds=backoff_s[max(w.tries, 1) - 1])
        w = replace(w, last_error=error, held_until=None, updated_at=now, run_at=run_at)
        self.t.work[w.id] = w
        return w

    @statement
    def pending_by_kind(self, timeout_s: float) -> dict[str, int]:
        counts: dict[str, int] = {}
        for w in self.t.work.values():
            if w.state == "pending":
                counts[w.kind] = counts.get(w.kind, 0) + 1
        return counts
