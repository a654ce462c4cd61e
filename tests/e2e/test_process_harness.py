"""The process harness: SIGKILL the engine in the middle of a gateway call, start it again.

The sandbox runs in a process of its own and keeps its records across the engine's restart;
the payment made before the crash is still readable afterwards.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.procs import ProcessStack, child_pids, process_stack
from tests.support.stack import Services, fresh_database

CARD = {
    "type": "card",
    "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
}
BODY = {"amount": 49900, "currency": "INR", "confirm": True, "payment_method": CARD}


async def _wait_until_hanging(procs: ProcessStack, svc: Services, merchant_id: str, within: float = 15.0) -> None:
    """Wait until the engine has a pending attempt for the merchant *and* the sandbox took the
    latency fault (count 1, so it leaves the fault list the moment the request arrives)."""
    conn = await asyncpg.connect(svc.database_url)
    try:
        async with asyncio.timeout(within):
            while True:
                pending = await conn.fetchval(
                    "SELECT count(*) FROM payment_attempts WHERE merchant_id = $1 AND status = 'pending'",
                    merchant_id,
                )
                if pending and not await procs.sandbox_faults():
                    return
                await asyncio.sleep(0.05)
    finally:
        await conn.close()


@pytest_asyncio.fixture
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """A database of the test's own: the engine process's worker must not take the session
    engine's work rows (they are sealed with another master key)."""
    async with fresh_database(svc, "engine_harness") as fresh:
        yield fresh


async def test_engine_killed_mid_gateway_call_restarts_with_its_data(own_db: Services, tmp_path: Path) -> None:
    svc = own_db
    started = time.monotonic()
    # A read timeout longer than the wait below: the engine must still be waiting when killed.
    async with process_stack(svc, engine_env={"GATEWAY_READ_TIMEOUT_S": "10"}, log_dir=tmp_path) as procs:
        pid = procs.engine_pid
        assert pid is not None
        assert child_pids(pid) == [], "ENGINE_WORKERS=1 must serve from the process we kill"
        merchant_id, api_key = await procs.new_merchant()
        async with procs.client(api_key) as http:
            first = await http.post("/v1/payments", json=BODY, headers={"Idempotency-Key": "proc-1"})
            assert first.status_code == 201, f"{first.text}\n{procs.engine_log_tail()}"
            paid = first.json()
            assert paid["status"] == "succeeded"
            assert paid["gateway"] == "razorpay"

            await procs.add_sandbox_fault(
                "razorpay", "latency", latency_ms=20000, path_contains="/v1/payments/create", count=1
            )
            second = asyncio.create_task(http.post("/v1/payments", json=BODY, headers={"Idempotency-Key": "proc-2"}))
            try:
                await _wait_until_hanging(procs, svc, merchant_id)
                assert not second.done()
                code = await procs.kill_engine()
                assert code == -9, f"engine exited with {code}\n{procs.engine_log_tail()}"
                try:
                    await asyncio.wait_for(second, 5)
                except httpx.TransportError:
                    pass
                else:
                    raise AssertionError(f"the request in flight answered {second.result().status_code}")
                with pytest.raises(ProcessLookupError):  # nothing of its process group survived
                    os.killpg(pid, 0)
            finally:
                second.cancel()

            await procs.start_engine()
            assert procs.engine_pid not in (None, pid)
            again = await http.get(f"/v1/payments/{paid['id']}")
            assert again.status_code == 200, f"{again.text}\n{procs.engine_log_tail()}"
            assert again.json()["status"] == "succeeded"
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
    assert procs.engine is not None and procs.engine.poll() is not None
    assert procs.sandbox is not None and procs.sandbox.poll() is not None
    assert time.monotonic() - started < 60
