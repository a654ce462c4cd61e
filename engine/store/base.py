"""What every repository shares: the executor it runs statements on."""

from __future__ import annotations

import asyncpg

from engine.store.pool import Pool

# A connection (inside a unit of work's transaction) or the pool (one statement per transaction).
Executor = asyncpg.Connection | Pool


class Repository:
    """SQL for one aggregate, run on the executor of the unit of work that owns it."""

    __slots__ = ("_db",)

    def __init__(self, db: Executor) -> None:
        self._db = db


def affected(status: str) -> int:
    """Rows touched, from a command tag such as ``DELETE 3``."""
    return int(status.split()[-1])
