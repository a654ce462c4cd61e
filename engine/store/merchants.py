"""Repositories of merchants and their API keys, gateway accounts, customers and webhook
receipts (SQL in sql/queries/merchants.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.model import Customer
from engine.store.base import Repository, keys
from engine.store.sqlfile import load_queries

Q = load_queries("merchants")


class SealedAccount(msgspec.Struct, frozen=True):
    """A gateway account as stored: its credentials still sealed."""

    id: str
    merchant_id: str
    gateway: str
    credentials: bytes
    key_id: str
    priority: int
    enabled: bool


class Merchants(Repository):
    """Merchants and their (hashed) API keys."""

    __slots__ = ()

    async def insert(self, merchant_id: str, name: str, sandbox: bool) -> dict[str, Any]:
        """A new merchant row."""
        return dict(await self._db.fetchrow(Q.insert_merchant, merchant_id, name, sandbox))

    async def add_api_key(self, key_id: str, merchant_id: str, key_hash: bytes, prefix: str) -> None:
        """Store an API key by its hash (and a displayable prefix)."""
        await self._db.execute(Q.insert_api_key, key_id, merchant_id, key_hash, prefix)

    async def add_key_of_kind(
        self,
        key_id: str,
        merchant_id: str,
        key_hash: bytes,
        prefix: str,
        kind: str,
        sealed: tuple[bytes, str] | None = None,
    ) -> None:
        """Store a ``secret`` or ``publishable`` key by its hash (a publishable one may also be
        kept ``sealed`` = (ciphertext, key id), for the hosted checkout page)."""
        blob, seal_id = sealed or (None, None)
        await self._db.execute(Q.insert_api_key_of_kind, key_id, merchant_id, key_hash, prefix, kind, blob, seal_id)

    async def for_key(self, key_hash: bytes, kind: str = "secret") -> tuple[str, bytes] | None:
        """(merchant id, stored hash) of a live key of ``kind`` with this hash."""
        row = await self._db.fetchrow(Q.merchant_for_key, key_hash, kind)
        return (str(row["merchant_id"]), bytes(row["key_hash"])) if row else None

    async def publishable_to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, bytes, str]]:
        """Key rotation: (key row id, sealed, key id) of publishable keys not sealed with ``key_id``."""
        rows = await self._db.fetch(Q.publishable_to_reseal, key_id, after, limit)
        return [(r["id"], bytes(r["sealed"]), r["key_id"]) for r in rows]

    async def reseal_publishable(self, row_id: str, old_key_id: str, sealed: bytes, key_id: str) -> bool:
        """Replace a publishable key's ciphertext still sealed with ``old_key_id``."""
        return await self._db.execute(Q.reseal_publishable, row_id, old_key_id, sealed, key_id) == "UPDATE 1"

    async def checkout_of(self, merchant_id: str) -> tuple[str, str | None, bytes | None, str | None] | None:
        """(name, publishable key's row id, its sealed value, seal key id) of a merchant."""
        row = await self._db.fetchrow(Q.checkout_of_merchant, merchant_id)
        if row is None:
            return None
        sealed = bytes(row["key_sealed"]) if row["key_sealed"] is not None else None
        return str(row["name"]), row["key_id"], sealed, row["seal_key_id"]


class GatewayAccounts(Repository):
    """Merchants' gateway accounts: sealed credentials, routing order, key rotation."""

    __slots__ = ()

    async def insert(
        self, account_id: str, merchant_id: str, gateway: str, sealed: bytes, key_id: str, priority: int
    ) -> None:
        """Store an account with credentials already sealed."""
        await self._db.execute(Q.insert_gateway_account, account_id, merchant_id, gateway, sealed, key_id, priority)

    async def of_merchant(self, merchant_id: str) -> list[SealedAccount]:
        """The merchant's accounts in routing order."""
        rows = await self._db.fetch(Q.gateway_accounts, merchant_id)
        return [SealedAccount(**{**dict(r), "credentials": bytes(r["credentials"])}) for r in rows]

    async def set_route(self, merchant_id: str, gateway: str, priority: int, enabled: bool) -> None:
        """Place one gateway in the merchant's routing order."""
        await self._db.execute(Q.set_account_route, merchant_id, gateway, priority, enabled)

    async def to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, str]]:
        """(id, key id) of the next accounts not sealed with ``key_id``, in id order after ``after``."""
        return [(r["id"], r["key_id"]) for r in await self._db.fetch(Q.accounts_to_reseal, key_id, after, limit)]

    async def lock_sealed_with(self, account_id: str, key_id: str) -> bytes | None:
        """The account's ciphertext, row-locked, while it still carries ``key_id``."""
        blob = await self._db.fetchval(Q.lock_account_sealed_with, account_id, key_id)
        return bytes(blob) if blob is not None else None

    async def reseal(self, account_id: str, old_key_id: str, sealed: bytes, key_id: str) -> None:
        """Replace the ciphertext sealed with ``old_key_id``."""
        await self._db.execute(Q.reseal_account, account_id, old_key_id, sealed, key_id)

    async def count_sealed_with(self, key_id: str) -> int:
        """How many accounts carry ``key_id``."""
        return int(await self._db.fetchval(Q.count_accounts_sealed_with, key_id))


class Customers(Repository):
    """Customers of merchants and their references at gateways."""

    __slots__ = ()

    async def insert(
        self, customer_id: str, merchant_id: str, email: str | None, phone: str | None, name: str | None, metadata: Any
    ) -> Customer:
        """A new customer."""
        row = await self._db.fetchrow(Q.insert_customer, customer_id, merchant_id, email, phone, name, metadata)
        return Customer(**dict(row))

    async def get(self, customer_id: str, merchant_id: str) -> Customer | None:
        """The merchant's customer, or ``None``."""
        row = await self._db.fetchrow(Q.get_customer, customer_id, merchant_id)
        return Customer(**dict(row)) if row else None

    async def page(
        self,
        merchant_id: str,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Customer]:
        """Up to ``limit`` of the merchant's customers older (or newer) than a cursor, newest first."""
        rows = await self._db.fetch(Q.list_customers, merchant_id, *keys(older_than, newer_than), limit)
        return [Customer(**dict(r)) for r in rows]

    async def cursor_of(self, customer_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        """The sort key of the merchant's customer ``customer_id``, for cursor pagination."""
        row = await self._db.fetchrow(Q.customer_cursor, customer_id, merchant_id)
        return (row["created_at"], row["id"]) if row else None

    async def add_gateway_ref(self, customer_id: str, merchant_id: str, gateway: str, reference: str) -> None:
        """Record one gateway's id for the customer."""
        await self._db.execute(Q.add_customer_ref, customer_id, merchant_id, gateway, reference)


class WebhookReceipts(Repository):
    """Gateway events already applied (deduplication)."""

    __slots__ = ()

    async def record(self, gateway: str, merchant_id: str, event_id: str, event_type: str) -> bool:
        """Record the event; False when it was recorded before (a duplicate)."""
        return await self._db.fetchval(Q.record_webhook, gateway, merchant_id, event_id, event_type) is not None
