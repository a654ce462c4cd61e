"""Merchant webhook endpoints: create, read, update, delete, rotate the signing secret, and
list delivery attempts. Secrets are sealed at rest and shown only by create and rotate."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag

from engine.errors import NotFound, ValidationError
from engine.ids import new_id, plausible
from engine.merchant_webhooks.addresses import AddressRefused, check_url
from engine.merchant_webhooks.events import PUBLIC_NAMES
from engine.merchant_webhooks.objects import (
    CreateEndpoint,
    DeliveryAttemptList,
    DeliveryAttemptObject,
    UpdateEndpoint,
    WebhookEndpointList,
    WebhookEndpointObject,
)
from engine.merchant_webhooks.signing import new_secret
from engine.services import pages
from engine.store.webhooks import Endpoint

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.crypto import Sealer
    from engine.store.uow import Database

ROTATION_OVERLAP_S = 24 * 3600.0
MAX_ENDPOINTS = 100


def _ts(value: object) -> str:
    return value.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]


def endpoint_view(endpoint: Endpoint, secret: str | None = None) -> WebhookEndpointObject:
    """The public endpoint object (``secret`` only right after creation or rotation)."""
    return WebhookEndpointObject(
        endpoint.id,
        "webhook_endpoint",
        endpoint.url,
        endpoint.description,
        list(endpoint.enabled_events),
        endpoint.status,
        _ts(endpoint.created_at),
        secret,
    )


def _context(endpoint_id: str) -> bytes:
    # The endpoint id is the AEAD context: a sealed secret copied onto another row does not open.
    return b"webhook_endpoint:" + endpoint_id.encode()


def open_secret(engine: Engine, endpoint_id: str, sealed: bytes, key_id: str) -> str:
    """The endpoint's signing secret in clear (for signing only)."""
    return str(engine.sealer.open(sealed, key_id, _context(endpoint_id)))


def _check_events(events: list[str]) -> list[str]:
    unique = list(dict.fromkeys(events))
    if "*" in unique and len(unique) > 1:
        raise ValidationError("'*' subscribes to every event and cannot be combined.", param="enabled_events")
    for name in unique:
        if name != "*" and name not in PUBLIC_NAMES:
            raise ValidationError(
                f"Unknown event type {name[:64]!r}.", param="enabled_events", code="event_type_unknown"
            )
    return unique


async def _check_url(engine: Engine, url: str) -> None:
    try:
        await check_url(url, engine.settings.sandbox or engine.settings.webhook_allow_private)
    except AddressRefused as exc:
        raise ValidationError(str(exc), param="url", code="url_invalid") from None


async def create_endpoint(engine: Engine, merchant_id: str, data: CreateEndpoint) -> WebhookEndpointObject:
    """Register an endpoint; the answer carries its secret (the only time besides rotation)."""
    events = _check_events(data.enabled_events)
    await _check_url(engine, data.url)
    if len(await engine.db.endpoints.list(merchant_id, MAX_ENDPOINTS)) >= MAX_ENDPOINTS:
        raise ValidationError(f"A merchant may have at most {MAX_ENDPOINTS} endpoints.", code="too_many_endpoints")
    endpoint_id, secret = new_id("we"), new_secret()
    sealed = engine.sealer.seal(secret, _context(endpoint_id))
    endpoint = await engine.db.endpoints.insert(
        endpoint_id, merchant_id, data.url, data.description, events, sealed, engine.sealer.key_id
    )
    return endpoint_view(endpoint, secret)


async def _get(engine: Engine, merchant_id: str, endpoint_id: str) -> Endpoint:
    endpoint = await engine.db.endpoints.get(endpoint_id, merchant_id) if plausible(endpoint_id) else None
    if endpoint is None:
        raise NotFound(f"No such webhook endpoint: {endpoint_id[:64]!r}.")
    return endpoint


async def get_endpoint(engine: Engine, merchant_id: str, endpoint_id: str) -> WebhookEndpointObject:
    """The endpoint, or 404 (also another merchant's)."""
    return endpoint_view(await _get(engine, merchant_id, endpoint_id))


async def list_endpoints(engine: Engine, merchant_id: str) -> WebhookEndpointList:
    """Every live endpoint of the merchant (at most ``MAX_ENDPOINTS``), newest first."""
    rows = await engine.db.endpoints.list(merchant_id, MAX_ENDPOINTS)
    return WebhookEndpointList("list", [endpoint_view(e) for e in rows], False)


