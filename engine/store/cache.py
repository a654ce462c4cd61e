"""Redis adapter: rebuildable caches and short locks. Losing Redis loses no payment data."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

from engine.errors import IllegalTransition
from engine.logs import ThrottledWarning
from engine.metrics import DEPENDENCY_ERRORS

# One line a minute per concern while Redis is down (the process-wide throttle: every Cache and
# the breaker share it), however many requests fail open meanwhile.
redis_warnings = ThrottledWarning(logging.getLogger("engine.redis"))


def redis_failed(concern: str, exc: BaseException) -> None:
    """Count a failed Redis call and warn (throttled) that ``concern`` fails open."""
    DEPENDENCY_ERRORS.labels("redis").inc()
    redis_warnings.warn(concern, f"Redis unreachable: {concern} fails open", exc=exc)


class Cache:
    """Small typed wrapper over the asyncio Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> Cache:
        """Connect lazily to ``url`` (redis://, rediss:// or unix://)."""
        return cls(redis.Redis.from_url(url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2))

    async def get(self, key: str) -> str | None:
        """A cached value, or ``None`` when missing or Redis is unreachable (the caller falls back)."""
        try:
            return await self.client.get(key)
        except RedisError as exc:
            redis_failed("cache", exc)
            return None

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        """Cache ``value``; a Redis failure is ignored (it is only a cache)."""
        try:
            await self.client.set(key, value, ex=ttl_s)
        except RedisError as exc:
            redis_failed("cache", exc)

    async def delete(self, key: str) -> None:
        """Drop a cached value."""
        try:
            await self.client.delete(key)
        except RedisError as exc:
            redis_failed("cache", exc)

    @contextlib.asynccontextmanager
    async def lock(self, name: str, ttl_s: float = 60.0) -> AsyncIterator[None]:
        """A short exclusive lock; a second holder gets a 409 instead of waiting.

        It only keeps two operations on one payment from racing through the gateway; the
        database's row locks and guarded updates remain the source of truth.
        """
        lock = self.client.lock(f"lock:{name}", timeout=ttl_s, blocking=False)
        try:
            acquired: bool | None = await lock.acquire()
        except RedisError as exc:
            acquired = None  # Redis down: proceed; the database guards still hold
            redis_failed("lock", exc)
        if acquired is False:
            raise IllegalTransition(
                "Another operation on this object is in progress; retry shortly.", code="lock_timeout"
            )
        try:
            yield
        finally:
            if acquired:
                with contextlib.suppress(LockError, RedisError):
                    await lock.release()

    async def ping(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(await self.client.ping())
        except RedisError:
            return False

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
