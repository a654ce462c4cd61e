"""The real stack for integration and e2e tests: PostgreSQL, Redis, the sandbox, the engine.

PostgreSQL and Redis come from ``DATABASE_URL`` / ``REDIS_URL`` when set (CI runs the suite
again against the machine's servers), otherwise from the embedded servers under
``.data/test``. Each test session gets a database of its own, dropped at the end, so an old
schema never leaks into a run.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as redis

from engine.config import Settings, load_settings
from engine.runtime.embedded import ensure_services
from engine.store.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token-" + secrets.token_hex(8)


@dataclass
class Services:
    """Resolved URLs of the database (a fresh per-session database) and Redis."""

    database_url: str
    redis_url: str


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


def _with_redis_db(url: str, db: int) -> str:
    """``url`` pointing at logical database ``db``: sessions keep their caches, locks and
    breaker counters apart even when they share one Redis server."""
    if url.startswith("unix://"):
        base, _, query = url.partition("?")
        kept = [q for q in query.split("&") if q and not q.startswith("db=")]
        return base + "?" + "&".join([*kept, f"db={db}"])
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


@contextlib.asynccontextmanager
async def services() -> AsyncIterator[Services]:
    """A migrated, empty database of this session's own, and Redis."""
    base = load_settings(
        {k: v for k, v in os.environ.items() if k in {"DATABASE_URL", "REDIS_URL"}},
        data_dir=str(ROOT / ".data" / "test"),
    )
    resolved = ensure_services(base)
    name = f"engine_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(resolved.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = _with_database(resolved.database_url, name)
    await migrate(dsn)
    redis_url = _with_redis_db(resolved.redis_url, secrets.randbelow(15) + 1)
    try:
        yield Services(database_url=dsn, redis_url=redis_url)
    finally:
        client = redis.Redis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()
        admin = await asyncpg.connect(resolved.database_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(svc: Services, prefix: str = "engine_extra") -> AsyncIterator[Services]:
    """Another migrated, empty database on the session's server, dropped afterwards: for engines
    that must not share rows with the session's engine (another master key, its own worker)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(svc.database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = _with_database(svc.database_url, name)
        await migrate(dsn)
        yield Services(database_url=dsn, redis_url=svc.redis_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def engine_settings(svc: Services, *, port: int, sandbox_url: str, **overrides: object) -> Settings:
    """Settings of an engine under test: sandbox mode, short gateway timeouts."""
    env = {
        "DATABASE_URL": svc.database_url,
        "REDIS_URL": svc.redis_url,
        "ENGINE_PORT": str(port),
        "ENGINE_SANDBOX": "1",
        "SANDBOX_URL": sandbox_url,
        "ENGINE_ADMIN_TOKEN": ADMIN_TOKEN,
        "ENGINE_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "GATEWAY_READ_TIMEOUT_S": "3",
        "GATEWAY_CONNECT_TIMEOUT_S": "1",
        "DB_POOL_MAX": "30",
        "BREAKER_THRESHOLD": "1000",  # tests that exercise the breaker lower it themselves
        "LOG_LEVEL": "WARNING",
    }
    return load_settings(env, **overrides)
