"""In-memory Refunds (the semantics of sql/queries/refunds.sql): a refund reserves its amount on
the payment first, never beyond what was captured; a failed one gives it back."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from engine.ids import new_id
from engine.model import Payment, Refund
from tests.support.memory.base import MemoryRepository, page_of, statement
from tests.support.memory.tables import copy

replace = msgspec.structs.replace


class Refunds(MemoryRepository):
    def _mine(self, refund_id: str, merchant_id: str) -> Refund | None:
        r = self.t.refunds.get(refund_id)
        return r if r is not None and r.merchant_id == merchant_id else None

    @statement
    def page(
        self,
        merchant_id: str,
        payment_id: str | None,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Refund]:
        mine = [
            r for r in self.t.refunds.values() if r.merchant_id == merchant_id and payment_id in (None, r.payment_id)
        ]
        return page_of(mine, older_than, newer_than, limit)

    @statement
    def cursor_of(self, refund_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        r = self._mine(refund_id, merchant_id)
        return (r.created_at, r.id) if r is not None else None

    @statement
    def reserve(self, payment_id: str, merchant_id: str, amount: int) -> Payment | None:
        p = self.t.payments.get(payment_id)
        if p is None or p.merchant_id != merchant_id or p.status != "succeeded":
            return None
        if p.amount_refunded + amount > p.amount_received:
            return None
        return self.t.put_payment(
            replace(p, amount_refunded=p.amount_refunded + amount, version=p.version + 1, updated_at=self.t.now)
        )

    @statement
    def release(self, payment_id: str, merchant_id: str, amount: int) -> None:
        p = self.t.payments.get(payment_id)
        if p is not None and p.merchant_id == merchant_id and p.amount_refunded >= amount:
            self.t.put_payment(
                replace(p, amount_refunded=p.amount_refunded - amount, version=p.version + 1, updated_at=self.t.now)
            )

    @statement
    def insert(self, merchant_id: str, payment: Payment, attempt_id: str, amount: int, reason: str | None) -> Refund:
        assert amount > 0, "CHECK refunds.amount > 0"
        now = self.t.now
        return self.t.put_refund(
            Refund(
                id=new_id("re"),
                merchant_id=merchant_id,
                payment_id=payment.id,
                attempt_id=attempt_id,
                amount=amount,
                currency=payment.currency,
                status="pending",
                reason=reason,
                next_sync_at=now + timedelta(minutes=1),
                created_at=now,
                updated_at=now,
            )
        )

    @statement
    def get(self, refund_id: str, merchant_id: str) -> Refund | None:
        r = self._mine(refund_id, merchant_id)
        return copy(r) if r is not None else None

    lock = get

    @statement
    def update(
        self,
        refund: Refund,
        status: str,
        gateway_refund_id: str | None,
        error_code: str | None,
        error_message: str | None,
    ) -> Refund:
        r = self._mine(refund.id, refund.merchant_id)
        assert r is not None, f"no refund {refund.id}"
        return self.t.put_refund(
            replace(
                r,
                status=status,
                gateway_refund_id=gateway_refund_id or r.gateway_refund_id,
                error_code=error_code,
                error_message=error_message,
                updated_at=self.t.now,
            )
        )

    @statement
    def find_by_gateway_id(self, merchant_id: str, gateway_refund_id: str) -> Refund | None:
        found = [
            r
            for r in self.t.refunds.values()
            if r.merchant_id == merchant_id and r.gateway_refund_id == gateway_refund_id
        ]
        return copy(max(found, key=lambda r: r.created_at)) if found else None

    @statement
    def claim_due(self, limit: int, backoff_s: list[float]) -> list[Refund]:
        now = self.t.now
        due = sorted(
            (
                r
                for r in self.t.refunds.values()
                if r.status in ("pending", "unknown") and r.next_sync_at is not None and r.next_sync_at <= now
            ),
            key=lambda r: r.next_sync_at,
        )[:limit]
        claimed = []
        for r in due:
            step = r.sync_count + 1
            following = None if step > len(backoff_s) else now + timedelta(seconds=backoff_s[step - 1])
            claimed.append(self.t.put_refund(replace(r, sync_count=step, next_sync_at=following)))
        return claimed
