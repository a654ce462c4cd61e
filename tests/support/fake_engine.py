"""An ``Engine`` (engine/bootstrap.py) for service unit tests: real settings, sealer and circuit
breaker; the ``MemoryDatabase``; the real ``Cache`` over an in-memory Redis client; the real
``GatewayDirectory`` (accounts sealed and opened as in production) whose ``connector()`` hands
out ``FakeConnector``s, one per gateway name. No network, no PostgreSQL, no Redis.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from engine.bootstrap import Engine
from engine.config import load_settings
from engine.crypto import Sealer, derive_keys
from engine.gateways.base import GatewayConnector
from engine.ids import new_id
from engine.model import GatewayAccount
from engine.services.breaker import CircuitBreaker
from engine.services.directory import GatewayDirectory
from engine.store.cache import Cache
from tests.support.fake_connector import FakeConnector
from tests.support.memory_store import Clock, MemoryDatabase


class _Lock:
    def __init__(self, redis: MemoryRedis, name: str, timeout: float) -> None:
        self._redis, self._name, self._timeout = redis, name, timeout
        self._token = new_id("lock")

    async def acquire(self) -> bool:
        return bool(await self._redis.set(self._name, self._token, nx=True, ex=self._timeout))

    async def release(self) -> None:
        if self._redis.peek(self._name) == self._token:
            await self._redis.delete(self._name)


class MemoryRedis:
    """The few Redis commands ``Cache`` and ``CircuitBreaker`` send, with expiry on ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._data: dict[str, tuple[str, datetime | None]] = {}
        self.commands: list[str] = []
        self.down = False  # True: every command fails as an unreachable Redis does

    def _send(self, command: str) -> None:
        if self.down:
            raise RedisConnectionError("Redis is unreachable (MemoryRedis.down)")
        self.commands.append(command)

    def peek(self, key: str) -> str | None:
        found = self._data.get(key)
        if found is None:
            return None
        if found[1] is not None and found[1] <= self._clock.now():
            del self._data[key]
            return None
        return found[0]

    def _expiry(self, seconds: float | None) -> datetime | None:
        return None if seconds is None else self._clock.now() + timedelta(seconds=seconds)

    async def get(self, key: str) -> str | None:
        self._send("GET")
        return self.peek(key)

    async def mget(self, keys: Any, *more: str) -> list[str | None]:
        self._send("MGET")
        names = [keys, *more] if isinstance(keys, str) else list(keys)
        return [self.peek(k) for k in names]

    async def set(self, key: str, value: Any, ex: float | None = None, nx: bool = False) -> bool | None:
        self._send("SET")
        if nx and self.peek(key) is not None:
            return None
        self._data[key] = (str(value), self._expiry(ex))
        return True

    async def delete(self, *keys: str) -> int:
        self._send("DEL")
        return sum(self._data.pop(k, None) is not None for k in keys)

    async def incr(self, key: str) -> int:
        self._send("INCR")
        value = int(self.peek(key) or 0) + 1
        self._data[key] = (str(value), self._data.get(key, ("", None))[1])
        return value

    async def expire(self, key: str, seconds: float) -> bool:
        self._send("EXPIRE")
        if self.peek(key) is None:
            return False
        self._data[key] = (self._data[key][0], self._expiry(seconds))
        return True

    async def exists(self, *keys: str) -> int:
        self._send("EXISTS")
        return sum(self.peek(k) is not None for k in keys)

    def lock(self, name: str, timeout: float | None = None, blocking: bool = True) -> _Lock:
        assert not blocking, "the engine never waits for a lock"
        return _Lock(self, name, timeout or 0)

    async def ping(self) -> bool:
        self._send("PING")
        return True

    async def aclose(self) -> None:
        pass


class FakeGateways(GatewayDirectory):
    """The real directory (accounts in the database, credentials sealed) handing out fakes."""

    def __init__(self, *, db: Any, sealer: Sealer) -> None:
        super().__init__(db=db, sealer=sealer, http=None)  # type: ignore[arg-type]
        self.fakes: dict[str, FakeConnector] = {}

    def fake(self, gateway: str) -> FakeConnector:
        """The fake connector of every account on ``gateway``."""
        if gateway not in self.fakes:
            self.fakes[gateway] = FakeConnector(gateway)
        return self.fakes[gateway]

    def connector(self, account: GatewayAccount) -> GatewayConnector:
        return self.fake(account.gateway)  # type: ignore[return-value]


def make_engine(**settings: Any) -> Engine:
    """A fresh engine over empty in-memory state; ``settings`` override ``Settings`` fields."""
    master = os.urandom(32)
    values = load_settings({"LOG_LEVEL": "WARNING"}, encryption_key=master, **settings)
    clock = Clock()
    db = MemoryDatabase(clock)
    sealer = Sealer(master)
    cache = Cache(MemoryRedis(clock))  # type: ignore[arg-type]
    breaker = CircuitBreaker(
        cache, threshold=values.breaker_threshold, window_s=values.breaker_window, cooldown_s=values.breaker_cooldown
    )
    return Engine(
        settings=values,
        db=db,  # type: ignore[arg-type]
        cache=cache,
        sealer=sealer,
        http=None,  # type: ignore[arg-type]
        gateways=FakeGateways(db=db, sealer=sealer),
        breaker=breaker,
        fingerprint_keys=(derive_keys(master).fingerprint,),
        clock=clock.now,  # the services' time moves with the store's now()
    )


async def add_merchant(engine: Engine, *gateways: str, name: str = "Test Pharmacy") -> str:
    """A merchant with one account per gateway (routing order as given); its id."""
    merchant_id = new_id("mer")
    async with engine.db.transaction() as uow:
        await uow.merchants.insert(merchant_id, name, False)
        for priority, gateway in enumerate(gateways):
            await engine.gateways.add_account(uow, merchant_id, gateway, {"key": f"{gateway}-key"}, priority)
    return merchant_id


def fake(engine: Engine, gateway: str) -> FakeConnector:
    """The fake connector speaking for ``gateway``."""
    return engine.gateways.fake(gateway)  # type: ignore[attr-defined]


def memory(engine: Engine) -> MemoryDatabase:
    """The engine's in-memory database (for reading and seeding its tables)."""
    assert isinstance(engine.db, MemoryDatabase)
    return engine.db
