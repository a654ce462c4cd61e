"""Repositories of payments, attempts and their outbox events (SQL in sql/queries/payments.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from engine.errors import Conflict, NotFound
from engine.ids import new_id
from engine.model import Attempt, Payment
from engine.store.base import Repository, affected, keys
from engine.store.sqlfile import load_queries

Q = load_queries("payments")


def _payment(row: Any) -> Payment:
    return Payment(**dict(row))


def _attempt(row: Any) -> Attempt:
    return Attempt(**dict(row))


class Payments(Repository):
    """Payments of merchants (every statement scoped by merchant id)."""

    __slots__ = ()

    async def insert(
        self,
        p: Payment,
        event: Any,
        key: tuple[str, str, str, bytes, int, bytes, int] | None = None,
        *,
        claimed_key: str | None = None,
        client_secret: tuple[bytes, bytes, str] | None = None,
    ) -> bool:
        """Insert a payment and its ``payment.created`` event in ONE statement (one round trip).

        ``client_secret`` = (SHA-256, sealed secret, key id) is stored in the same statement.

        With ``key`` = (key, method, path, fingerprint, status, body, ttl hours) the idempotency
        record is written in the same statement; returns False (and writes nothing) when that key
        already exists. With ``claimed_key`` (a key this request holds) the key's recovery point
        becomes ``payment_created`` in the same statement. A reused ``merchant_order_id`` is a 409
        conflict.
        """
        args = (
            p.id, p.merchant_id, p.amount, p.currency, p.status, p.capture_method, p.customer_id,
            p.merchant_order_id, p.description, p.metadata, p.return_url, p.gateway, p.payment_method,
            p.created_at, new_id("evt"), event,
        )  # fmt: skip
        secret = client_secret or (None, None, None)
        try:
            if claimed_key is not None:
                await self._db.execute(Q.create_payment_at_recovery_point, *args, claimed_key, *secret)
                return True
            if key is None:
                await self._db.execute(Q.create_payment_alone, *args, *secret)
                return True
            return bool(await self._db.fetchval(Q.create_payment_with_key, *args, *key, *secret))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "order_id_unique":
                raise Conflict(
                    "A payment with this merchant_order_id already exists.", param="merchant_order_id"
                ) from None
            raise
        except asyncpg.ForeignKeyViolationError as exc:
            if exc.constraint_name == "payments_customer_same_merchant":
                raise NotFound("No such customer.", param="customer_id") from None
            raise

    async def client_secret_hash(self, payment_id: str, merchant_id: str) -> bytes | None:
        """The SHA-256 of the payment's client secret (the merchant's payment only)."""
        value = await self._db.fetchval(Q.client_secret_hash, payment_id, merchant_id)
        return bytes(value) if value is not None else None

    async def get_with_secret(
        self, payment_id: str, merchant_id: str
    ) -> tuple[Payment, tuple[bytes, str] | None] | None:
        """The merchant's payment and its sealed client secret (with key id), in one round trip."""
        row = await self._db.fetchrow(Q.get_payment_with_secret, payment_id, merchant_id)
        if row is None:
            return None
        fields = dict(row)
        sealed, key_id = fields.pop("client_secret_sealed"), fields.pop("client_secret_key_id")
        return Payment(**fields), (bytes(sealed), str(key_id)) if sealed is not None else None

    async def client_secrets_to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, bytes, str]]:
        """Key rotation: (payment id, sealed, key id) of client secrets not sealed with ``key_id``."""
        rows = await self._db.fetch(Q.client_secrets_to_reseal, key_id, after, limit)
        return [(r["id"], bytes(r["sealed"]), r["key_id"]) for r in rows]

    async def reseal_client_secret(self, payment_id: str, old_key_id: str, sealed: bytes, key_id: str) -> bool:
        """Replace a client secret's ciphertext still sealed with ``old_key_id``."""
        return await self._db.execute(Q.reseal_client_secret, payment_id, old_key_id, sealed, key_id) == "UPDATE 1"

    async def checkout_secret(self, payment_id: str) -> tuple[str, bytes] | None:
        """(merchant id, client-secret hash) of a payment, for the hosted checkout page, which
        knows no merchant before the secret is checked."""
        row = await self._db.fetchrow(Q.checkout_secret, payment_id)
        return (str(row["merchant_id"]), bytes(row["secret_hash"])) if row else None

    async def client_secret_sealed(self, payment_id: str, merchant_id: str) -> tuple[bytes, str] | None:
        """The payment's sealed client secret and its key id (the merchant's payment only)."""
        row = await self._db.fetchrow(Q.client_secret_sealed, payment_id, merchant_id)
        return (bytes(row["sealed"]), str(row["key_id"])) if row else None

    async def get(self, payment_id: str, merchant_id: str) -> Payment | None:
        """The merchant's payment, or ``None`` (another merchant's payment is simply absent)."""
        row = await self._db.fetchrow(Q.get_payment, payment_id, merchant_id)
        return _payment(row) if row else None

    async def lock(self, payment_id: str, merchant_id: str) -> Payment | None:
        """Read and row-lock the payment for the rest of the transaction."""
        row = await self._db.fetchrow(Q.lock_payment, payment_id, merchant_id)
        return _payment(row) if row else None

    async def update(self, p: Payment) -> Payment:
        """Write the mutable fields; the version guard turns a lost update into an error."""
        row = await self._db.fetchrow(
            Q.update_payment,
            p.id,
            p.merchant_id,
            p.status,
            p.amount_capturable,
            p.amount_received,
            p.gateway,
            p.gateway_reference,
            p.payment_method,
            p.next_action,
            p.last_error,
            p.return_url,
            p.version,
            p.routing,
        )
        if row is None:
            raise RuntimeError(f"payment {p.id} changed concurrently (version {p.version})")
        return _payment(row)

    async def page(
        self,
        merchant_id: str,
        status: str | None,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Payment]:
        """Up to ``limit`` of the merchant's payments older (or newer) than a cursor, newest first."""
        rows = await self._db.fetch(Q.list_payments, merchant_id, status, *keys(older_than, newer_than), limit)
        return [_payment(r) for r in rows]

    async def cursor_of(self, payment_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        """The sort key of ``payment_id`` for cursor pagination."""
        row = await self._db.fetchrow(Q.cursor_of, payment_id, merchant_id)
        return (row["created_at"], row["id"]) if row else None


class Attempts(Repository):
    """Gateway attempts of payments."""

    __slots__ = ()

    async def insert(
        self,
        payment: Payment,
        gateway: str,
        account_id: str,
        method_type: str,
        gateway_order_id: str | None = None,
    ) -> Attempt:
        """A new ``pending`` attempt, written before the gateway is called."""
        row = await self._db.fetchrow(
            Q.insert_attempt,
            new_id("att"),
            payment.id,
            payment.merchant_id,
            gateway,
            account_id,
            payment.amount,
            method_type,
            gateway_order_id,
        )
        return _attempt(row)

    async def lock(self, attempt_id: str, merchant_id: str) -> Attempt | None:
        """Read and row-lock an attempt."""
        row = await self._db.fetchrow(Q.lock_attempt, attempt_id, merchant_id)
        return _attempt(row) if row else None

    async def get(self, attempt_id: str, merchant_id: str) -> Attempt | None:
        """An attempt of the merchant, without locking it."""
        row = await self._db.fetchrow(Q.get_attempt, attempt_id, merchant_id)
        return _attempt(row) if row else None

    async def latest(self, payment_id: str, merchant_id: str) -> Attempt | None:
        """The payment's most recent attempt."""
        row = await self._db.fetchrow(Q.latest_attempt, payment_id, merchant_id)
        return _attempt(row) if row else None

    async def find_by_gateway_ref(
        self, merchant_id: str, gateway: str, reference: str | None, order_id: str | None
    ) -> Attempt | None:
        """The attempt a gateway event is about, by the gateway's payment or order id."""
        if reference is None and order_id is None:
            return None
        row = await self._db.fetchrow(Q.find_attempt_by_gateway_ref, merchant_id, gateway, reference, order_id)
        return _attempt(row) if row else None

    async def of_payment(self, payment_id: str, merchant_id: str) -> list[Attempt]:
        """Every attempt of a payment, oldest first."""
        return [_attempt(r) for r in await self._db.fetch(Q.list_attempts, payment_id, merchant_id)]

    async def update(self, a: Attempt) -> Attempt:
        """Write an attempt's mutable fields (the status trigger rejects illegal moves)."""
        row = await self._db.fetchrow(
            Q.update_attempt,
            a.id,
            a.merchant_id,
            a.status,
            a.amount_captured,
            a.gateway_order_id,
            a.gateway_reference,
            a.redirect_url,
            a.decline_code,
            a.error_code,
            a.error_message,
            a.raw_status,
            a.sync_count,
            a.next_sync_at,
            a.failover_reason,
            a.last_synced_at,
        )
        return _attempt(row)

    async def claim_due(self, limit: int, backoff_s: list[float]) -> list[Attempt]:
        """Claim up to ``limit`` due unresolved attempts for this reconciler (see the SQL)."""
        return [_attempt(r) for r in await self._db.fetch(Q.claim_due_attempts, limit, backoff_s)]

    async def record_order(self, attempt_id: str, merchant_id: str, order_id: str) -> bool:
        """Commit the gateway order id of an attempt (a recovery point between two gateway calls);
        False when the attempt already had one."""
        return affected(await self._db.execute(Q.record_order, attempt_id, merchant_id, order_id)) == 1

    async def mark_redirect_lost(self, attempt_id: str, merchant_id: str) -> None:
        """Record that the attempt's page for the customer never reached the engine."""
        await self._db.execute(Q.mark_redirect_lost, attempt_id, merchant_id)


class Events(Repository):
    """The outbox: one event row per state change, written with the change."""

    __slots__ = ()

    async def add(self, merchant_id: str, type_: str, object_id: str, data: Any) -> None:
        """Append to the outbox, inside the caller's transaction."""
        await self._db.execute(Q.insert_event, new_id("evt"), merchant_id, type_, object_id, data)

    async def of_object(self, merchant_id: str, object_id: str) -> list[dict[str, Any]]:
        """The outbox events of one object, in order."""
        return [dict(r) for r in await self._db.fetch(Q.list_events, merchant_id, object_id)]
