"""The engine and the gateway sandbox as real OS processes, for crash tests.

:class:`ProcessStack` runs ``python -m api.cli sandbox`` and ``python -m api.cli serve`` as
separate processes on loopback ports, so a test can SIGKILL the engine mid-request and start it
again on the same port while the sandbox keeps its in-memory records (orders, payments, faults).

Each child is the leader of a session (process group) of its own: killing the group takes any
worker the server forked with it, so nothing survives a kill or a failed test. Output of both
goes to log files (``engine_log``, ``sandbox_log``) whose tail is quoted when a process fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Self

import httpx

from engine.runtime.processes import ServiceStartError, free_port, python_module, wait_http
from tests.support.stack import ADMIN_TOKEN, ROOT, Services

START_TIMEOUT_S = 30.0
STOP_GRACE_S = 1.0
STOP_TIMEOUT_S = 5.0


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (from ``/proc``; empty when it is gone)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _kill_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _terminate(process: subprocess.Popen[bytes] | None, grace: float = STOP_GRACE_S) -> None:
    """Stop a process group: SIGTERM (graceful), then SIGINT (uvicorn's second signal: stop waiting
    for requests in flight), then SIGKILL; the leader is always reaped."""
    if process is None:
        return
    for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGINT, STOP_TIMEOUT_S)):
        if process.poll() is None:
            _kill_group(process, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(wait_s)
    _kill_group(process, signal.SIGKILL)  # stragglers of the group, even when the leader exited
    process.wait()


class ProcessStack:
    """A sandbox process and an engine process wired to each other and to ``svc``.

    Use ``async with ProcessStack(svc) as procs:`` (or :func:`process_stack`). ``engine_env`` /
    ``sandbox_env`` override or add environment variables of each process.
    """

    def __init__(
        self,
        svc: Services,
        engine_env: Mapping[str, str] | None = None,
        sandbox_env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.svc = svc
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="procstack-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.engine_port, self.sandbox_port = free_port(), free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.engine_log = self.log_dir / "engine.log"
        self.sandbox_log = self.log_dir / "sandbox.log"
        self.encryption_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        self.engine: subprocess.Popen[bytes] | None = None
        self.sandbox: subprocess.Popen[bytes] | None = None
        self.engine_starts = 0
        self.engine_env = self._engine_env(engine_env or {})
        self.sandbox_env = self._sandbox_env(sandbox_env or {})

    # --- environment ----------------------------------------------------------------------

    def _engine_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.svc.database_url,
            REDIS_URL=self.svc.redis_url,
            ENGINE_HOST="127.0.0.1",
            ENGINE_PORT=str(self.engine_port),
            ENGINE_WORKERS="1",
            ENGINE_DATA_DIR=str(self.log_dir / "data"),
            ENGINE_SANDBOX="1",
            SANDBOX_URL=self.sandbox_url,
            ENGINE_ADMIN_TOKEN=ADMIN_TOKEN,
            ENGINE_ENCRYPTION_KEY=self.encryption_key,
            GATEWAY_READ_TIMEOUT_S="3",
            GATEWAY_CONNECT_TIMEOUT_S="1",
            DB_POOL_MAX="10",
            BREAKER_THRESHOLD="1000",
            LOG_LEVEL="WARNING",
        )
        env.update(overrides)
        return env

    def _sandbox_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in {"ENGINE_ENCRYPTION_KEY", "ENGINE_ADMIN_TOKEN"}}
        env.update(
            SANDBOX_URL=self.sandbox_url,
            SANDBOX_PUBLIC_URL=self.sandbox_url,
            SANDBOX_WEBHOOK_URL=f"{self.engine_url}/v1/webhooks/{{gateway}}/{{merchant_id}}",
            SANDBOX_UPI_DELAY_S="0.3",
            SANDBOX_HANG_S="6",
            SANDBOX_WEBHOOK_RETRY_DELAYS_S="0.2,0.5",
            LOG_LEVEL="WARNING",
        )
        env.update(overrides)
        return env

    # --- processes ------------------------------------------------------------------------

    def _spawn(self, argv: list[str], env: dict[str, str], log: Path, label: str) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            out.write(f"--- {label}: {' '.join(argv[1:])}\n".encode())
            out.flush()
            return subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def _await_http(self, process: subprocess.Popen[bytes], urls: list[str], name: str, log: Path) -> None:
        try:
            for url in urls:
                await asyncio.to_thread(wait_http, url, START_TIMEOUT_S, process, name)
        except ServiceStartError as exc:
            await asyncio.to_thread(_terminate, process)
            raise ServiceStartError(f"{exc}\n--- tail of {log}:\n{log_tail(log)}") from None

    async def start_sandbox(self) -> None:
        """Start the sandbox and wait until ``/healthz`` answers."""
        argv = python_module("api.cli", "sandbox", "--host", "127.0.0.1", "--port", str(self.sandbox_port))
        self.sandbox = self._spawn(argv, self.sandbox_env, self.sandbox_log, "sandbox")
        await self._await_http(self.sandbox, [f"{self.sandbox_url}/healthz"], "sandbox", self.sandbox_log)

    async def start_engine(self) -> None:
        """Start the engine (same port, same environment every time); wait for ``/healthz`` and ``/readyz``."""
        if self.engine is not None and self.engine.poll() is None:
            raise RuntimeError(f"engine already running (pid {self.engine.pid})")
        self.engine_starts += 1
        argv = python_module("api.cli", "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(self.engine_port))
        self.engine = self._spawn(argv, self.engine_env, self.engine_log, f"engine start #{self.engine_starts}")
        urls = [f"{self.engine_url}/healthz", f"{self.engine_url}/readyz"]
        await self._await_http(self.engine, urls, "engine", self.engine_log)

    @property
    def engine_pid(self) -> int | None:
        """Pid of the running engine process (the uvicorn server itself when ENGINE_WORKERS=1)."""
        return self.engine.pid if self.engine is not None and self.engine.poll() is None else None

    async def kill_engine(self, sig: int = signal.SIGKILL, within: float = STOP_TIMEOUT_S) -> int:
        """Signal the engine's process group (SIGKILL: no graceful shutdown; SIGTERM: uvicorn's
        graceful one) and reap it; returns its exit code."""
        process = self.engine
        if process is None:
            raise RuntimeError("engine is not started")
        _kill_group(process, sig)
        return await asyncio.to_thread(process.wait, within)

    async def restart_engine(self) -> None:
        """:meth:`kill_engine`, then :meth:`start_engine` on the same port."""
        await self.kill_engine()
        await self.start_engine()

    async def start(self) -> None:
        """Start the sandbox, then the engine; on failure nothing is left running."""
        try:
            await self.start_sandbox()
            await self.start_engine()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop both processes (SIGTERM, then SIGKILL); safe to call more than once."""
        await asyncio.to_thread(_terminate, self.engine)
        await asyncio.to_thread(_terminate, self.sandbox)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def engine_log_tail(self, lines: int = 40) -> str:
        """The last lines the engine wrote (for assertion messages)."""
        return log_tail(self.engine_log, lines)

    # --- HTTP helpers ---------------------------------------------------------------------

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the engine, authenticated as a merchant when ``api_key`` is given."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        kwargs.setdefault("timeout", 30)
        return httpx.AsyncClient(base_url=self.engine_url, headers=headers, **kwargs)

    def admin_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the engine with the admin token."""
        return self.client(ADMIN_TOKEN, **kwargs)

    def sandbox_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for the sandbox (control API under ``/_sandbox``)."""
        kwargs.setdefault("timeout", 10)
        return httpx.AsyncClient(base_url=self.sandbox_url, **kwargs)

    async def new_merchant(self, name: str = "Test Pharmacy") -> tuple[str, str]:
        """Create a merchant through the admin API; returns (merchant id, api key)."""
        async with self.admin_client() as admin:
            response = await admin.post("/v1/admin/merchants", json={"name": name})
        assert response.status_code == 201, f"{response.text}\n{self.engine_log_tail()}"
        data = response.json()
        return data["merchant"]["id"], data["api_key"]

    async def add_sandbox_fault(
        self,
        gateway: str,
        fault: str,
        *,
        path_contains: str | None = None,
        count: int | None = None,
        latency_ms: int | None = None,
    ) -> dict[str, Any]:
        """Register a sandbox fault (``POST /_sandbox/faults``); returns it (with its ``id``)."""
        body: dict[str, Any] = {"gateway": gateway, "fault": fault}
        optional = {"path_contains": path_contains, "count": count, "latency_ms": latency_ms}
        body.update({k: v for k, v in optional.items() if v is not None})
        async with self.sandbox_client() as http:
            response = await http.post("/_sandbox/faults", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def sandbox_faults(self) -> list[dict[str, Any]]:
        """The sandbox's active faults (a fault with a ``count`` disappears once used up)."""
        async with self.sandbox_client() as http:
            response = await http.get("/_sandbox/faults")
        assert response.status_code == 200, response.text
        return list(response.json()["faults"])

    async def sandbox_ledger(self, **filters: str) -> list[dict[str, Any]]:
        """The sandbox's ledger of money operations (``GET /_sandbox/ledger``; filters: gateway, kind, reference)."""
        async with self.sandbox_client() as http:
            response = await http.get("/_sandbox/ledger", params=filters)
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    async def clear_sandbox_faults(self) -> int:
        """Remove every sandbox fault; returns how many there were."""
        async with self.sandbox_client() as http:
            response = await http.delete("/_sandbox/faults")
        assert response.status_code == 200, response.text
        return int(response.json()["cleared"])


@contextlib.asynccontextmanager
async def process_stack(
    svc: Services,
    engine_env: Mapping[str, str] | None = None,
    sandbox_env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> AsyncIterator[ProcessStack]:
    """A started :class:`ProcessStack`, always stopped when the block exits."""
    async with ProcessStack(svc, engine_env, sandbox_env, log_dir) as procs:
        yield procs
