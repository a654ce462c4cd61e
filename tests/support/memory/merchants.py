"""In-memory Merchants, GatewayAccounts, Customers and WebhookReceipts
(the semantics of sql/queries/merchants.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from engine.model import Customer
from engine.store.merchants import SealedAccount
from tests.support.memory.base import MemoryRepository, page_of, statement
from tests.support.memory.tables import copy, jsonb

replace = msgspec.structs.replace


class Merchants(MemoryRepository):
    @statement
    def insert(self, merchant_id: str, name: str, sandbox: bool) -> dict[str, Any]:
        if merchant_id in self.t.merchants:
            raise asyncpg.UniqueViolationError("merchants_pkey")
        row = {"id": merchant_id, "name": name, "sandbox": sandbox, "created_at": self.t.now}
        self.t.merchants[merchant_id] = row
        return dict(row)

    @statement
    def add_api_key(self, key_id: str, merchant_id: str, key_hash: bytes, prefix: str) -> None:
        if merchant_id not in self.t.merchants:
            raise asyncpg.ForeignKeyViolationError("api_keys_merchant_id_fkey")
        if key_hash in self.t.api_keys:
            raise asyncpg.UniqueViolationError("api_keys_key_hash_key")
        self.t.api_keys[key_hash] = {"id": key_id, "merchant_id": merchant_id, "prefix": prefix, "revoked": False,
                                     "kind": "secret", "sealed": None}  # fmt: skip

    @statement
    def add_key_of_kind(
        self,
        key_id: str,
        merchant_id: str,
        key_hash: bytes,
        prefix: str,
        kind: str,
        sealed: tuple[bytes, str] | None = None,
    ) -> None:
        if merchant_id not in self.t.merchants:
            raise asyncpg.ForeignKeyViolationError("api_keys_merchant_id_fkey")
        if key_hash in self.t.api_keys:
            raise asyncpg.UniqueViolationError("api_keys_key_hash_key")
        row = {"id": key_id, "merchant_id": merchant_id, "prefix": prefix, "revoked": False, "kind": kind,
               "sealed": sealed}  # fmt: skip
        self.t.api_keys[key_hash] = row

    @statement
    def for_key(self, key_hash: bytes, kind: str = "secret") -> tuple[str, bytes] | None:
        row = self.t.api_keys.get(key_hash)
        ok = row is not None and not row["revoked"] and row.get("kind", "secret") == kind
        return (row["merchant_id"], key_hash) if ok else None

    @statement
    def publishable_to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, bytes, str]]:
        rows = sorted((k["id"], *k["sealed"]) for k in self.t.api_keys.values()
                      if k.get("sealed") and k["sealed"][1] != key_id and k["id"] > after)  # fmt: skip
        return rows[:limit]

    @statement
    def reseal_publishable(self, row_id: str, old_key_id: str, sealed: bytes, key_id: str) -> bool:
        for digest, k in self.t.api_keys.items():
            if k["id"] == row_id and k.get("sealed") and k["sealed"][1] == old_key_id:
                self.t.api_keys[digest] = {**k, "sealed": (sealed, key_id)}
                return True
        return False

    @statement
    def checkout_of(self, merchant_id: str) -> tuple[str, str | None, bytes | None, str | None] | None:
        row = self.t.merchants.get(merchant_id)
        if row is None:
            return None
        for key in self.t.api_keys.values():
            if key["merchant_id"] == merchant_id and key.get("kind") == "publishable" and not key["revoked"]:
                blob, seal_id = key["sealed"] or (None, None)
                return row["name"], key["id"], blob, seal_id
        return row["name"], None, None, None


class GatewayAccounts(MemoryRepository):
    @statement
    def insert(
        self, account_id: str, merchant_id: str, gateway: str, sealed: bytes, key_id: str, priority: int
    ) -> None:
        if any((a.merchant_id, a.gateway) == (merchant_id, gateway) for a, _ in self.t.accounts.values()):
            raise asyncpg.UniqueViolationError("gateway_accounts_merchant_id_gateway_key")
        account = SealedAccount(account_id, merchant_id, gateway, bytes(sealed), key_id, priority, True)
        self.t.accounts[account_id] = (account, self.t.order())

    @statement
    def of_merchant(self, merchant_id: str) -> list[SealedAccount]:
        rows = [(a.priority, order, a) for a, order in self.t.accounts.values() if a.merchant_id == merchant_id]
        return [a for _, _, a in sorted(rows, key=lambda r: r[:2])]

    @statement
    def set_route(self, merchant_id: str, gateway: str, priority: int, enabled: bool) -> None:
        for account_id, (a, order) in list(self.t.accounts.items()):
            if (a.merchant_id, a.gateway) == (merchant_id, gateway):
                self.t.accounts[account_id] = (replace(a, priority=priority, enabled=enabled), order)

    @statement
    def to_reseal(self, key_id: str, after: str, limit: int) -> list[tuple[str, str]]:
        rows = sorted((a.id, a.key_id) for a, _ in self.t.accounts.values() if a.key_id != key_id and a.id > after)
        return rows[:limit]

    @statement
    def lock_sealed_with(self, account_id: str, key_id: str) -> bytes | None:
        found = self.t.accounts.get(account_id)
        return found[0].credentials if found is not None and found[0].key_id == key_id else None

    @statement
    def reseal(self, account_id: str, old_key_id: str, sealed: bytes, key_id: str) -> None:
        found = self.t.accounts.get(account_id)
        if found is not None and found[0].key_id == old_key_id:
            self.t.accounts[account_id] = (replace(found[0], credentials=bytes(sealed), key_id=key_id), found[1])

    @statement
    def count_sealed_with(self, key_id: str) -> int:
        return sum(1 for a, _ in self.t.accounts.values() if a.key_id == key_id)


class Customers(MemoryRepository):
    @statement
    def insert(
        self, customer_id: str, merchant_id: str, email: str | None, phone: str | None, name: str | None, metadata: Any
    ) -> Customer:
        customer = Customer(
            id=customer_id, merchant_id=merchant_id, email=email, phone=phone, name=name,
            metadata=jsonb(metadata if metadata is not None else {}), gateway_refs={}, created_at=self.t.now,
        )  # fmt: skip
        self.t.customers[customer_id] = customer
        return copy(customer)

    @statement
    def get(self, customer_id: str, merchant_id: str) -> Customer | None:
        c = self.t.customers.get(customer_id)
        return copy(c) if c is not None and c.merchant_id == merchant_id else None

    @statement
    def page(
        self,
        merchant_id: str,
        older_than: tuple[datetime, str] | None,
        newer_than: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Customer]:
        mine = [c for c in self.t.customers.values() if c.merchant_id == merchant_id]
        return page_of(mine, older_than, newer_than, limit)

    @statement
    def cursor_of(self, customer_id: str, merchant_id: str) -> tuple[datetime, str] | None:
        c = self.t.customers.get(customer_id)
        return (c.created_at, c.id) if c is not None and c.merchant_id == merchant_id else None

    @statement
    def add_gateway_ref(self, customer_id: str, merchant_id: str, gateway: str, reference: str) -> None:
        c = self.t.customers.get(customer_id)
        if c is not None and c.merchant_id == merchant_id:
            self.t.customers[customer_id] = replace(c, gateway_refs={**c.gateway_refs, gateway: reference})


class WebhookReceipts(MemoryRepository):
    @statement
    def record(self, gateway: str, merchant_id: str, event_id: str, event_type: str) -> bool:
        if (gateway, merchant_id, event_id) in self.t.webhooks:
            return False
        self.t.webhooks[gateway, merchant_id, event_id] = event_type
        return True
