"""The shared cursor rules of every list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import NotFound, ValidationError
from engine.services import pages

KEY = (datetime(2026, 1, 1, tzinfo=UTC), "pay_1")


async def _known(value: str) -> pages.Key | None:
    return KEY if value == "pay_1" else None


@pytest.mark.parametrize(("rows", "back", "page", "more"), [
    ([5, 4, 3], False, [5, 4, 3], False),
    ([5, 4, 3, 2], False, [5, 4, 3], True),  # forwards the extra row is the oldest
    ([5, 4, 3, 2], True, [4, 3, 2], True),  # backwards it is the newest
    ([], True, [], False),
])  # fmt: skip
def test_trim_drops_the_extra_row_at_the_far_end(rows: list[int], back: bool, page: list[int], more: bool) -> None:
    assert pages.trim(rows, 3, back) == (page, more)


async def test_window_resolves_one_cursor_and_asks_for_one_row_more() -> None:
    assert await pages.window(10, "pay_1", None, _known, "payment") == pages.Window(KEY, None, 11)
    assert await pages.window(1, None, "pay_1", _known, "payment") == pages.Window(None, KEY, 2)


@pytest.mark.parametrize(("limit", "after", "before", "error", "param"), [
    (0, None, None, ValidationError, "limit"),
    (101, None, None, ValidationError, "limit"),
    (10, "pay_1", "pay_1", ValidationError, "ending_before"),
    (10, "pay_2", None, NotFound, "starting_after"),
    (10, None, "not an id!", NotFound, "ending_before"),
])  # fmt: skip
async def test_window_refuses_bad_arguments(limit: int, after, before, error: type[Exception], param: str) -> None:
    with pytest.raises(error) as refused:
        await pages.window(limit, after, before, _known, "payment")
    assert refused.value.param == param
