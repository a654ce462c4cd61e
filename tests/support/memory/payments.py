"""In-memory Payments, Attempts and Events (the semantics of sql/queries/payments.sql)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from engine.errors import Conflict, NotFound
from engine.ids import new_id
from engine.model import Attempt, Payment
from engine.states import UNRESOLVED_ATTEMPTS
from tests.support.memory.base import MemoryRepository, page_of, statement
from tests.support.memory.keys import KeyRow
from tests.support.memory.tables import ATTEMPT_WRITES, PAYMENT_WRITES, Tables, copy, updated

replace = msgspec.structs.replace


def stored_payment(t: Tables, p: Payment) -> Payment:
    """The row INSERT INTO payments writes for ``p`` (the columns it names; defaults elsewhere)."""
    return replace(
        p, amount_capturable=0, amount_received=0, amount_refunded=0, gateway_reference=None, next_action=None,
        last_error=None, routing=None, version=1, updated_at=p.created_at,
    )  # fmt: skip


def insert_payment(t: Tables, p: Payment, event: Any) -> None:
    """The payment and its ``payment.created`` event; order-id and customer rules as in SQL."""
    if p.merchant_order_id is not None and any(
        q.merchant_id == p.merchant_id and q.merchant_order_id == p.merchant_order_id for q in t.payments.values()
    ):
        raise Conflict("A payment with this merchant_order_id already exists.", param="merchant_order_id")
    if p.customer_id is not None:
        customer = t.customers.get(p.customer_id)
        if customer is None or customer.merchant_id != p.merchant_id:
            raise NotFound("No such customer.", param="customer_id")
    t.put_payment(stored_payment(t, p))
    t.add_event(p.merchant_id, new_id("evt"), "payment.created", p.id, event)


class Payments(MemoryRepository):
    @statement
    def insert(
        self,
        p: Payment,
        event: Any,
        key: tuple[str, str, str, bytes, int, bytes, int] | None = None,
        *,
        claimed_key: str | None = None,
        client_secret: tuple[bytes, bytes, str] | None = None,
    ) -> bool:
        t = self.t
        inserted = self._insert(p, event, key, claimed_key)
        if inserted and client_secret is not None:
            t.client_secrets[p.id] = (p.merchant_id, *client_secret)
        return inserted

    def _insert(
        self, p: Payment, event: Any, key: tuple[str, str, str, bytes, int, bytes, int] | None, claimed_key: str | None
    ) -> bool:
        t = self.t
        if claimed_key is not None:
            insert_payment(t, p, event)
            row = t.keys.get((p.merchant_id, claimed_key))
            if row is not None and row.state == "in_flight":
                t.keys[row.merchant_id, row.key] = replace(
                    row, recovery_point="payment_created", object_id=p.id, locked_at=t.now
                )
            return True
        if key is None:
            insert_payment(t, p, event)
            return True
        name, method, path, fingerprint, status, body, ttl_h = key
        if (p.merchant_id, name) in t.keys:
            return False
        t.keys[p.merchant_id, name] = KeyRow(
            merchant_id=p.merchant_id, key=name, method=method, path=path, fingerprint=bytes(fingerprint),
            state="done", response_status=status, response_body=bytes(body), locked_at=t.now,
            expires_at=t.now + timedelta(hours=ttl_h),
        )  # fmt: skip
        insert_payment(t, p, event)
        return True

    @statement
    def client_secret_hash(self, payment_id: str, merchant_id: str) -> bytes | None:
        row = self.t.client_secrets.get(payment_id)
        return row[1] if row is not None and row[0] == merchant_id else None

    @statement
    def get_with_secret(self, payment_id: str, merchant_id: str) -> tuple[Payment, tuple[bytes, str] | None] | None:
        p = self.t.payments.get(payment_id)
        if p is None or p.merchant_id != merchant_id:
            return None
        row = self.t.client_secrets.get(payment_id)
        return copy(p), (row[2], row[3]) if row is not None and row[0] == merchant_id else None

    @statement
    def client_secrets_to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, bytes, str]]:
        rows = sorted((pid, r[2], r[3]) for pid, r in self.t.client_secrets.items() if r[3] != key_id and pid > after)
        return rows[:limit]

    @statement
    def reseal_client_secret(self, payment_id: str, old_key_id: str, sealed: bytes, key_id: str) -> bool:
        row = self.t.client_secrets.get(payment_id)
        if row is None or row[3] != old_key_id:
            return False
        self.t.client_secrets[payment_id] = (row[0], row[1], sealed, key_id)
        return True

    @statement
    def checkout_secret(self, payment_id: str) -> tuple[str, bytes] | None:
        row = self.t.client_secrets.get(payment_id)
        return (row[0], row[1]) if row is not None else None

    @statement
    def client_secret_sealed(self, payment_id: str, merchant_id: str) -> tuple[bytes, str] | None:
        row = self.t.client_secrets.get(payment_id)
        return (row[2], row[3]) if row is not None and row[0] == merchant_id else None

    @statement
    def get(self, payment_id: str, merchant_id: str) -> Payment | None:
        p = self.t.payments.get(payment_id)
        return copy(p) if p is not None and p.merchant_id == merchant_id else None

    lock = get

    @statement
    def update(self, p: Payment) -> Payment:
        old = self.t.payments.get(p.id)
        if old is None or old.merchant_id != p.merchant_id or old.version != p.version:
            raise RuntimeError(f"payment {p.id} changed concurrently (version {p.version})")
        return self.t.put_payment(updated(old, p, PAYMENT_WRITES, self.t.now))

    @statement
    def page(
        self,
        merchant_id: str,
        status: str | None,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Payment]:
        mine = [p for p in self.t.payments.values() if p.merchant_id == merchant_id and status in (None, p.status)]
        return page_of(mine, older_than, newer_than, limit)

    @statement
    def cursor_of(self, payment_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        p = self.t.payments.get(payment_id)
        return (p.created_at, p.id) if p is not None and p.merchant_id == merchant_id else None


def _mine(t: Tables, attempt_id: str, merchant_id: str) -> Attempt | None:
    a = t.attempts.get(attempt_id)
    return a if a is not None and a.merchant_id == merchant_id else None


def newest(attempts: list[Attempt]) -> Attempt | None:
    return max(attempts, key=lambda a: (a.created_at, a.id), default=None)


class Attempts(MemoryRepository):
    @statement
    def insert(
        self,
        payment: Payment,
        gateway: str,
        account_id: str,
        method_type: str,
        gateway_order_id: str | None = None,
    ) -> Attempt:
        now = self.t.now
        return self.t.put_attempt(
            Attempt(
                id=new_id("att"),
                payment_id=payment.id,
                merchant_id=payment.merchant_id,
                gateway=gateway,
                gateway_account_id=account_id,
                status="pending",
                amount=payment.amount,
                method_type=method_type,
                gateway_order_id=gateway_order_id,
                next_sync_at=now + timedelta(minutes=2),
                created_at=now,
                updated_at=now,
            )
        )

    @statement
    def get(self, attempt_id: str, merchant_id: str) -> Attempt | None:
        a = _mine(self.t, attempt_id, merchant_id)
        return copy(a) if a is not None else None

    lock = get

    @statement
    def latest(self, payment_id: str, merchant_id: str) -> Attempt | None:
        found = newest(
            [a for a in self.t.attempts.values() if (a.payment_id, a.merchant_id) == (payment_id, merchant_id)]
        )
        return copy(found) if found is not None else None

    @statement
    def find_by_gateway_ref(
        self, merchant_id: str, gateway: str, reference: str | None, order_id: str | None
    ) -> Attempt | None:
        if reference is None and order_id is None:
            return None
        found = newest(
            [
                a
                for a in self.t.attempts.values()
                if (a.merchant_id, a.gateway) == (merchant_id, gateway)
                and (
                    (reference is not None and a.gateway_reference == reference)
                    or (order_id is not None and a.gateway_order_id == order_id)
                )
            ]
        )
        return copy(found) if found is not None else None

    @statement
    def of_payment(self, payment_id: str, merchant_id: str) -> list[Attempt]:
        rows = [a for a in self.t.attempts.values() if (a.payment_id, a.merchant_id) == (payment_id, merchant_id)]
        return [copy(a) for a in sorted(rows, key=lambda a: (a.created_at, a.id))]

    @statement
    def update(self, a: Attempt) -> Attempt:
        old = _mine(self.t, a.id, a.merchant_id)
        assert old is not None, f"no attempt {a.id}"
        return self.t.put_attempt(updated(old, a, ATTEMPT_WRITES, self.t.now))

    @statement
    def claim_due(self, limit: int, backoff_s: list[float]) -> list[Attempt]:
        now = self.t.now
        due = sorted(
            (
                a
                for a in self.t.attempts.values()
                if a.status in UNRESOLVED_ATTEMPTS and a.next_sync_at is not None and a.next_sync_at <= now
            ),
            key=lambda a: a.next_sync_at,
        )[:limit]
        claimed = []
        for a in due:
            step = a.sync_count + 1
            following = None if step > len(backoff_s) else now + timedelta(seconds=backoff_s[step - 1])
            claimed.append(
                self.t.put_attempt(
                    replace(a, sync_count=step, last_synced_at=now, version=a.version + 1, next_sync_at=following)
                )
            )
        return claimed

    @statement
    def record_order(self, attempt_id: str, merchant_id: str, order_id: str) -> None:
        a = _mine(self.t, attempt_id, merchant_id)
        if a is not None and a.gateway_order_id is None:
            self.t.put_attempt(replace(a, gateway_order_id=order_id, version=a.version + 1, updated_at=self.t.now))

    @statement
    def mark_redirect_lost(self, attempt_id: str, merchant_id: str) -> None:
        a = _mine(self.t, attempt_id, merchant_id)
        if a is not None:
            self.t.put_attempt(replace(a, redirect_lost=True))


class Events(MemoryRepository):
    @statement
    def add(self, merchant_id: str, type_: str, object_id: str, data: Any) -> None:
        self.t.add_event(merchant_id, new_id("evt"), type_, object_id, data)

    @statement
    def of_object(self, merchant_id: str, object_id: str) -> list[dict[str, Any]]:
        return [
            {k: e[k] for k in ("id", "type", "object_id", "data", "created_at")}
            for _, e in sorted(self.t.events.items())
            if (e["merchant_id"], e["object_id"]) == (merchant_id, object_id)
        ]
