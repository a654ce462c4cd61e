"""Wires the engine: the pool, Redis, the encryption sealer, the HTTP client and the gateways.

``Engine.start`` is the one place where IO resources are created (cosmicpython's bootstrap);
services receive the ``Engine`` and use only what it holds.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine.config import Settings
from engine.crypto import Sealer, derive_keys
from engine.gateways.http import GatewayClient, new_client
from engine.services.breaker import CircuitBreaker
from engine.services.bulkhead import Bulkheads
from engine.services.directory import GatewayDirectory
from engine.store.cache import Cache
from engine.store.db import create_pool
from engine.store.migrate import migrate
from engine.store.pool import Pool
from engine.store.ratelimit import MerchantRateLimiter
from engine.store.uow import Database

if TYPE_CHECKING:
    from engine.services.keys import Rotation


@dataclass
class Engine:
    """The running engine's resources."""

    settings: Settings
    db: Database
    cache: Cache
    sealer: Sealer
    http: GatewayClient
    gateways: GatewayDirectory
    breaker: CircuitBreaker
    # HMAC keys of idempotency fingerprints: the one derived from the current master key signs;
    # the rest (the raw master used before derivation, older masters' keys) still recognise the
    # keys that requests in flight or retried within their 24 h were stored under.
    fingerprint_keys: tuple[bytes, ...]
    api_key_memo: dict[bytes, tuple[str, float]] = field(default_factory=dict)
    # The time the services decide by (attempt ages, versions' timestamps): a seam for tests.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Charges in flight per gateway (GATEWAY_MAX_CONCURRENCY; the default is unbounded).
    bulkheads: Bulkheads = field(default_factory=Bulkheads)
    # Per-merchant rate limits (None: RATE_LIMIT_PER_S is 0, nothing is counted).
    limiter: MerchantRateLimiter | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Engine:
        """Open every resource the services need."""
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError("DATABASE_URL and REDIS_URL must be resolved before the engine starts")
        if not settings.encryption_key:
            raise RuntimeError("ENGINE_ENCRYPTION_KEY must be resolved before the engine starts")
        pool = await create_pool(
            settings.database_url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            acquire_timeout=settings.db_acquire_timeout,
        )
        # One client (one aiohttp session, keep-alive pool) for every gateway.
        http = new_client(settings.gateway_connect_timeout, settings.gateway_read_timeout)
        # Derived once here; the master key itself is used for nothing but derivation.
        masters = (settings.encryption_key, *settings.encryption_keys)
        fingerprint_keys = (*(derive_keys(m).fingerprint for m in masters), *masters)
        sealer = Sealer(settings.encryption_key, settings.encryption_keys)
        cache = Cache.from_url(settings.redis_url)
        db = Database(pool)
        directory = GatewayDirectory(db=db, sealer=sealer, http=http)
        breaker = CircuitBreaker(
            cache,
            threshold=settings.breaker_threshold,
            window_s=settings.breaker_window,
            cooldown_s=settings.breaker_cooldown,
        )
        return cls(
            settings=settings,
            db=db,
            cache=cache,
            sealer=sealer,
            http=http,
            gateways=directory,
            breaker=breaker,
            fingerprint_keys=fingerprint_keys,
            bulkheads=Bulkheads(settings.gateway_max_concurrency),
            limiter=(
                MerchantRateLimiter(settings.redis_url, settings.rate_limit_per_s, settings.rate_limit_burst)
                if settings.rate_limit_per_s > 0
                else None
            ),
        )

    async def close(self) -> None:
        """Release every resource."""
        await self.gateways.close()
        await self.http.close()
        await self.cache.close()
        if self.limiter is not None:
            await self.limiter.close()
        await self.db.close()

    @property
    def pool(self) -> Pool:
        """The database pool, for operational checks and tests (services use ``db``)."""
        return self.db.pool


async def create_merchant(settings: Settings, name: str) -> tuple[dict[str, Any], str, str]:
    """CLI helper: migrate, create a merchant, return its public object, its one-time secret
    key and its publishable key."""
    from engine.services.merchants import create_merchant as create

    await migrate(settings.database_url)
    engine = await Engine.start(settings)
    try:
        return await create(engine, name)
    finally:
        await engine.close()


async def rotate_keys(settings: Settings, batch_size: int) -> Rotation:
    """CLI helper: re-seal every gateway account not sealed with ``ENGINE_ENCRYPTION_KEY``."""
    from engine.services.client_secrets import reseal_all
    from engine.services.keys import rotate_keys as rotate
    from engine.services.webhook_endpoints import reseal_secrets

    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        sealer = Sealer(settings.encryption_key, settings.encryption_keys)
        rotation = await rotate(Database(pool), sealer, batch_size=batch_size)
        hooks, unreadable = await reseal_secrets(Database(pool), sealer, batch_size)
        browser, browser_unreadable = await reseal_all(Database(pool), sealer, batch_size)
        return dataclasses.replace(
            rotation,
            webhook_resealed=hooks,
            webhook_unreadable=dict(unreadable),
            browser_resealed=browser,
            browser_unreadable=dict(browser_unreadable),
        )
    finally:
        await pool.close()


def encryption_key_b64(settings: Settings) -> str:
    """The encryption key as base64, for handing to worker processes through the environment."""
    return base64.urlsafe_b64encode(settings.encryption_key).decode()
