"""Waiting on something observable in another process, never on a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def until(check: Callable[[], Awaitable[Any]], within: float = 20.0, every: float = 0.05) -> Any:
    """Poll ``check`` every ``every`` seconds until it returns something truthy, and return that;
    ``TimeoutError`` after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not (found := await check()):  # noqa: ASYNC110 - the observable lives in another process
            await asyncio.sleep(every)
    return found
