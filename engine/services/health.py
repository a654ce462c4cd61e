"""Readiness: which dependency answers, each probed concurrently and within a short bound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from engine.metrics import DEPENDENCY_ERRORS, WORK_PENDING

if TYPE_CHECKING:
    from engine.bootstrap import Engine

# A probe must answer well within an orchestrator's probe timeout (typically 1-5 s), even when a
# dependency blackholes packets instead of refusing them.
CHECK_TIMEOUT_S = 1.0


async def _check(probe: Awaitable[bool], timeout_s: float) -> str:
    try:
        return "ok" if await asyncio.wait_for(probe, timeout_s) else "down"
    except Exception:  # refused, reset, timed out, starting up: all mean "not usable now"
        return "down"


async def readiness(engine: Engine, timeout_s: float = CHECK_TIMEOUT_S) -> dict[str, str]:
    """``{"postgres": "ok"|"down", "redis": "ok"|"down"}``, in at most ``timeout_s``."""
    postgres, redis = await asyncio.gather(
        _check(engine.db.ping(timeout_s=timeout_s), timeout_s), _check(engine.cache.ping(), timeout_s)
    )
    return {"postgres": postgres, "redis": redis}


# Every kind work_items allows (sql/0008): a kind with no pending row reads 0, not "absent".
WORK_KINDS = ("capture", "void", "register_customer")


async def refresh_work_pending(engine: Engine, timeout_s: float = CHECK_TIMEOUT_S) -> bool:
    """Set ``payment_engine_work_pending{kind}`` from one grouped count; False if PostgreSQL
    did not answer in time (the gauge then keeps its last value: a scrape never fails on it)."""
    try:
        counts = await engine.db.work.pending_by_kind(timeout_s)
    except Exception:
        DEPENDENCY_ERRORS.labels("postgres").inc()
        return False
    for kind in {*WORK_KINDS, *counts}:
        WORK_PENDING.labels(kind).set(counts.get(kind, 0))
    return True
