"""Wire types of the webhook endpoints API: request bodies and response objects."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from engine.commands import Strict, Url

EventName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
EnabledEvents = Annotated[list[EventName], msgspec.Meta(min_length=1, max_length=50)]
Description = Annotated[str, msgspec.Meta(max_length=500)]


class CreateEndpoint(Strict):
    """``POST /v1/webhook_endpoints``."""

    url: Url
    enabled_events: EnabledEvents
    description: Description | None = None


class UpdateEndpoint(Strict):
    """``POST /v1/webhook_endpoints/{id}``: only the fields given change."""

    url: Url | None = None
    enabled_events: EnabledEvents | None = None
    status: Literal["enabled", "disabled"] | None = None
    description: Description | None = None


class WebhookEndpointObject(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A webhook endpoint; ``secret`` appears only in the answers to creation and rotation."""

    id: str
    object: Literal["webhook_endpoint"]
    url: str
    description: str | None
    enabled_events: list[str]
    status: str
    created_at: str
    secret: str | None = None


class WebhookEndpointList(msgspec.Struct, forbid_unknown_fields=True):
    """The merchant's endpoints, newest first."""

    object: Literal["list"]
    data: list[WebhookEndpointObject]
    has_more: bool


class DeletedEndpoint(msgspec.Struct, forbid_unknown_fields=True):
    """The answer to a deletion."""

    id: str
    object: Literal["webhook_endpoint"]
    deleted: bool


class DeliveryAttemptObject(msgspec.Struct, forbid_unknown_fields=True):
    """One delivery attempt: when, what came back (status, first 1 KB of the body), how long."""

    id: str
    object: Literal["webhook_delivery_attempt"]
    event_id: str
    attempted_at: str
    status_code: int | None
    duration_ms: int
    error: str | None
    response_body: str | None


class DeliveryAttemptList(msgspec.Struct, forbid_unknown_fields=True):
    """An endpoint's delivery attempts, newest first."""

    object: Literal["list"]
    data: list[DeliveryAttemptObject]
    has_more: bool


class Redelivery(msgspec.Struct, forbid_unknown_fields=True):
    """The answer to a redeliver: how many endpoints the event is now due for."""

    id: str
    object: Literal["event"]
    deliveries_scheduled: int
