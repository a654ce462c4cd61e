"""What every in-memory repository shares: the tables it runs on and one-statement atomicity."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from tests.support.memory.tables import Tables, copy

T = TypeVar("T")
Key = tuple[datetime, str]


class Scope:
    """Where a unit of work's statements write: the live tables, or a transaction's fork."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables


class MemoryRepository:
    """Holds the scope; ``self.t`` is the current statement's fork while a statement runs."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self.t: Tables = scope.tables


def statement(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a (synchronous) repository body as one atomic statement: it writes into a fork of
    the scope's tables, merged back only when it returns. Signatures stay the real ones
    (``inspect.signature`` follows ``__wrapped__``)."""

    @functools.wraps(fn)
    async def run(self: MemoryRepository, *args: Any, **kwargs: Any) -> Any:
        parent = self._scope.tables
        self.t = parent.fork()
        result = fn(self, *args, **kwargs)
        self.t.merge_into(parent)
        return result

    return run


def unsupported(name: str) -> Callable[..., Any]:
    """A repository method no service under test uses."""

    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"MemoryDatabase does not implement {type(self).__name__}.{name}")

    run.__name__ = name
    run.unsupported = True  # type: ignore[attr-defined]
    return run


def page_of(rows: list[T], older_than: Key | None, newer_than: Key | None, limit: int) -> list[T]:
    """What the list queries return: up to ``limit`` rows older (or the nearest newer) than a
    cursor, newest first, by (created_at, id)."""
    key: Callable[[Any], Key] = lambda r: (r.created_at, r.id)  # noqa: E731
    picked = [
        r for r in rows if (older_than is None or key(r) < older_than) and (newer_than is None or key(r) > newer_than)
    ]
    picked.sort(key=key, reverse=newer_than is None)
    return [copy(r) for r in sorted(picked[:limit], key=key, reverse=True)]
