"""What every repository shares: the executor it runs statements on."""

from __future__ import annotations

from typing import Any

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


def keys(older_than: tuple[Any, str] | None, newer_than: tuple[Any, str] | None) -> tuple[Any, ...]:
    """A list query's four cursor parameters: (created_at, id) older than, then newer than."""
    return (*(older_than or (None, None)), *(newer_than or (None, None)))
