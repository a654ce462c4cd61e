"""Merchant webhook endpoints, their deliveries (``work_items`` of kind ``webhook``), delivery
attempts and the events feed (SQL in sql/queries/webhooks.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.store.base import Repository
from engine.store.sqlfile import load_queries

Q = load_queries("webhooks")


class Endpoint(msgspec.Struct, kw_only=True, frozen=True):
    """A merchant's webhook endpoint; the secrets stay sealed here."""

    id: str
    merchant_id: str
    url: str
    description: str | None
    enabled_events: list[str]
    status: str
    secret_sealed: bytes
    secret_key_id: str
    previous_sealed: bytes | None
    previous_key_id: str | None
    previous_until: datetime | None
    failing_since: datetime | None
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Delivery(msgspec.Struct, kw_only=True, frozen=True):
    """A leased delivery: the work row, its event and what signing and sending need."""

    id: int
    merchant_id: str
    event_id: str
    endpoint_id: str
    tries: int
    event_type: str
    event_data: Any
    event_created: datetime
    url: str
    status: str
    deleted: bool
    secret_sealed: bytes
    secret_key_id: str
    previous_sealed: bytes | None
    previous_key_id: str | None


class Outcome(msgspec.Struct, kw_only=True, frozen=True):
    """What one attempt produced (the response body already cut to 1 KB)."""

    answered: int | None  # the HTTP status, None when no answer came
    duration_ms: int
    error: str | None = None
    body: str | None = None


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(**dict(row))


