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


async def _cursor(engine: Engine, merchant_id: str, event_id: str | None, param: str) -> int | None:
    if event_id is None:
        return None
    seq = await engine.db.feed.seq_of(event_id, merchant_id) if plausible(event_id) else None
    if seq is None:
        raise NotFound(f"No such event: {event_id[:64]!r}.", param=param)
    return seq


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
    pages.check_limit(limit)
    if starting_after is not None and ending_before is not None:
        raise ValidationError("Pass starting_after or ending_before, not both.", param="ending_before")
    if type_ is not None and type_ not in PUBLIC_NAMES:
        raise ValidationError(f"Unknown event type {type_[:64]!r}.", param="type", code="event_type_unknown")
    internal = internal_types_of(type_) if type_ is not None else INTERNAL_TYPES
    before = await _cursor(engine, merchant_id, starting_after, "starting_after")
    after = await _cursor(engine, merchant_id, ending_before, "ending_before")
    rows = await engine.db.feed.page(merchant_id, internal, before, after, limit + 1)
    page, has_more = pages.trim(rows, limit, after is not None)
    return EventList("list", [_view(r) for r in page], has_more)


async def redeliver(engine: Engine, merchant_id: str, event_id: str) -> Redelivery:
    """Deliver the event again, now, to every enabled endpoint subscribed to it."""
    row = await engine.db.feed.get(event_id, merchant_id, INTERNAL_TYPES) if plausible(event_id) else None
    if row is None:
        raise NotFound(f"No such event: {event_id[:64]!r}.")
    count = await engine.db.deliveries.redeliver(event_id, merchant_id, PUBLIC_TYPES[row["type"]])
    return Redelivery(event_id, "event", count)
