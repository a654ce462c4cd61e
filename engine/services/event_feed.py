"""The events API: the outbox's public events of a merchant, and redelivering one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import NotFound, ValidationError
from engine.ids import plausible
from engine.merchant_webhooks.events import (
    INTERNAL_TYPES,
    PUBLIC_NAMES,
    PUBLIC_TYPES,
    EventList,
    EventObject,
    event_object,
    internal_types_of,
)
from engine.merchant_webhooks.objects import Redelivery
from engine.services import pages

if TYPE_CHECKING:
    from engine.bootstrap import Engine


def _view(row: dict[str, Any]) -> EventObject:
    return event_object(row["id"], row["type"], row["data"], row["created_at"])


async def get_event(engine: Engine, merchant_id: str, event_id: str) -> EventObject:
    """One public event of the merchant, or 404."""
    row = await engine.db.feed.get(event_id, merchant_id, INTERNAL_TYPES) if plausible(event_id) else None
    if row is None:
        raise NotFound(f"No such event: {event_id[:64]!r}.")
    return _view(row)


async def list_events(
    engine: Engine,
    merchant_id: str,
    *,
    type_: str | None,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> EventList:
    """A page of events, newest first: ``starting_after`` pages to older ones, ``ending_before``
    to newer ones."""
    pages.check(limit, starting_after, ending_before)
    if type_ is not None and type_ not in PUBLIC_NAMES:
        raise ValidationError(f"Unknown event type {type_[:64]!r}.", param="type", code="event_type_unknown")
    internal = internal_types_of(type_) if type_ is not None else INTERNAL_TYPES
    w = await pages.window(
        limit, starting_after, ending_before, lambda eid: engine.db.feed.seq_of(eid, merchant_id), "event"
    )
    rows = await engine.db.feed.page(merchant_id, internal, w.older_than, w.newer_than, w.size)
    page, has_more = pages.trim(rows, limit, w.newer_than is not None)
    return EventList("list", [_view(r) for r in page], has_more)


async def redeliver(engine: Engine, merchant_id: str, event_id: str) -> Redelivery:
    """Deliver the event again, now, to every enabled endpoint subscribed to it."""
    row = await engine.db.feed.get(event_id, merchant_id, INTERNAL_TYPES) if plausible(event_id) else None
    if row is None:
        raise NotFound(f"No such event: {event_id[:64]!r}.")
    count = await engine.db.deliveries.redeliver(event_id, merchant_id, PUBLIC_TYPES[row["type"]])
    return Redelivery(event_id, "event", count)
