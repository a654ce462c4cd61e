"""Redis adapter: rebuildable caches and short locks. Losing Redis loses no payment data."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as redis
from redis.exceptions import LockError, RedisError

from engine.errors import IllegalTransition


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
        except RedisError:
            return None

    async def set(self, key: str, value: str, ttl_s: int) -> None:
        """Cache ``value``; a Redis failure is ignored (it is only a cache)."""
        with contextlib.suppress(RedisError):
            await self.client.set(key, value, ex=ttl_s)

    async def delete(self, key: str) -> None:
        """Drop a cached value."""
        with contextlib.suppress(RedisError):
            await self.client.delete(key)

    @contextlib.asynccontextmanager
    async def lock(self, name: str, ttl_s: float = 60.0) -> AsyncIterator[None]:
        """A short exclusive lock; a second holder gets a 409 instead of waiting.

        It only keeps two operations on one payment from racing through the gateway; the
        database's row locks and guarded updates remain the source of truth.
        """
        lock = self.client.lock(f"lock:{name}", timeout=ttl_s, blocking=False)
        try:
            acquired: bool | None = await lock.acquire()
        except RedisError:
            acquired = None  # Redis down: proceed; the database guards still hold
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
