"""Background upkeep run by every server process (cheap and safe to run concurrently)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.housekeeping")
PURGE_EVERY_S = 3600.0


async def purge_expired_keys(engine: Engine) -> int:
    """Delete idempotency keys past their expiry (plus an hour of grace); returns how many."""
    return await engine.db.idempotency.purge_expired()


async def run_forever(engine: Engine, every_s: float = PURGE_EVERY_S) -> None:
    """Purge expired keys now and then every ``every_s`` seconds, until cancelled."""
    while True:
        try:
            purged = await purge_expired_keys(engine)
            if purged:
                log.info("purged expired idempotency keys", extra={"count": purged})
        except Exception:
            log.exception("idempotency key purge failed; retrying later")
        await asyncio.sleep(every_s)
