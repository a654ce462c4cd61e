"""Embedded PostgreSQL and Redis: start under a fresh data dir, keep data across a restart.

These always use the embedded servers (the settings are built with empty URLs), whatever
``DATABASE_URL`` / ``REDIS_URL`` say, and put the environment back afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from engine.config import ConfigError, Settings
from engine.runtime.embedded import (
    KEY_FILE,
    ensure_encryption_key,
    ensure_services,
    stop_services,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No URLs in the environment during the test; the originals come back afterwards."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


def _socket_exists(unix_url: str) -> bool:
    return Path(unix_url.removeprefix("unix://")).exists()


async def _start(data_dir: Path) -> Settings:
    return await asyncio.to_thread(ensure_services, Settings(data_dir=str(data_dir)))


async def test_services_start_survive_restart_and_export_urls(tmp_path: Path, clean_env: None) -> None:
    data_dir = tmp_path / "data"
    settings = await _start(data_dir)
    try:
        assert settings.database_url.startswith("postgresql://")
        assert settings.redis_url.startswith("unix://")
        assert os.environ["DATABASE_URL"] == settings.database_url
        assert os.environ["REDIS_URL"] == settings.redis_url
        assert (data_dir / "pg" / "PG_VERSION").exists()

        # A second call in the same process reuses the running servers.
        again = await _start(data_dir)
        assert (again.database_url, again.redis_url) == (settings.database_url, settings.redis_url)

        conn = await asyncpg.connect(settings.database_url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "engine"
            await conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
            await conn.execute("INSERT INTO kept VALUES (1, 'before restart')")
        finally:
            await conn.close()
        client = aioredis.from_url(settings.redis_url)
        try:
            await client.set("kept", "redis before restart")
        finally:
            await client.aclose()
    finally:
        await asyncio.to_thread(stop_services, data_dir)

    assert "DATABASE_URL" not in os.environ and "REDIS_URL" not in os.environ
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "PostgreSQL still running after stop"
    assert (data_dir / "redis.db").exists()
    assert not _socket_exists(settings.redis_url), "Redis still running after stop"

    settings = await _start(data_dir)
    try:
        conn = await asyncpg.connect(settings.database_url)
        try:
            assert await conn.fetchval("SELECT note FROM kept WHERE id = 1") == "before restart"
        finally:
            await conn.close()
        client = aioredis.from_url(settings.redis_url)
        try:
            assert await client.get("kept") == b"redis before restart"
        finally:
            await client.aclose()
    finally:
        await asyncio.to_thread(stop_services, data_dir)


async def test_configured_urls_are_left_alone(tmp_path: Path, clean_env: None) -> None:
    given = Settings(
        data_dir=str(tmp_path / "unused"),
        database_url="postgresql://postgres@127.0.0.1:5432/x",
        redis_url="redis://127.0.0.1:6379/0",
    )
    assert await asyncio.to_thread(ensure_services, given) is given
    assert not (tmp_path / "unused" / "pg").exists()
    assert "DATABASE_URL" not in os.environ


def test_encryption_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path))
    first = ensure_encryption_key(settings)
    assert len(first.encryption_key) == 32
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert base64.urlsafe_b64decode(path.read_text().strip()) == first.encryption_key
    assert ensure_encryption_key(settings).encryption_key == first.encryption_key


def test_configured_encryption_key_wins(tmp_path: Path) -> None:
    key = bytes(range(32))
    assert ensure_encryption_key(Settings(data_dir=str(tmp_path), encryption_key=key)).encryption_key == key
    assert not (tmp_path / KEY_FILE).exists()


def test_damaged_key_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("too-short\n")
    with pytest.raises(ConfigError, match="ENGINE_ENCRYPTION_KEY"):
        ensure_encryption_key(Settings(data_dir=str(tmp_path)))
