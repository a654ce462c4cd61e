"""In-memory Phases: the read and the version-guarded write of each charge phase
(``start_attempt``, ``write_settlement`` and the reads of sql/queries/payments.sql)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec

from engine.ids import new_id
from engine.model import Attempt, Payment
from engine.store.idempotency import StoredKey
from engine.store.phases import Answer, Contact, NewKey, StaleWrite
from tests.support.memory.base import MemoryRepository, statement
from tests.support.memory.keys import KeyRow, stored
from tests.support.memory.tables import ATTEMPT_WRITES, PAYMENT_WRITES, copy, updated
from tests.support.memory.work import close_capture
from tests.support.memory.work import open_capture as open_work

replace = msgspec.structs.replace


class Phases(MemoryRepository):
    @statement
    def read_for_settle(self, attempt_id: str, merchant_id: str) -> tuple[Payment, Attempt] | None:
        a = self.t.attempts.get(attempt_id)
        if a is None or a.merchant_id != merchant_id:
            return None
        return copy(self.t.payments[a.payment_id]), copy(a)

    @statement
    def read_for_confirm(
        self, payment_id: str, merchant_id: str, key: str | None = None
    ) -> tuple[Payment, Contact, StoredKey | None] | None:
        p = self.t.payments.get(payment_id)
        if p is None or p.merchant_id != merchant_id:
            return None
        c = self.t.customers.get(p.customer_id) if p.customer_id else None
        c = c if c is not None and c.merchant_id == merchant_id else None
        row = self.t.keys.get((merchant_id, key)) if key is not None else None
        return copy(p), Contact(c.email if c else None, c.phone if c else None), stored(row, self.t.now)

    @statement
    def start_attempt(
        self,
        before: Payment,
        after: Payment,
        attempt: Attempt,
        allowed_from: list[str],
        event: Any,
        key: str | None,
        new_key: NewKey | None = None,
    ) -> str:
        t = self.t
        if new_key is not None and (before.merchant_id, key) in t.keys:
            return "key_taken"
        p = t.payments.get(before.id)
        if p is None or p.merchant_id != before.merchant_id or p.version != before.version:
            return "stale"
        if p.status not in allowed_from:
            return "stale"
        if new_key is not None and key is not None:
            now = t.now
            t.keys[p.merchant_id, key] = KeyRow(
                merchant_id=p.merchant_id, key=key, method=new_key.method, path=new_key.path,
                fingerprint=bytes(new_key.fingerprint), state="in_flight", locked_at=now,
                expires_at=now + timedelta(hours=new_key.ttl_hours), recovery_point="charge_started", object_id=p.id,
            )  # fmt: skip
            key = None  # claimed at charge_started: no recovery point to move below
        t.put_payment(
            replace(
                p,
                status="processing",
                gateway=after.gateway,
                payment_method=after.payment_method,
                return_url=after.return_url,
                last_error=None,
                next_action=None,
                routing=after.routing,
                version=p.version + 1,
                updated_at=after.updated_at,
            )
        )
        t.put_attempt(
            Attempt(
                id=attempt.id,
                payment_id=p.id,
                merchant_id=p.merchant_id,
                gateway=after.gateway,
                gateway_account_id=attempt.gateway_account_id,
                status="pending",
                amount=p.amount,
                method_type=attempt.method_type,
                next_sync_at=attempt.next_sync_at,
                created_at=after.updated_at,
                updated_at=after.updated_at,
            )
        )
        t.add_event(p.merchant_id, new_id("evt"), "payment.processing", p.id, event)
        row = t.keys.get((p.merchant_id, key)) if key is not None else None
        if row is not None and row.state == "in_flight":
            t.keys[p.merchant_id, key] = replace(row, recovery_point="charge_started", object_id=p.id, locked_at=t.now)
        return "started"

    @statement
    def write_settlement(
        self,
        before: Payment,
        attempt_before: Attempt,
        payment: Payment | None,
        attempt: Attempt,
        events: list[dict[str, Any]],
        now: datetime,
        *,
        open_capture: int | None = None,
        close_captures: bool = False,
        answer: Answer | None = None,
    ) -> None:
        t, a, merchant = self.t, attempt, attempt.merchant_id
        p_id = (payment or before).id
        if payment is not None:
            stored = t.payments.get(p_id)
            if stored is None or stored.merchant_id != merchant or stored.version != before.version:
                raise StaleWrite("stale write: payment or attempt changed since it was read")
            t.put_payment(updated(stored, payment, PAYMENT_WRITES, now))
        old = t.attempts.get(a.id)
        if old is None or old.merchant_id != merchant or old.version != attempt_before.version:
            raise StaleWrite("stale write: payment or attempt changed since it was read")
        t.put_attempt(updated(old, a, ATTEMPT_WRITES, now))
        for e in events:
            t.add_event(merchant, e["id"], e["type"], e["object_id"], e["data"])
        if open_capture is not None:
            open_work(t, merchant, p_id, a.id, open_capture)
        if close_captures:
            close_capture(t, merchant, a.id, now)
        if answer is not None:
            row = t.keys.get((merchant, answer.key))
            if row is not None and row.state == "in_flight":
                t.keys[merchant, answer.key] = replace(
                    row, state="done", response_status=answer.status, response_body=bytes(answer.body)
                )
