"""Background upkeep run by every server process (cheap and safe to run concurrently)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from engine.services.failure_log import report_failure

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.housekeeping")
PURGE_EVERY_S = 3600.0


async def purge_expired_keys(engine: Engine) -> int:
    """Delete idempotency keys past their expiry (plus an hour of grace); returns how many."""
    return await engine.db.idempotency.purge_expired()


async def pause(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleep ``seconds``, waking early when ``stop`` is set (a graceful shutdown)."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_forever(engine: Engine, every_s: float = PURGE_EVERY_S, stop: asyncio.Event | None = None) -> None:
    """Purge expired keys now and then every ``every_s`` seconds, until cancelled or ``stop`` is set
    (checked between passes: a purge is never cut in the middle)."""
    while stop is None or not stop.is_set():
        try:
            purged = await purge_expired_keys(engine)
            if purged:
                log.info("purged expired idempotency keys", extra={"count": purged})
        except Exception as exc:
            report_failure(log, "idempotency key purge failed; retrying later", exc)
        await pause(stop, every_s)
