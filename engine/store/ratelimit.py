"""Per-merchant rate limits, counted in Redis with the ``limits`` library (moving window).

A merchant may make ``RATE_LIMIT_PER_S`` requests a second on average, with bursts up to
``RATE_LIMIT_BURST``: the limit is "``amount`` requests in any ``window`` seconds", where the
window is ``ceil(burst / rate)`` seconds (one second without a burst) and ``amount`` is a
window's worth at the rate (at least the burst). The moving window is exact (no double burst
at a window edge) and costs one Redis command (one Lua script) per request, refused or not: a
refused request is told to retry after the window's length, the longest it can take for the
oldest counted request to leave the window (no second command to compute it more finely).

Redis down does not take the API down: the limiter fails open (the request is admitted) and
says so in one warning line per minute at most.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

log = logging.getLogger("engine.ratelimit")
WARN_EVERY_S = 60.0
PREFIX = "pe:rl"


def limits_uri(redis_url: str) -> str:
    """The ``limits`` storage URI of a redis-py URL (``redis://``, ``rediss://``, ``unix://``)."""
    scheme, sep, rest = redis_url.partition("://")
    if not sep or scheme not in {"redis", "rediss", "unix"}:
        raise ValueError("not a Redis URL")
    return f"async+redis+unix://{rest}" if scheme == "unix" else f"async+{scheme}://{rest}"


def window_of(per_s: float, burst: int) -> tuple[int, int]:
    """(amount, window seconds) of the moving window for ``per_s`` with bursts up to ``burst``."""
    window = max(1, math.ceil(burst / per_s)) if burst > 0 else 1
    return max(burst, math.ceil(per_s * window)), window


class MerchantRateLimiter:
    """Admits or refuses one merchant's request; shared by every process through Redis."""

    def __init__(self, redis_url: str, per_s: float, burst: int = 0) -> None:
        """A limiter of ``per_s`` requests a second (bursts up to ``burst``) per merchant."""
        amount, window = window_of(per_s, burst)
        self.item = RateLimitItemPerSecond(amount, window)
        self.window_s = window
        self.storage = RedisStorage(
            limits_uri(redis_url),
            implementation="redispy",
            wrap_exceptions=True,
            key_prefix=PREFIX,
            socket_timeout=1,
            socket_connect_timeout=1,
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._warned_at = -math.inf

    async def admit(self, merchant_id: str) -> int | None:
        """``None`` when the request may go on, else the seconds until the merchant may retry."""
        try:
            admitted = await self.limiter.hit(self.item, merchant_id)
        except (StorageError, OSError) as exc:
            self._fail_open(exc)
            return None
        return None if admitted else self.window_s

    def _fail_open(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("rate limiter cannot reach Redis (%s); admitting requests unlimited", type(exc).__name__)

    async def close(self) -> None:
        """Close the limiter's Redis connections."""
        client = getattr(self.storage, "bridge", None)
        storage = getattr(client, "storage", None)
        if storage is not None and hasattr(storage, "aclose"):
            await storage.aclose()
