"""Per-gateway circuit breaker, shared by every process through Redis.

Closed: requests flow; each failure that says "the gateway is unwell" (retryable errors and
unknown outcomes) increments a counter that lives ``window_s``. At ``threshold`` failures the
breaker opens for ``cooldown_s``: routing skips the gateway. When the cooldown ends it is
half-open: one request (whoever wins ``SET NX`` on the probe key) may try; success closes the
breaker, failure opens it again. Declines are healthy answers and never count. If Redis is
unreachable the breaker fails open (traffic flows): it is a protection, not a dependency.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from engine.gateways.base import Outcome
from engine.store.cache import Cache, redis_failed

UNHEALTHY = frozenset({Outcome.RETRYABLE, Outcome.UNKNOWN})


class CircuitBreaker:
    """Decides whether a gateway may be tried, and learns from each answer."""

    def __init__(self, cache: Cache, *, threshold: int = 5, window_s: int = 60, cooldown_s: int = 30) -> None:
        self._redis = cache.client
        self.threshold = threshold
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        # Gateways whose breaker this process last saw with no failures at all.
        self._clean: dict[str, bool] = {}

    async def health(self, gateways: list[str]) -> dict[str, tuple[bool, int]]:
        """(open, recent failures) of every gateway in ONE round trip; empty if Redis is down."""
        if not gateways:
            return {}
        try:
            raw = await self._redis.mget([k for g in gateways for k in (f"cb:open:{g}", f"cb:fail:{g}")])
        except RedisError as exc:
            redis_failed("breaker", exc)
            return {}
        return {g: (bool(raw[2 * i]), int(raw[2 * i + 1] or 0)) for i, g in enumerate(gateways)}

    async def allow(self, gateway: str, *, probe: bool = True, seen: tuple[bool, int] | None = None) -> bool:
        """Whether a request may go to ``gateway`` now (half-open lets one probe through).

        ``probe=False`` only asks (a pre-check before any work): it never takes the probe slot.
        ``seen`` is the gateway's state from ``health`` (routing reads every candidate at once).
        """
        try:
            if seen is None:
                is_open_raw, failures_raw = await self._redis.mget(f"cb:open:{gateway}", f"cb:fail:{gateway}")
                seen = (bool(is_open_raw), int(failures_raw or 0))
            is_open, failures = seen
            self._clean[gateway] = not is_open and failures == 0
            if is_open:
                return False
            if failures < self.threshold or not probe:
                return True
            return bool(await self._redis.set(f"cb:probe:{gateway}", "1", nx=True, ex=self.cooldown_s))
        except RedisError as exc:
            redis_failed("breaker", exc)
            return True

    async def record(self, gateway: str, outcome: Outcome) -> None:
        """Learn from one answer of ``gateway``."""
        try:
            await self._record(gateway, outcome)
        except RedisError as exc:
            redis_failed("breaker", exc)

    async def _record(self, gateway: str, outcome: Outcome) -> None:
        if outcome not in UNHEALTHY:
            # The common case -- a healthy answer from a breaker seen clean -- costs no round trip.
            if not self._clean.get(gateway, False):
                await self._redis.delete(f"cb:fail:{gateway}", f"cb:probe:{gateway}", f"cb:open:{gateway}")
                self._clean[gateway] = True
            return
        self._clean[gateway] = False
        key = f"cb:fail:{gateway}"
        failures = await self._redis.incr(key)
        if failures == 1:
            await self._redis.expire(key, self.window_s)
        if failures >= self.threshold:
            await self._redis.set(f"cb:open:{gateway}", "1", ex=self.cooldown_s)
            await self._redis.expire(key, self.window_s + self.cooldown_s)
            await self._redis.delete(f"cb:probe:{gateway}")

    async def state(self, gateway: str) -> str:
        """``closed``, ``open`` or ``half_open`` (for the routing decision and metrics)."""
        try:
            if await self._redis.exists(f"cb:open:{gateway}"):
                return "open"
            failures = int(await self._redis.get(f"cb:fail:{gateway}") or 0)
        except RedisError as exc:
            redis_failed("breaker", exc)
            return "closed"
        return "half_open" if failures >= self.threshold else "closed"
