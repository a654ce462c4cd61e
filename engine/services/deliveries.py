"""Webhook deliveries, at least once, from the outbox.

Every server process runs ``run_forever``: each pass relays new outbox events into delivery
work rows (one per subscribed endpoint, one statement, ``SKIP LOCKED``), then leases the due
deliveries (``SKIP LOCKED`` plus a lease, so a process that dies mid-send leaves a row that
becomes due again) and sends them. A 2xx closes the row; anything else schedules the next try
on ``WEBHOOK_RETRY_SCHEDULE``; the row keeps its event id, which is the ``webhook-id`` of every
try. An endpoint that has failed every delivery for ``WEBHOOK_DISABLE_AFTER_S`` is disabled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

import aiohttp
import msgspec
from cryptography.exceptions import InvalidTag

from engine.ids import new_id
from engine.merchant_webhooks.addresses import AddressRefused, check_url, resolver_for
from engine.merchant_webhooks.events import INTERNAL_TYPES, PUBLIC_NAMES, event_object
from engine.merchant_webhooks.signing import headers
from engine.services.failure_log import report_failure
from engine.services.housekeeping import pause
from engine.services.webhook_endpoints import endpoint_view, open_secret
from engine.store.webhooks import Delivery, Outcome

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.deliveries")
RELAY_BATCH = 500
SEND_BATCH = 50
BODY_CAP = 1024
_encoder = msgspec.json.Encoder()


def new_session(engine: Engine) -> aiohttp.ClientSession:
    """The deliveries' own HTTP session: short timeout, checked resolver, no cookies."""
    allow_private = engine.settings.sandbox or engine.settings.webhook_allow_private
    # No keep-alive: each delivery connects afresh, to addresses the resolver has vetted (its DNS
    # cache only ever holds vetted answers), and a receiver cannot hold pooled sockets open.
    connector = aiohttp.TCPConnector(resolver=resolver_for(allow_private), limit=100, force_close=True)
    timeout = aiohttp.ClientTimeout(total=engine.settings.webhook_timeout)
    return aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar())


async def relay_once(engine: Engine, limit: int = RELAY_BATCH) -> int:
    """Turn new outbox events into delivery rows; returns how many events were relayed."""
    first_s = engine.settings.webhook_retry_schedule[0]
    relayed, _ = await engine.db.deliveries.fan_out(limit, INTERNAL_TYPES, PUBLIC_NAMES, first_s)
    return relayed


def next_delay(engine: Engine, tries: int) -> float | None:
    """Seconds until the try after the ``tries``-th, or ``None`` when the schedule is exhausted."""
    schedule = engine.settings.webhook_retry_schedule
    return schedule[tries] if tries < len(schedule) else None


