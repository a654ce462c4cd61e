"""The phase statements of a charge: one read and one guarded write each (sql/queries/payments.sql).

A phase reads the attempt and its payment in one round trip, folds the news in Python, and
writes everything it changed in ONE statement guarded by the versions it read. There is no
BEGIN/COMMIT round trip and no row lock held across the fold: a write that lost a race raises
``StaleWrite`` with nothing written, and the phase starts over from a fresh read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from engine.ids import new_id
from engine.model import Attempt, Payment
from engine.store.base import Repository
from engine.store.idempotency import StoredKey, stored_key
from engine.store.sqlfile import load_queries

Q = load_queries("payments")

StaleWrite = asyncpg.SerializationError


class Answer(msgspec.Struct, frozen=True):
    """An idempotency key's final response, written with the phase that decided it."""

    key: str
    status: int
    body: bytes


class NewKey(msgspec.Struct, frozen=True):
    """An idempotency key to claim with the first write of a phase."""

    method: str
    path: str
    fingerprint: bytes
    ttl_hours: int


class Contact(msgspec.Struct, frozen=True):
    """How the payment's customer is reached (what gateways ask for), when known."""

    email: str | None = None
    phone: str | None = None


class Phases(Repository):
    """The read and the guarded write of each charge phase."""

    __slots__ = ()

    async def read_for_settle(self, attempt_id: str, merchant_id: str) -> tuple[Payment, Attempt] | None:
        """The attempt and its payment as they are now (one round trip, no lock)."""
        row = await self._db.fetchrow(Q.read_for_settle, attempt_id, merchant_id)
        if row is None:
            return None
        return msgspec.convert(row["payment"], Payment), msgspec.convert(row["attempt"], Attempt)

    async def read_for_confirm(
        self, payment_id: str, merchant_id: str, key: str | None = None
    ) -> tuple[Payment, Contact, StoredKey | None] | None:
        """The payment, its customer's contact and (``key``) the request's idempotency key as
        stored, in one round trip."""
        row = await self._db.fetchrow(Q.get_payment_with_contact, payment_id, merchant_id, key)
        if row is None:
            return None
        return msgspec.convert(row["payment"], Payment), Contact(row["email"], row["phone"]), stored_key(row)

    async def start_attempt(
        self,
        before: Payment,
        after: Payment,
        attempt: Attempt,
        allowed_from: list[str],
        event: Any,
        key: str | None,
        new_key: NewKey | None = None,
    ) -> str:
        """Move ``before`` to ``after`` (processing) and open ``attempt``, with its event and the key's
        recovery point -- claiming the key first when it is ``new_key`` (not stored yet). Answers
        ``started``, ``key_taken`` (another request holds that key) or ``stale`` (the payment
        changed since it was read); only ``started`` wrote anything."""
        args = (
            before.id, before.merchant_id, before.version, allowed_from,
            after.gateway, after.payment_method, after.return_url, after.routing, after.updated_at,
            attempt.id, attempt.gateway_account_id, attempt.method_type, new_id("evt"), event, key,
            attempt.next_sync_at,
        )  # fmt: skip
        claim = (None, None, None, None) if new_key is None else msgspec.structs.astuple(new_key)
        return str(await self._db.fetchval(Q.start_attempt, *args, *claim))

    async def write_settlement(
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
        """Write a settled attempt (and the payment when ``payment`` is given) with everything that
        goes with it, in one statement guarded by the versions read; ``StaleWrite`` when they moved."""
        a, p = attempt, payment or before
        args = (
            a.id, a.merchant_id, attempt_before.version,
            a.status, a.amount_captured, a.gateway_order_id, a.gateway_reference, a.redirect_url, a.decline_code,
            a.error_code, a.error_message, a.raw_status, a.sync_count, a.next_sync_at, a.failover_reason,
            a.last_synced_at, now,
            p.id, before.version if payment is not None else None,
            p.status, p.amount_capturable, p.amount_received, p.gateway, p.gateway_reference, p.payment_method,
            p.next_action, p.last_error, p.return_url, p.routing,
            events, open_capture, close_captures,
            answer.key if answer else None, answer.status if answer else None, answer.body if answer else None,
        )  # fmt: skip
        await self._db.execute(Q.write_settlement, *args)
