"""The public event types and the event object merchants receive (webhooks and the events API).

The outbox stores internal type names (some are Stripe's, some internal detail such as
``attempt.*``); only those listed here are public, under the name given.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

# internal outbox type -> public type
PUBLIC_TYPES: dict[str, str] = {
    "payment.created": "payment.created",
    "payment.processing": "payment.processing",
    "payment.requires_action": "payment.requires_action",
    "payment.amount_capturable_updated": "payment.requires_capture",
    "payment.succeeded": "payment.succeeded",
    "payment.payment_failed": "payment.failed",
    "payment.canceled": "payment.canceled",
    "refund.created": "refund.created",
    "refund.succeeded": "refund.succeeded",
    "refund.failed": "refund.failed",
    "webhook_endpoint.disabled": "webhook_endpoint.disabled",
}
INTERNAL_TYPES: list[str] = list(PUBLIC_TYPES)
PUBLIC_NAMES: list[str] = list(PUBLIC_TYPES.values())
# Never sent in an event, whatever the object view grows (the create response's client_secret).
_PRIVATE_FIELDS = ("client_secret",)


class EventData(msgspec.Struct, forbid_unknown_fields=True):
    """The object the event is about, as it was when the event happened."""

    object: dict[str, Any]


class EventObject(msgspec.Struct, forbid_unknown_fields=True):
    """An event: what webhooks carry and the events API lists."""

    id: str
    object: Literal["event"]
    type: str
    created: int
    data: EventData


class EventList(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor page of events, newest first."""

    object: Literal["list"]
    data: list[EventObject]
    has_more: bool


def internal_types_of(public: str) -> list[str]:
    """The outbox types published under ``public``."""
    return [internal for internal, name in PUBLIC_TYPES.items() if name == public]


def event_object(event_id: str, internal_type: str, data: Any, created: datetime) -> EventObject:
    """The public event of an outbox row."""
    obj = dict(data) if isinstance(data, dict) else {"value": data}
    for name in _PRIVATE_FIELDS:
        obj.pop(name, None)
    return EventObject(event_id, "event", PUBLIC_TYPES[internal_type], int(created.timestamp()), EventData(obj))
