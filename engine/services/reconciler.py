"""The background worker: follow-up work rows (captures, voids, customer registrations), then attempts and refunds whose
outcome is still open, asked about on a backoff.

Every server process runs one; they never settle the same attempt at the same time because
claiming is ``FOR UPDATE SKIP LOCKED`` plus a lease (``next_sync_at`` pushed forward), and
settling is idempotent anyway. An attempt the gateway never resolves stays ``unknown`` (or
pending) with ``next_sync_at`` NULL once the schedule is exhausted: unresolved, never failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from engine.model import Attempt, Refund
from engine.services.cancels import run_void
from engine.services.captures import run_capture
from engine.services.charging import auto_capture, call_connector, ref_of, settle
from engine.services.customers import run_registration
from engine.services.failure_log import report_failure
from engine.services.housekeeping import pause
from engine.services.refunds import REFUND_UNKNOWN, ask_about, settle_refund

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.store.work import WorkItem

log = logging.getLogger("engine.reconciler")
T = TypeVar("T")
# Seconds until the next check after the n-th one (Kill Bill's janitor uses a similar ladder).
BACKOFF_S: tuple[float, ...] = (10, 30, 120, 600, 3600, 6 * 3600, 86400, 86400, 86400)
BATCH = 20


async def reconcile_once(
    engine: Engine, limit: int = BATCH, backoff_s: tuple[float, ...] = BACKOFF_S, stop: asyncio.Event | None = None
) -> int:
    """Claim the due attempts one by one, sync and settle each; returns how many were checked."""

    async def one(attempt: Attempt) -> None:
        try:
            await _reconcile(engine, attempt)
        except Exception as exc:
            report_failure(log, "reconciling attempt %s failed; it stays due", exc, attempt.id)

    return await each_due(lambda: engine.db.attempts.claim_due(1, list(backoff_s)), one, limit, stop)


async def each_due(
    claim: Callable[[], Awaitable[list[T]]],
    run: Callable[[T], Awaitable[None]],
    limit: int,
    stop: asyncio.Event | None = None,
) -> int:
    """Claim one due item (``claim`` leases at most one), run it, and again, up to ``limit``;
    returns how many ran.

    One claim per item, not one per batch, so that a stop (``stop`` set: a graceful shutdown)
    lands between two items: the item in hand finishes (each is bounded by the gateway
    timeouts), and the rest of the backlog was never claimed -- no lease or backoff step was
    spent on it -- so the next start (or another process) takes it at once. A claim is one
    short ``SKIP LOCKED`` statement, next to the gateway call each item makes. (A claim pushes
    the item's next check forward, so with a real backoff ladder no item comes back in one pass;
    ``limit`` bounds a pass whatever the ladder.)
    """
    done = 0
    while done < limit and not (stop is not None and stop.is_set()):
        claimed = await claim()
        if not claimed:
            break
        await run(claimed[0])
        done += 1
    return done


async def _reconcile(engine: Engine, attempt: Attempt) -> None:
    payment = await engine.db.payments.get(attempt.payment_id, attempt.merchant_id)
    assert payment is not None
    account = await engine.gateways.account(attempt.merchant_id, attempt.gateway_account_id, attempt.gateway)
    result = await call_connector(engine.gateways.connector(account).sync, ref_of(attempt, payment.currency))
    await auto_capture(engine, await settle(engine, attempt.merchant_id, attempt.id, result))


async def run_work_once(engine: Engine, limit: int = BATCH, stop: asyncio.Event | None = None) -> int:
    """Lease the due work rows (``SKIP LOCKED``) one by one and run each; returns how many ran."""

    async def one(item: WorkItem) -> None:
        try:
            if item.kind == "register_customer":
                await run_registration(engine, item)
            elif item.kind == "void":
                await run_void(engine, item)
            else:
                await run_capture(engine, item)
        except Exception as exc:
            report_failure(log, "work item %s failed; it stays due", exc, item.id)

    return await each_due(
        lambda: engine.db.work.claim_due(1, engine.settings.idempotency_lock_timeout), one, limit, stop
    )


async def run_forever(engine: Engine, interval_s: float, stop: asyncio.Event | None = None) -> None:
    """Work and reconcile every ``interval_s`` seconds (sooner while there is a backlog), until cancelled
    or ``stop`` is set (checked between two items, never in the middle of one)."""
    while stop is None or not stop.is_set():
        try:
            checked = (
                await run_work_once(engine, stop=stop)
                + await reconcile_once(engine, stop=stop)
                + await reconcile_refunds_once(engine, stop=stop)
            )
        except Exception as exc:
            report_failure(log, "reconciler pass failed; retrying later", exc)
            checked = 0
        await pause(stop, 0.05 if checked >= BATCH else interval_s)


async def reconcile_refunds_once(
    engine: Engine, limit: int = BATCH, backoff_s: tuple[float, ...] = BACKOFF_S, stop: asyncio.Event | None = None
) -> int:
    """Ask gateways about pending refunds that are due, one by one; returns how many were checked."""

    async def one(refund: Refund) -> None:
        try:
            await _reconcile_refund(engine, refund)
        except Exception as exc:
            report_failure(log, "reconciling refund %s failed; it stays due", exc, refund.id)

    return await each_due(lambda: engine.db.refunds.claim_due(1, list(backoff_s)), one, limit, stop)


async def _reconcile_refund(engine: Engine, refund: Refund) -> None:
    attempt = await engine.db.attempts.get(refund.attempt_id, refund.merchant_id)
    assert attempt is not None
    result = await ask_about(engine, refund, attempt)
    if result is not REFUND_UNKNOWN:  # a connector that raised tells nothing: it stays due
        await settle_refund(engine, refund.merchant_id, refund.id, result)