async def send(engine: Engine, session: aiohttp.ClientSession, d: Delivery) -> Outcome:
    """Sign and POST one delivery; never raises for what the receiver or network did."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        # Checked again here (DNS may have changed since the endpoint was saved); the session's
        # resolver checks the very addresses it connects to.
        await check_url(d.url, engine.settings.sandbox or engine.settings.webhook_allow_private)
        secrets = _secrets(engine, d)
        body = _encoder.encode(event_object(d.event_id, d.event_type, d.event_data, d.event_created))
        signed = headers(secrets, d.event_id, int(time.time()), body)
        async with session.post(d.url, data=body, headers=signed, allow_redirects=False) as response:
            raw = await response.content.read(BODY_CAP)
            # Text PostgreSQL can store (no NUL) and at most 1 KB of it, whatever the receiver sent.
            text = raw.decode("utf-8", "replace").replace("\x00", "")
            text = text.encode("utf-8")[:BODY_CAP].decode("utf-8", "ignore")
            return Outcome(
                answered=response.status,
                duration_ms=took(),
                body=text or None,
                error=None if 200 <= response.status < 300 else f"HTTP {response.status}",
            )
    except (KeyError, InvalidTag):
        # Sealed with a master key no longer configured: recorded as a failed attempt (never a
        # crash loop), and retried on the schedule in case the key comes back.
        return Outcome(
            answered=None, duration_ms=took(), error="signing secret unavailable: its encryption key is not configured"
        )
    except AddressRefused as exc:
        return Outcome(answered=None, duration_ms=took(), error=f"refused: {exc}"[:500])
    except TimeoutError:
        return Outcome(answered=None, duration_ms=took(), error="timeout")
    except aiohttp.ClientError as exc:
        return Outcome(
            answered=None, duration_ms=took(), error=f"{type(exc).__name__}: {exc}".replace("\x00", "")[:500]
        )


def _secrets(engine: Engine, d: Delivery) -> list[str]:
    """The current secret, and the previous one while the rotation overlap lasts."""
    secrets = [open_secret(engine, d.endpoint_id, d.secret_sealed, d.secret_key_id)]
    if d.previous_sealed is not None and d.previous_key_id is not None:
        secrets.append(open_secret(engine, d.endpoint_id, d.previous_sealed, d.previous_key_id))
    return secrets


async def deliver(engine: Engine, session: aiohttp.ClientSession, d: Delivery) -> bool:
    """Send one leased delivery and record the attempt; returns whether it was delivered."""
    if d.deleted or d.status != "enabled":
        await engine.db.deliveries.close(d, "endpoint deleted" if d.deleted else "endpoint disabled")
        return False
    outcome = await send(engine, session, d)
    if outcome.answered is not None and 200 <= outcome.answered < 300:
        await engine.db.deliveries.succeeded(d, outcome)
        return True
    after_s = engine.settings.webhook_disable_after
    if await engine.db.deliveries.failed(d, outcome, next_delay(engine, d.tries), after_s):
        await _disable(engine, d, after_s)
    return False


async def _disable(engine: Engine, d: Delivery, after_s: float) -> None:
    endpoint = await engine.db.endpoints.get(d.endpoint_id, d.merchant_id)
    if endpoint is None:
        return
    data = msgspec.to_builtins(endpoint_view(endpoint))
    data["status"] = "disabled"
    if await engine.db.deliveries.disable_endpoint(d.endpoint_id, d.merchant_id, after_s, new_id("evt"), data):
        log.warning("webhook endpoint disabled after failing every delivery", extra={"endpoint_id": d.endpoint_id})


async def deliver_once(engine: Engine, session: aiohttp.ClientSession, limit: int = SEND_BATCH) -> int:
    """Lease the due deliveries and send them concurrently; returns how many were tried."""
    # Longer than one send can take (the session's total timeout): a live sender is never overtaken.
    lease_s = 2 * engine.settings.webhook_timeout + 5
    batch = await engine.db.deliveries.claim(limit, lease_s)
    results = await asyncio.gather(*(deliver(engine, session, d) for d in batch), return_exceptions=True)
    for d, result in zip(batch, results, strict=True):
        if isinstance(result, BaseException):
            report_failure(log, "delivery %s failed to run; it becomes due when its lease ends", result, d.id)
    return len(batch)


async def run_forever(engine: Engine, stop: asyncio.Event | None = None) -> None:
    """Relay and deliver every ``WEBHOOK_POLL_S`` (at once again while there is a backlog), until
    cancelled or ``stop`` is set (checked before relaying and before sending: a batch is sent
    concurrently, so a pass in hand lasts at most about one ``WEBHOOK_TIMEOUT_S``)."""
    async with new_session(engine) as session:
        while stop is None or not stop.is_set():
            busy = False
            try:
                relayed = await relay_once(engine)
                if stop is not None and stop.is_set():
                    break  # the rows just relayed are due, unleased: the next start sends them
                sent = await deliver_once(engine, session)
                busy = relayed >= RELAY_BATCH or sent >= SEND_BATCH
            except Exception as exc:
                report_failure(log, "webhook delivery pass failed; retrying later", exc)
            await pause(stop, 0 if busy else engine.settings.webhook_poll)
