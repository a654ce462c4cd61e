"""Graceful shutdown of real server processes: SIGTERM while a confirm is at the gateway.

The sandbox holds the gateway call (a latency fault) so the request is provably in flight when
the signal arrives; the sandbox ledger (another process) shows what the gateway really did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support.procs import ProcessStack, child_pids, process_stack
from tests.support.stack import Services, fresh_database

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
DRAIN_S = 3.0
LATENCY_MS = 6000  # longer than the drain: the confirm is still in flight once the listener closes
ENV = {
    "GATEWAY_READ_TIMEOUT_S": "8",
    "SHUTDOWN_GRACE_S": "12",
    "IDEMPOTENCY_LOCK_TIMEOUT_S": "20",
    "SHUTDOWN_DRAIN_S": str(DRAIN_S),
}


@pytest_asyncio.fixture(scope="module")
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """A database of this module's own (no other engine takes its work rows)."""
    async with fresh_database(svc, "engine_shutdown") as fresh:
        yield fresh


@pytest_asyncio.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
async def procs(
    request: pytest.FixtureRequest, own_db: Services, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProcessStack]:
    """A sandbox and an engine with one worker, or a uvicorn parent with two workers."""
    env = {**ENV, "ENGINE_WORKERS": str(request.param)}
    async with process_stack(own_db, engine_env=env, log_dir=Path(tmp_path_factory.mktemp("shutdown"))) as stack:
        yield stack


async def until(check: Callable[[], Awaitable[Any]], within: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy (an observable, never a fixed sleep)."""
    async with asyncio.timeout(within):
        while not (found := await check()):  # noqa: ASYNC110 - the observable lives in another process
            await asyncio.sleep(0.02)
    return found


async def readyz_status(procs: ProcessStack) -> int | None:
    """``/readyz``'s status on a new connection, or ``None`` when no connection is accepted."""
    try:
        async with httpx.AsyncClient(base_url=procs.engine_url, timeout=1) as fresh:
            return (await fresh.get("/readyz")).status_code
    except httpx.TransportError:
        return None


async def test_sigterm_during_a_confirm(procs: ProcessStack) -> None:
    """SIGTERM to the server process only (with two workers: the uvicorn parent, which must
    forward it and wait): ``/readyz`` answers 503 at once, then the listener closes, the confirm
    in flight answers its real answer, and the process exits 0 with no worker left behind."""
    await procs.clear_sandbox_faults()
    _, api_key = await procs.new_merchant()
    assert procs.engine is not None
    workers = child_pids(procs.engine.pid)
    body = {"amount": 17000, "currency": "INR", "confirm": True, "payment_method": CARD, "gateway": "razorpay"}
    await procs.add_sandbox_fault(
        "razorpay", "latency", latency_ms=LATENCY_MS, path_contains="/v1/payments/create", count=1
    )
    async with procs.client(api_key) as http:
        task = asyncio.ensure_future(http.post("/v1/payments", json=body, headers={"Idempotency-Key": "sd1"}))
        try:
            await until(lambda: _fault_taken(procs))
            signalled = time.monotonic()
            os.kill(procs.engine.pid, signal.SIGTERM)
            await until(lambda: _readyz_is(procs, 503), within=DRAIN_S)
            assert not task.done()
            # Then nothing answers a new connection (one worker: refused; several: uvicorn's
            # parent keeps the shared socket, so the connection is accepted and never served).
            await until(lambda: _readyz_is(procs, None), within=DRAIN_S + 3)
            code = await asyncio.to_thread(procs.engine.wait, 15)
            answered = await asyncio.wait_for(task, 5)
        finally:
            task.cancel()
    assert code == 0, procs.engine_log_tail()
    assert time.monotonic() - signalled >= LATENCY_MS / 1000 - 1  # it waited for the gateway
    assert answered.status_code == 201, answered.text
    shown = answered.json()
    assert shown["status"] == "succeeded" and shown["amount_received"] == 17000, shown
    # Workers (and multiprocessing's resource tracker, which exits once its parent is gone)
    # leave with the parent: none is left running.
    await until(lambda: _all_gone(workers), within=5)
    charges = [e for e in await procs.sandbox_ledger(gateway="razorpay", kind="charge") if e["amount"] == 17000]
    assert len(charges) == 1, charges
    await procs.start_engine()
    async with procs.client(api_key) as http:
        replay = await http.post("/v1/payments", json=body, headers={"Idempotency-Key": "sd1"})
    assert replay.status_code == 201 and replay.json()["id"] == shown["id"]
    assert replay.headers.get("idempotent-replayed") == "true"


async def _fault_taken(procs: ProcessStack) -> bool:
    return not await procs.sandbox_faults()


async def _readyz_is(procs: ProcessStack, expected: int | None) -> bool:
    return await readyz_status(procs) == expected


async def _all_gone(pids: list[int]) -> bool:
    return all(_gone(pid) for pid in pids)


def _gone(pid: int) -> bool:
    """The process exited (no /proc entry, or a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True
