"""Cursor pages, shared by every list: newest first, at most ``MAX_PAGE`` objects.

``starting_after`` (an object id) pages towards older objects, ``ending_before`` towards newer
ones: the page that ends just before that object, still newest first. A cursor must be one of
the merchant's own objects of that kind -- another merchant's id is as unknown as a made-up one
(404 naming the parameter), so a cursor never tells whether an id exists elsewhere.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

from engine.errors import NotFound, ValidationError
from engine.ids import plausible

MAX_PAGE = 100
Key = tuple[datetime, str]  # (created_at, id): the sort key of most lists (events: their seq)
K = TypeVar("K")
T = TypeVar("T")


class Window(NamedTuple, Generic[K]):
    """What a page query needs: the cursors' sort keys and how many rows to fetch."""

    older_than: K | None
    newer_than: K | None
    size: int  # limit + 1: the extra row says whether there is more


def check_limit(limit: int) -> None:
    """400 unless ``1 <= limit <= MAX_PAGE``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}.", param="limit")


def check(limit: int, starting_after: str | None, ending_before: str | None) -> None:
    """400 on a bad ``limit`` or on both cursors at once (``window`` checks this too)."""
    check_limit(limit)
    if starting_after is not None and ending_before is not None:
        raise ValidationError("Pass starting_after or ending_before, not both.", param="ending_before")


async def window(
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    key_of: Callable[[str], Awaitable[K | None]],
    noun: str,
) -> Window[K]:
    """Check the page arguments and resolve the cursor (``key_of``: the sort key of one of the
    merchant's own objects, or ``None``)."""
    check(limit, starting_after, ending_before)
    older = await _key(starting_after, key_of, noun, "starting_after")
    newer = await _key(ending_before, key_of, noun, "ending_before")
    return Window(older, newer, limit + 1)


def trim(rows: list[T], limit: int, paging_back: bool) -> tuple[list[T], bool]:
    """The page and ``has_more`` from ``limit + 1`` rows sorted newest first: the extra row is the
    oldest one going forwards, the newest one going back (``ending_before``)."""
    if len(rows) <= limit:
        return rows, False
    return (rows[-limit:] if paging_back else rows[:limit]), True


async def _key(cursor: str | None, key_of: Callable[[str], Awaitable[Key | None]], noun: str, param: str) -> Key | None:
    if cursor is None:
        return None
    key = await key_of(cursor) if plausible(cursor) else None
    if key is None:
        raise NotFound(f"No such {noun}: {cursor[:64]!r}.", param=param)
    return key
