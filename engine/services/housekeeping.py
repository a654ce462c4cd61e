"""Background upkeep run by every server process (cheap and safe to run concurrently)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from engine.store.sqlfile import load_queries

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.housekeeping")
Q = load_queries("idempotency")
PURGE_EVERY_S = 3600.0


async def purge_expired_keys(engine: Engine) -> int:
    """Delete idempotency keys past their expiry (plus an hour of grace); returns how many."""
    status = await engine.pool.execute(Q.purge_expired)
    return int(status.split()[-1])


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
