"""``/v1/webhook_endpoints`` and ``/v1/events``: outgoing merchant webhooks and the events API.

The POSTs here do not go through the idempotency record: creating and rotating answer with a
signing secret, which must never be stored in one; updating, deleting and redelivering are
idempotent by nature (the same request twice leaves the same state).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import QueryParameter

from api.answers import JSON
from api.deps import engine_of, merchant_id
from api.docs import CURSOR, PAGE_LIMIT, READ_ERRORS, responses
from engine.merchant_webhooks.events import PUBLIC_NAMES, EventList, EventObject
from engine.merchant_webhooks.objects import (
    CreateEndpoint,
    DeletedEndpoint,
    DeliveryAttemptList,
    Redelivery,
    UpdateEndpoint,
    WebhookEndpointList,
    WebhookEndpointObject,
)
from engine.services import event_feed
from engine.services import webhook_endpoints as endpoints
from engine.views import encode

_WRITE = (400, 401, 404, 413)


class WebhookEndpointController(Controller):
    """The authenticated merchant's webhook endpoints."""

    path = "/v1/webhook_endpoints"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["webhooks"]

    @post(
        "/",
        status_code=201,
        summary="Register a webhook endpoint",
        responses=responses(201, WebhookEndpointObject, "The endpoint, with its signing secret.", *_WRITE),
    )
    async def create(self, state: State, merchant_id: str, data: CreateEndpoint) -> Response[bytes]:
        """Register ``url`` for ``enabled_events``; the answer shows the ``whsec_`` secret once."""
        endpoint = await endpoints.create_endpoint(engine_of(state), merchant_id, data)
        return Response(encode(endpoint), status_code=201, media_type=JSON)

    @get(
        "/",
        summary="List webhook endpoints",
        responses=responses(200, WebhookEndpointList, "The endpoints, newest first.", *READ_ERRORS),
    )
    async def list_(self, state: State, merchant_id: str) -> Response[bytes]:
        """Every endpoint of the merchant."""
        return Response(encode(await endpoints.list_endpoints(engine_of(state), merchant_id)), media_type=JSON)

    @get(
        "/{endpoint_id:str}",
        summary="Retrieve a webhook endpoint",
        responses=responses(200, WebhookEndpointObject, "The endpoint (no secret).", *READ_ERRORS),
    )
    async def retrieve(self, state: State, merchant_id: str, endpoint_id: str) -> Response[bytes]:
        """The endpoint, or 404 (also another merchant's)."""
        endpoint = await endpoints.get_endpoint(engine_of(state), merchant_id, endpoint_id)
        return Response(encode(endpoint), media_type=JSON)

    @post(
        "/{endpoint_id:str}",
        status_code=200,
        summary="Update a webhook endpoint",
        responses=responses(200, WebhookEndpointObject, "The endpoint.", *_WRITE),
    )
    async def update(self, state: State, merchant_id: str, endpoint_id: str, data: UpdateEndpoint) -> Response[bytes]:
        """Change the URL, the events, the status (``enabled`` / ``disabled``) or the description."""
        endpoint = await endpoints.update_endpoint(engine_of(state), merchant_id, endpoint_id, data)
        return Response(encode(endpoint), media_type=JSON)

    @delete(
        "/{endpoint_id:str}",
        status_code=200,
        summary="Delete a webhook endpoint",
        responses=responses(200, DeletedEndpoint, "Deleted.", *READ_ERRORS),
    )
    async def remove(self, state: State, merchant_id: str, endpoint_id: str) -> Response[bytes]:
        """Delete the endpoint; its pending deliveries stop."""
        await endpoints.delete_endpoint(engine_of(state), merchant_id, endpoint_id)
        return Response(encode(DeletedEndpoint(endpoint_id, "webhook_endpoint", True)), media_type=JSON)

    @post(
        "/{endpoint_id:str}/rotate_secret",
        status_code=200,
        summary="Rotate the signing secret",
        responses=responses(200, WebhookEndpointObject, "The endpoint, with its new secret.", *_WRITE),
    )
    async def rotate(self, state: State, merchant_id: str, endpoint_id: str) -> Response[bytes]:
        """A new secret; for 24 h deliveries carry a signature under the old one as well."""
        endpoint = await endpoints.rotate_secret(engine_of(state), merchant_id, endpoint_id)
        return Response(encode(endpoint), media_type=JSON)

    @get(
        "/{endpoint_id:str}/deliveries",
        summary="List delivery attempts",
        responses=responses(200, DeliveryAttemptList, "Attempts, newest first.", *READ_ERRORS),
    )
    async def deliveries(
        self,
        state: State,
        merchant_id: str,
        endpoint_id: str,
        limit: int = PAGE_LIMIT,
        starting_after: str | None = CURSOR,
        ending_before: str | None = CURSOR,
    ) -> Response[bytes]:
        """Each attempt: time, status code, duration, error, the first 1 KB of the answer."""
        page = await endpoints.list_attempts(
            engine_of(state),
            merchant_id,
            endpoint_id,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )
        return Response(encode(page), media_type=JSON)


class EventController(Controller):
    """The authenticated merchant's events (what webhooks carry)."""

    path = "/v1/events"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["webhooks"]

    @get(
        "/",
        summary="List events (newest first, cursor pagination)",
        responses=responses(200, EventList, "A page of events.", *READ_ERRORS),
    )
    async def list_(
        self,
        state: State,
        merchant_id: str,
        type_: Annotated[
            str | None, QueryParameter(name="type", max_length=64, schema_extra={"enum": PUBLIC_NAMES})
        ] = None,
        limit: int = PAGE_LIMIT,
        starting_after: str | None = CURSOR,
        ending_before: str | None = CURSOR,
    ) -> Response[bytes]:
        """A page of events; ``starting_after`` (older) or ``ending_before`` (newer) an event id."""
        page = await event_feed.list_events(
            engine_of(state),
            merchant_id,
            type_=type_,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )
        return Response(encode(page), media_type=JSON)

    @get(
        "/{event_id:str}",
        summary="Retrieve an event",
        responses=responses(200, EventObject, "The event.", *READ_ERRORS),
    )
    async def retrieve(self, state: State, merchant_id: str, event_id: str) -> Response[bytes]:
        """The event, or 404."""
        return Response(encode(await event_feed.get_event(engine_of(state), merchant_id, event_id)), media_type=JSON)

    @post(
        "/{event_id:str}/redeliver",
        status_code=200,
        summary="Deliver an event again",
        responses=responses(200, Redelivery, "How many endpoints it is now due for.", *READ_ERRORS),
    )
    async def redeliver(self, state: State, merchant_id: str, event_id: str) -> Response[bytes]:
        """Send the event again, now, to every enabled endpoint subscribed to it (same ``webhook-id``)."""
        result = await event_feed.redeliver(engine_of(state), merchant_id, event_id)
        return Response(encode(result), media_type=JSON)
