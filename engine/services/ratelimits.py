"""Per-merchant rate limiting: checked once the merchant is known, before anything is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import RateLimited
from engine.metrics import RATE_LIMITED

if TYPE_CHECKING:
    from engine.bootstrap import Engine


async def check(engine: Engine, merchant_id: str) -> None:
    """Raise ``RateLimited`` (429, ``Retry-After``) when the merchant is over its rate.

    Runs before any idempotency claim or write, so a refused request leaves nothing behind: a
    retry with the same Idempotency-Key after ``Retry-After`` is a first request.
    """
    if engine.limiter is None:
        return
    retry_after = await engine.limiter.admit(merchant_id)
    if retry_after is not None:
        RATE_LIMITED.inc()
        error = RateLimited("Too many requests; retry after the number of seconds in Retry-After.")
        error.retry_after = retry_after
        raise error
