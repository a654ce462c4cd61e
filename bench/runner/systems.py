"""The systems under test and what they run on: PostgreSQL, Redis, the sandbox.

``Stack`` starts (or attaches to) PostgreSQL and Redis — ``DATABASE_URL`` / ``REDIS_URL`` when
set, otherwise the embedded servers under the data directory — and gives each system a fresh,
migrated database of its own (dropped afterwards), so every system starts from empty tables,
and whose statements and backends can be told apart (``bench/runner/counters.py``). It loads
``pg_stat_statements`` (restarting an embedded server once, the first time a data directory is used).
``start_system`` starts one system (and its sandbox) and returns where to send load.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.runner.counters import enable_pg_stat_statements
from bench.runner.procs import Child, Children, python, wait_http
from engine.config import load_settings
from engine.runtime.embedded import ensure_services, stop_services
from engine.runtime.processes import free_port
from engine.store.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class System:
    """A system under test: ``kind`` engine | baseline | ceiling, with its options."""

    name: str
    kind: str
    label: str
    workers: int = 1
    mode: str = ""  # baseline: sync | threads
    threads: int = 0
    env: tuple[tuple[str, str], ...] = ()  # extra environment of the server


SYSTEMS: dict[str, System] = {
    "engine-1w": System("engine-1w", "engine", "engine, 1 worker (uvicorn+uvloop, Litestar, asyncpg)", workers=1),
    "engine-2w": System("engine-2w", "engine", "engine, 2 workers", workers=2),
    # The same engine with every route through Litestar (api/hot_routes.py off): what they save.
    "engine-litestar": System(
        "engine-litestar", "engine", "engine, 1 worker, hot routes off", workers=1, env=(("ENGINE_HOT_ROUTES", "0"),)
    ),
    "sync-workers": System(
        "sync-workers", "baseline", f"baseline, gunicorn sync, {2 * CORES + 1} workers", mode="sync"
    ),
    "sync-threads": System(
        "sync-threads",
        "baseline",
        f"baseline, gunicorn gthread, {CORES} workers x 64 threads",
        workers=CORES,
        mode="threads",
        threads=64,
    ),
    "ceiling": System("ceiling", "ceiling", "ceiling: raw ASGI + one durable INSERT, 1 process"),
}


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@dataclass
class Stack:
    """PostgreSQL and Redis for the whole run."""

    data_dir: Path
    database_url: str = ""
    redis_url: str = ""
    embedded: bool = False
    pgdata: str = ""
    statements: str = ""  # "ready" when pg_stat_statements counts statements, else why not
    _databases: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Start or attach to the servers; make ``pg_stat_statements`` available where possible."""
        env = {k: v for k, v in os.environ.items() if k in ("DATABASE_URL", "REDIS_URL")}
        self.embedded = not env.get("DATABASE_URL")
        settings = ensure_services(load_settings(env, data_dir=str(self.data_dir)))
        self.database_url, self.redis_url = settings.database_url, settings.redis_url
        self.pgdata = str(self.data_dir.resolve() / "pg") if self.embedded else ""
        self.statements = enable_pg_stat_statements(self.admin_dsn)
        if self.statements == "restart" and self.embedded:
            # shared_preload_libraries is read at server start only: restart the embedded server
            # once (ALTER SYSTEM persisted the setting, so later runs on this data dir skip this)
            stop_services()
            settings = ensure_services(load_settings(env, data_dir=str(self.data_dir)))
            self.database_url, self.redis_url = settings.database_url, settings.redis_url
            self.statements = enable_pg_stat_statements(self.admin_dsn)
        elif self.statements == "restart":
            self.statements = "pg_stat_statements unavailable: not in the server's shared_preload_libraries"

    @property
    def admin_dsn(self) -> str:
        """A superuser connection to the ``postgres`` database (never one a system uses)."""
        return _with_database(self.database_url, "postgres")

    def fresh_database(self, tag: str) -> str:
        """A new migrated database; returns its DSN."""
        name = f"bench_{tag.replace('-', '_')}_{secrets.token_hex(3)}"
        asyncio.run(self._admin(f'CREATE DATABASE "{name}"'))
        self._databases.append(name)
        dsn = _with_database(self.database_url, name)
        asyncio.run(migrate(dsn))
        return dsn

    def drop(self, dsn: str) -> None:
        """Drop a database made by ``fresh_database``."""
        name = urlsplit(dsn).path.lstrip("/")
        if name in self._databases:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self._databases.remove(name)

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(_with_database(self.database_url, "postgres"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def stop(self) -> None:
        """Drop leftover databases and stop embedded servers this process started."""
        for name in list(self._databases):
            try:
                self.drop(_with_database(self.database_url, name))
            except (OSError, asyncpg.PostgresError):
                pass
        stop_services()


@dataclass
class Running:
    """A started system: where to send load and which processes are its."""

    system: System
    url: str
    api_key: str
    server: Child
    sandbox: Child | None
    sandbox_url: str
    database_url: str


def base_env(stack: Stack, data_dir: Path) -> dict[str, str]:
    """The environment every child gets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGINE_", "BASELINE_", "BENCH_"))}
    env.update(
        REDIS_URL=stack.redis_url,
        ENGINE_DATA_DIR=str(data_dir.resolve()),
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    return env


def start_sandbox(children: Children, env: dict[str, str], latency_ms: int, webhook_url: str) -> tuple[Child, str]:
    """The sandbox with webhooks off (switched on per scenario through ``/_bench/webhooks``)."""
    port = free_port()
    argv = python("bench.runner.sandbox", "--port", str(port), "--latency-ms", str(latency_ms),
                  "--webhook-url", webhook_url)  # fmt: skip
    child = children.start("sandbox", argv, env)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", child, 60)
    return child, url


def _json_of(argv: list[str], env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:4])} failed: {done.stderr.strip()[-1500:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def start_system(
    system: System, stack: Stack, children: Children, data_dir: Path, latency_ms: int, database_url: str
) -> Running:
    """Start ``system`` (and a sandbox for it) on free ports; wait until both answer."""
    env = {**base_env(stack, data_dir), "DATABASE_URL": database_url}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox, sandbox_url = None, ""
    if system.kind != "ceiling":
        sandbox, sandbox_url = start_sandbox(children, env, latency_ms, url + "/v1/webhooks/{gateway}/{merchant_id}")
    api_key = ""
    if system.kind == "engine":
        env.update(ENGINE_SANDBOX="1", SANDBOX_URL=sandbox_url, ENGINE_PUBLIC_URL=url)
        created = _json_of(python("api.cli", "merchant", "create", "--name", "Bench Pharmacy", "--json"), env)
        api_key = created["api_key"]
        argv = python("api.cli", "serve", "--port", str(port), "--workers", str(system.workers), "--no-migrate")
        env.update(system.env)
    elif system.kind == "baseline":
        env.update(BASELINE_DATABASE_URL=database_url, BASELINE_GATEWAY_URL=sandbox_url + "/razorpay")
        api_key = _json_of(python("bench.baseline.serve", "merchant", "--dsn", database_url), env)["api_key"]
        argv = python("bench.baseline.serve", "--mode", system.mode, "--port", str(port))
        if system.mode == "threads":
            argv += ["--workers", str(system.workers), "--threads", str(system.threads)]
    else:
        argv = python("bench.ceiling.app", "--port", str(port), "--dsn", database_url)
    server = children.start(system.name, argv, env)
    wait_http(url + "/healthz", server, 90)
    return Running(system, url, api_key, server, sandbox, sandbox_url, database_url)


def set_webhooks(sandbox_url: str, on: bool) -> None:
    """Switch the sandbox's webhook delivery (see ``bench.runner.sandbox``)."""
    import urllib.request

    request = urllib.request.Request(
        sandbox_url + "/_bench/webhooks", data=json.dumps({"on": on}).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
