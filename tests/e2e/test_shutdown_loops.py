"""SIGTERM while the reconciler is in a long pass: it stops after the attempt in hand, not the pass.

Eight unresolved attempts are due at once and every status check is held 500 ms at the sandbox (a
latency fault with a count: what is left of the count is how many checks reached the gateway).
The signal lands while the first check is in flight; the server exits 0 once that one is done,
with one check spent and seven attempts untouched and still due, which the next start checks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest_asyncio

from tests.support.procs import ProcessStack, process_stack
from tests.support.stack import Services, fresh_database

ATTEMPTS = 8
LATENCY_MS = 500
GHOST = "/v1/orders/order_ghoststop"
ENV = {"RECONCILE_INTERVAL_S": "0.2", "GATEWAY_READ_TIMEOUT_S": "8", "SHUTDOWN_GRACE_S": "12"}


@pytest_asyncio.fixture
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """A database of this test's own: no other engine's reconciler claims its attempts."""
    async with fresh_database(svc, "engine_loops_stop") as fresh:
        yield fresh


@pytest_asyncio.fixture
async def procs(own_db: Services, tmp_path: Path) -> AsyncIterator[ProcessStack]:
    """A sandbox and a one-worker engine that reconciles every 0.2 s."""
    async with process_stack(own_db, engine_env=ENV, log_dir=tmp_path) as stack:
        yield stack


async def ghost_attempts(procs: ProcessStack, db: asyncpg.Connection, merchant_id: str, key: str) -> list[str]:
    """``ATTEMPTS`` payments each with an unknown Razorpay attempt whose order the sandbox never
    saw (so each check stays unknown), all due now; returns the payment ids."""
    async with procs.client(key) as http:
        created = [
            (await http.post("/v1/payments", json={"amount": 5000 + i, "currency": "INR"})) for i in range(ATTEMPTS)
        ]
    ids = [r.json()["id"] for r in created]
    account = await db.fetchval(
        "SELECT id FROM gateway_accounts WHERE merchant_id = $1 AND gateway = 'razorpay'", merchant_id
    )
    await db.execute("UPDATE payments SET status = 'processing', gateway = 'razorpay' WHERE id = ANY($1)", ids)
    await db.execute(
        "INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, gateway_account_id, status, amount,"
        " method_type, gateway_order_id, next_sync_at)"
        " SELECT 'att_ghoststop' || n, id, $2, 'razorpay', $3, 'unknown', 5000, 'card',"
        " 'order_ghoststop' || n, now() FROM unnest($1::text[]) WITH ORDINALITY AS p(id, n)",
        ids,
        merchant_id,
        account,
    )
    return ids


async def checks_left(procs: ProcessStack) -> int:
    """What is left of the latency fault's count (each status check that reached the sandbox used one)."""
    [fault] = [f for f in await procs.sandbox_faults() if f.get("path_contains") == GHOST] or [{"count": 0}]
    return int(fault["count"])


async def until(check, within: float = 20.0):  # type: ignore[no-untyped-def]
    """Poll ``check`` until it returns something truthy (an observable in another process)."""
    async with asyncio.timeout(within):
        while not (found := await check()):  # noqa: ASYNC110 - the observable lives in another process
            await asyncio.sleep(0.02)
    return found


async def test_a_stop_lands_between_two_attempts_of_a_pass(procs: ProcessStack, own_db: Services) -> None:
    merchant_id, key = await procs.new_merchant()
    await procs.clear_sandbox_faults()
    await procs.add_sandbox_fault("razorpay", "latency", latency_ms=LATENCY_MS, path_contains=GHOST, count=ATTEMPTS)
    db = await asyncpg.connect(own_db.database_url)
    try:
        ids = await ghost_attempts(procs, db, merchant_id, key)
        await until(lambda: _is(checks_left(procs), ATTEMPTS - 1))  # the first check is at the gateway
        assert procs.engine is not None
        signalled = time.monotonic()
        os.kill(procs.engine.pid, signal.SIGTERM)
        code = await asyncio.to_thread(procs.engine.wait, 15)
        took = time.monotonic() - signalled
        assert code == 0, procs.engine_log_tail()
        # A whole pass would have been ATTEMPTS x LATENCY_MS; it stopped after the one in hand.
        assert took < ATTEMPTS * LATENCY_MS / 1000 / 2, took
        assert await checks_left(procs) == ATTEMPTS - 1
        rows = await db.fetch(
            "SELECT sync_count, next_sync_at <= now() AS due FROM payment_attempts WHERE payment_id = ANY($1)", ids
        )
        assert sorted(r["sync_count"] for r in rows) == [0] * (ATTEMPTS - 1) + [1]
        assert all(r["due"] for r in rows if r["sync_count"] == 0)  # never claimed: due for the next start

        await procs.start_engine()
        await until(lambda: _is(checks_left(procs), 0))
        await until(lambda: _all_checked(db, ids))
    finally:
        await db.close()


async def _is(value, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await value == expected


async def _all_checked(db: asyncpg.Connection, ids: list[str]) -> bool:
    return not await db.fetchval(
        "SELECT count(*) FROM payment_attempts WHERE payment_id = ANY($1) AND sync_count = 0", ids
    )
