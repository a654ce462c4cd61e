"""Webhook delivery shared by all simulated gateways.

A gateway builds fully signed :class:`Delivery` objects (its own body format and signature) and
hands the events produced by one action (e.g. ``payment.authorized`` + ``payment.captured`` +
``order.paid``) to :meth:`WebhookDispatcher.emit` as one batch. Delivery runs in background tasks,
never inside request handling: the events of a batch are POSTed in order, each retried with the
configured backoff on a non-2xx answer, a timeout or a connection error.

Delivery modes (set through ``POST /_sandbox/webhooks``):

* ``normal``: as described above.
* ``duplicate``: every delivery is sent twice (same body, same event id), as at-least-once delivery does.
* ``reverse``: the events of a batch are delivered last-first (e.g. ``order.paid`` before
  ``payment.authorized``; ``refund.processed`` before ``refund.created``).
* ``tamper``: the gateway's tamper function alters each delivery's signature.
* ``hold``: batches are kept until ``POST /_sandbox/webhooks/flush`` (the mode applies at emit time).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from sandbox.context import BackgroundTasks


class WebhookMode(enum.StrEnum):
    """How emitted webhooks are delivered."""

    NORMAL = "normal"
    DUPLICATE = "duplicate"
    REVERSE = "reverse"
    TAMPER = "tamper"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signed webhook, ready to POST."""

    gateway: str
    event: str
    event_id: str
    url: str
    body: bytes
    headers: dict[str, str]
    tamper: Callable[[Delivery], Delivery] | None = None
    tampered: bool = False

    def tampered_copy(self) -> Delivery:
        """This delivery with its signature altered by the gateway's tamper function."""
        if self.tamper is None:
            return self
        return replace(self.tamper(self), tampered=True)


class WebhookDispatcher:
    """Sends webhooks in the background with retries, delivery modes and a log."""

    def __init__(self, tasks: BackgroundTasks, retry_delays_s: tuple[float, ...], timeout_s: float) -> None:
        self.tasks = tasks
        self.retry_delays_s = retry_delays_s
        self.timeout_s = timeout_s
        self.mode = WebhookMode.NORMAL
        self.held: list[list[Delivery]] = []
        self.log: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        """Open the HTTP client (called on application startup)."""
        self._client = httpx.AsyncClient(timeout=self.timeout_s)

    async def close(self) -> None:
        """Close the HTTP client (application shutdown, after the background tasks were cancelled)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def emit(self, batch: list[Delivery]) -> None:
        """Queue the deliveries produced by one action, applying the current mode."""
        if not batch:
            return
        if self.mode is WebhookMode.TAMPER:
            batch = [delivery.tampered_copy() for delivery in batch]
        elif self.mode is WebhookMode.REVERSE:
            batch = list(reversed(batch))
        elif self.mode is WebhookMode.DUPLICATE:
            batch = [delivery for delivery in batch for _ in range(2)]
        if self.mode is WebhookMode.HOLD:
            self.held.append(batch)
            return
        self.tasks.spawn(self._deliver_batch(batch))

    def flush(self) -> int:
        """Send every held batch now; returns how many deliveries were released."""
        batches, self.held = self.held, []
        for batch in batches:
            self.tasks.spawn(self._deliver_batch(batch))
        return sum(len(batch) for batch in batches)

    async def _deliver_batch(self, batch: list[Delivery]) -> None:
        for delivery in batch:
            await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        client = self._client
        attempts = 1 + len(self.retry_delays_s)
        for attempt in range(1, attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                response = await client.post(delivery.url, content=delivery.body, headers=delivery.headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            self._record(delivery, attempt, status, error)
            if status is not None and 200 <= status < 300:
                return
            if attempt < attempts:
                await asyncio.sleep(self.retry_delays_s[attempt - 1])

    def _record(self, delivery: Delivery, attempt: int, status: int | None, error: str | None) -> None:
        self.log.append(
            {
                "seq": next(self._seq),
                "gateway": delivery.gateway,
                "event": delivery.event,
                "event_id": delivery.event_id,
                "url": delivery.url,
                "attempt": attempt,
                "status": status,
                "error": error,
                "tampered": delivery.tampered,
                "sent_at": time.time(),
                "body": delivery.body.decode("utf-8", "replace"),
            }
        )
