"""SIGTERM to a server with two worker processes: every worker drains and exits 0, not just the parent.

uvicorn's parent forwards SIGTERM to each worker and waits; a worker that drained but then died of
the re-raised signal (-15) would look, to the parent and to an orchestrator, like one killed
mid-request. The workers' exit statuses are the ones the parent reaped (``waitpid``): it logs each
(``worker <pid> exited with status <n>``) and exits 1 if any is not 0, so the test checks both the
parent's status and one line per worker pid it saw (psutil) before the signal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
import pytest_asyncio

from tests.support.procs import ProcessStack, process_stack
from tests.support.stack import Services, fresh_database

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
LATENCY_MS = 3000
ENV = {
    "ENGINE_WORKERS": "2",
    "LOG_LEVEL": "INFO",  # the parent's per-worker exit line is an INFO one when the status is 0
    "GATEWAY_READ_TIMEOUT_S": "8",
    "SHUTDOWN_GRACE_S": "12",
    "IDEMPOTENCY_LOCK_TIMEOUT_S": "20",
}


@pytest_asyncio.fixture(scope="module")
async def procs(svc: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProcessStack]:
    """A sandbox and a two-worker engine on a database of their own."""
    async with fresh_database(svc, "engine_workers_stop") as own:
        log_dir = Path(tmp_path_factory.mktemp("workers-stop"))
        async with process_stack(own, engine_env=ENV, log_dir=log_dir) as stack:
            yield stack


def server_workers(parent: int) -> list[int]:
    """The uvicorn worker processes of ``parent`` (its spawned children, not the resource tracker)."""
    found = []
    for child in psutil.Process(parent).children():
        cmdline = " ".join(child.cmdline())
        if "multiprocessing.spawn" in cmdline and "resource_tracker" not in cmdline:
            found.append(child.pid)
    return found


def reported_exits(log: Path, since: int) -> dict[int, int | None]:
    """``worker <pid> exited with status <n>`` lines the parent wrote after byte ``since`` of its log."""
    exits: dict[int, int | None] = {}
    with log.open("rb") as f:
        f.seek(since)
        for raw in f:
            try:
                message = str(json.loads(raw).get("msg", ""))
            except ValueError:
                continue
            words = message.split()
            if words[:1] == ["worker"] and words[2:5] == ["exited", "with", "status"]:
                exits[int(words[1])] = None if words[5] == "None" else int(words[5])
    return exits


@pytest.mark.parametrize("target", ["parent", "process-group"])
async def test_every_worker_drains_and_exits_zero(procs: ProcessStack, target: str) -> None:
    """SIGTERM to the parent only (it forwards one to each worker), or to the whole process group
    (each worker gets its own on top of the forwarded one): the confirm held at the gateway gets
    its real answer, each worker finishes its graceful stop and exits 0, the parent exits 0."""
    if procs.engine_pid is None:
        await procs.start_engine()
    assert procs.engine is not None
    parent = procs.engine.pid
    workers = server_workers(parent)
    assert len(workers) == 2, workers
    log_start = procs.engine_log.stat().st_size
    await procs.clear_sandbox_faults()
    _, api_key = await procs.new_merchant()
    await procs.add_sandbox_fault(
        "razorpay", "latency", latency_ms=LATENCY_MS, path_contains="/v1/payments/create", count=1
    )
    body = {"amount": 17100, "currency": "INR", "confirm": True, "payment_method": CARD, "gateway": "razorpay"}
    async with procs.client(api_key) as http:
        task = asyncio.ensure_future(http.post("/v1/payments", json=body, headers={"Idempotency-Key": target}))
        try:
            async with asyncio.timeout(20):
                # The fault is used up: the confirm is at the gateway (an observable of another process).
                while await procs.sandbox_faults():  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            if target == "parent":
                os.kill(parent, signal.SIGTERM)
            else:
                os.killpg(parent, signal.SIGTERM)
            code = await asyncio.to_thread(procs.engine.wait, 20)
            answered = await asyncio.wait_for(task, 5)
        finally:
            task.cancel()
    tail = procs.engine_log_tail(60)
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "succeeded", answered.text
    assert reported_exits(procs.engine_log, log_start) == dict.fromkeys(workers, 0), tail
    assert code == 0, tail