async def update_endpoint(
    engine: Engine, merchant_id: str, endpoint_id: str, data: UpdateEndpoint
) -> WebhookEndpointObject:
    """Change the URL, events, status or description."""
    await _get(engine, merchant_id, endpoint_id)
    events = _check_events(data.enabled_events) if data.enabled_events is not None else None
    if data.url is not None:
        await _check_url(engine, data.url)
    endpoint = await engine.db.endpoints.update(
        endpoint_id, merchant_id, url=data.url, events=events, status=data.status, description=data.description
    )
    if endpoint is None:
        raise NotFound(f"No such webhook endpoint: {endpoint_id[:64]!r}.")
    return endpoint_view(endpoint)


async def delete_endpoint(engine: Engine, merchant_id: str, endpoint_id: str) -> None:
    """Delete the endpoint; its pending deliveries stop."""
    if not plausible(endpoint_id) or not await engine.db.endpoints.delete(endpoint_id, merchant_id):
        raise NotFound(f"No such webhook endpoint: {endpoint_id[:64]!r}.")


async def rotate_secret(engine: Engine, merchant_id: str, endpoint_id: str) -> WebhookEndpointObject:
    """A new secret; the current one keeps signing (a second signature) for 24 hours."""
    current = await _get(engine, merchant_id, endpoint_id)
    context = _context(endpoint_id)
    previous = engine.sealer.reseal(current.secret_sealed, current.secret_key_id, context)
    secret = new_secret()
    endpoint = await engine.db.endpoints.rotate(
        endpoint_id,
        merchant_id,
        engine.sealer.seal(secret, context),
        engine.sealer.key_id,
        previous,
        ROTATION_OVERLAP_S,
    )
    if endpoint is None:
        raise NotFound(f"No such webhook endpoint: {endpoint_id[:64]!r}.")
    return endpoint_view(endpoint, secret)


async def list_attempts(
    engine: Engine,
    merchant_id: str,
    endpoint_id: str,
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None = None,
) -> DeliveryAttemptList:
    """The endpoint's delivery attempts, newest first; ``starting_after`` (older) or
    ``ending_before`` (newer) an attempt id (``wha_<n>``: its position, so no lookup)."""
    w = await pages.window(limit, starting_after, ending_before, _attempt_position, "delivery attempt")
    await _get(engine, merchant_id, endpoint_id)
    rows = await engine.db.endpoints.attempts(endpoint_id, merchant_id, w.older_than, w.newer_than, w.size)
    page, has_more = pages.trim(rows, limit, w.newer_than is not None)
    data = [
        DeliveryAttemptObject(
            f"wha_{r['id']}",
            "webhook_delivery_attempt",
            r["event_id"],
            _ts(r["attempted_at"]),
            r["answered"],
            r["duration_ms"],
            r["error"],
            r["response_body"],
        )
        for r in page
    ]
    return DeliveryAttemptList("list", data, has_more)


async def _attempt_position(attempt_id: str) -> int | None:
    """An attempt id's sort key, read off the id itself (``wha_<n>``): no lookup."""
    digits = attempt_id.removeprefix("wha_")
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None


async def reseal_secrets(db: Database, sealer: Sealer, batch_size: int) -> tuple[int, Counter[str]]:
    """Key rotation: re-seal every endpoint secret not sealed with ``sealer.key_id``; returns
    (endpoints re-sealed, unreadable rows by key id)."""
    resealed, unreadable, after = 0, Counter[str](), ""
    while True:
        batch = await db.endpoints.to_reseal(sealer.key_id, after, batch_size)
        for row in batch:
            context = _context(row["id"])
            try:
                sealed = sealer.reseal(row["secret_sealed"], row["secret_key_id"], context)
                previous = row["previous_sealed"]
                if previous is not None:
                    previous = sealer.reseal(previous, row["previous_key_id"], context)
            except (KeyError, InvalidTag):
                unreadable[row["secret_key_id"]] += 1
                continue
            resealed += await db.endpoints.reseal(row, sealed, previous, sealer.key_id)
        if len(batch) < batch_size:
            return resealed, unreadable
        after = batch[-1]["id"]