class Endpoints(Repository):
    """Webhook endpoints, always scoped by merchant."""

    __slots__ = ()

    async def insert(
        self,
        id_: str,
        merchant_id: str,
        url: str,
        description: str | None,
        events: list[str],
        sealed: bytes,
        key_id: str,
    ) -> Endpoint:
        """Store a new endpoint."""
        return _endpoint(
            await self._db.fetchrow(Q.insert_endpoint, id_, merchant_id, url, description, events, sealed, key_id)
        )

    async def get(self, id_: str, merchant_id: str) -> Endpoint | None:
        """The merchant's live endpoint, or ``None``."""
        row = await self._db.fetchrow(Q.get_endpoint, id_, merchant_id)
        return _endpoint(row) if row else None

    async def list(self, merchant_id: str, limit: int) -> list[Endpoint]:
        """The merchant's live endpoints, newest first."""
        return [_endpoint(r) for r in await self._db.fetch(Q.list_endpoints, merchant_id, limit)]

    async def update(
        self,
        id_: str,
        merchant_id: str,
        *,
        url: str | None,
        events: list[str] | None,
        status: str | None,
        description: str | None,
    ) -> Endpoint | None:
        """Change the given fields; ``None`` when there is no such endpoint."""
        row = await self._db.fetchrow(Q.update_endpoint, id_, merchant_id, url, events, status, description)
        return _endpoint(row) if row else None

    async def delete(self, id_: str, merchant_id: str) -> bool:
        """Delete the endpoint and stop its open deliveries; ``False`` when there is none."""
        return bool(await self._db.fetchval(Q.delete_endpoint, id_, merchant_id))

    async def rotate(
        self, id_: str, merchant_id: str, sealed: bytes, key_id: str, previous: bytes, overlap_s: float
    ) -> Endpoint | None:
        """Install a new secret; the current one (re-sealed as ``previous``) signs for ``overlap_s`` more."""
        row = await self._db.fetchrow(Q.rotate_secret, id_, merchant_id, sealed, key_id, previous, overlap_s)
        return _endpoint(row) if row else None

    async def to_reseal(self, key_id: str, after: str, limit: int) -> list[dict[str, Any]]:
        """Key rotation: the next endpoints with a secret not sealed with ``key_id``."""
        return [dict(r) for r in await self._db.fetch(Q.endpoints_to_reseal, key_id, after, limit)]

    async def reseal(self, row: dict[str, Any], sealed: bytes, previous: bytes | None, key_id: str) -> bool:
        """Replace the ciphertexts of ``row`` (as read) with ones sealed under ``key_id``."""
        status = await self._db.execute(
            Q.reseal_endpoint,
            row["id"],
            row["secret_sealed"],
            row["previous_sealed"],
            sealed,
            key_id,
            previous,
            key_id if previous is not None else None,
        )
        return status.endswith(" 1")

    async def attempts(
        self, id_: str, merchant_id: str, before: int | None, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """The endpoint's delivery attempts older than ``before`` (or the nearest newer than
        ``after``), newest first."""
        return [dict(r) for r in await self._db.fetch(Q.list_attempts, id_, merchant_id, before, after, limit)]


class Deliveries(Repository):
    """The relay (outbox → delivery rows) and the delivery rows' lifecycle."""

    __slots__ = ()

    async def fan_out(self, limit: int, internal: list[str], public: list[str], first_s: float) -> tuple[int, int]:
        """Relay up to ``limit`` new events, each delivery due ``first_s`` from now; returns
        (events relayed, delivery rows written)."""
        row = await self._db.fetchrow(Q.fan_out, limit, internal, public, first_s)
        return int(row["relayed"]), int(row["deliveries"])

    async def claim(self, limit: int, lease_s: float) -> list[Delivery]:
        """Lease up to ``limit`` due deliveries (``SKIP LOCKED``: safe on many processes)."""
        return [Delivery(**dict(r)) for r in await self._db.fetch(Q.claim_deliveries, limit, lease_s)]

    async def succeeded(self, d: Delivery, o: Outcome) -> None:
        """Record a 2xx: the row is done."""
        await self._db.execute(
            Q.record_success, d.id, d.merchant_id, d.endpoint_id, d.event_id, o.answered, o.duration_ms, o.body
        )

    async def failed(self, d: Delivery, o: Outcome, next_in_s: float | None, disable_after_s: float) -> bool:
        """Record a failure and schedule the next try (``None``: give up); returns whether the
        endpoint has now failed for ``disable_after_s``."""
        return bool(
            await self._db.fetchval(
                Q.record_failure,
                d.id,
                d.merchant_id,
                d.endpoint_id,
                d.event_id,
                o.answered,
                o.duration_ms,
                o.error,
                next_in_s,
                disable_after_s,
                o.body,
            )
        )

    async def disable_endpoint(
        self, endpoint_id: str, merchant_id: str, after_s: float, event_id: str, data: Any
    ) -> bool:
        """Disable a failing endpoint with its ``webhook_endpoint.disabled`` event (once)."""
        return bool(await self._db.fetchval(Q.disable_failing, endpoint_id, merchant_id, after_s, event_id, data))

    async def close(self, d: Delivery, reason: str) -> None:
        """Give up a delivery whose endpoint is gone or disabled."""
        await self._db.execute(Q.close_delivery, d.id, d.merchant_id, reason)

    async def redeliver(self, event_id: str, merchant_id: str, public_type: str) -> int:
        """Schedule the event now for every subscribed endpoint; returns how many."""
        return int(await self._db.fetchval(Q.redeliver, event_id, merchant_id, public_type))


class EventFeed(Repository):
    """The outbox read as the merchant's events (public types only)."""

    __slots__ = ()

    async def get(self, event_id: str, merchant_id: str, internal: list[str]) -> dict[str, Any] | None:
        """One event of a public type, or ``None``."""
        row = await self._db.fetchrow(Q.get_event, event_id, merchant_id, internal)
        return dict(row) if row else None

    async def seq_of(self, event_id: str, merchant_id: str) -> int | None:
        """The cursor position of a merchant's event."""
        value = await self._db.fetchval(Q.event_seq, event_id, merchant_id)
        return int(value) if value is not None else None

    async def page(
        self, merchant_id: str, internal: list[str], before: int | None, after: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Newest first, older than ``before`` / newer than ``after``."""
        return [dict(r) for r in await self._db.fetch(Q.list_events, merchant_id, internal, before, after, limit)]
