"""At least once across ``kill -9``: real engine processes (tests/support/procs.py) are killed
between the commit of an event and its delivery, and in the middle of sending it; the restarted
engine delivers, with the same ``webhook-id``, verified by the official ``standardwebhooks``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import standardwebhooks

from tests.support.hook_receiver import HookReceiver
from tests.support.procs import ProcessStack, process_stack
from tests.support.servers import serve_asgi
from tests.support.stack import Services, fresh_database

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module")
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """This module's own database: no other engine's worker may take its deliveries."""
    async with fresh_database(svc, "engine_hookcrash") as fresh:
        yield fresh


@pytest_asyncio.fixture(scope="module")
async def procs(own_db: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProcessStack]:
    """A sandbox and an engine process; WEBHOOK_POLL_S is set per test before (re)starts."""
    env = {"WEBHOOK_TIMEOUT_S": "2", "WEBHOOK_RETRY_SCHEDULE": "0,0.2,0.2,0.2"}
    async with process_stack(own_db, engine_env=env, log_dir=Path(tmp_path_factory.mktemp("hookcrash"))) as stack:
        yield stack


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[HookReceiver, str]]:
    hooks = HookReceiver()
    try:
        async with serve_asgi(hooks) as url:
            yield hooks, url
            hooks.release.set()
    finally:
        hooks.release.set()


async def until(check: Callable[[], Awaitable[Any]], within: float = 30.0) -> Any:
    """Poll an observable in another process (never a fixed sleep)."""
    async with asyncio.timeout(within):
        while not (found := await check()):  # noqa: ASYNC110 - the observable lives in another process
            await asyncio.sleep(0.05)
    return found


async def _setup(procs: ProcessStack, url: str) -> tuple[httpx.AsyncClient, str]:
    _, api_key = await procs.new_merchant()
    http = procs.client(api_key)
    created = await http.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": ["payment.created"]})
    assert created.status_code == 201, created.text
    return http, created.json()["secret"]


async def _restart(procs: ProcessStack, poll_s: str) -> None:
    if procs.engine_pid is not None:
        assert await procs.kill_engine() == -9
    procs.engine_env["WEBHOOK_POLL_S"] = poll_s
    await procs.start_engine()


async def test_kill_between_commit_and_delivery_still_delivers(
    procs: ProcessStack, own_db: Services, receiver: tuple[HookReceiver, str]
) -> None:
    hooks, url = receiver
    # A poll of an hour: the loop's startup pass is over before the event exists, so the event
    # is committed and then nothing sends it until the kill.
    await _restart(procs, "3600")
    http, secret = await _setup(procs, f"{url}/between")
    async with contextlib.aclosing(http):
        payment = (await http.post("/v1/payments", json={"amount": 4321, "currency": "INR"})).json()
        db = await asyncpg.connect(own_db.database_url)
        try:
            event_id = await db.fetchval(
                "SELECT id FROM events WHERE object_id = $1 AND type = 'payment.created'", payment["id"]
            )
            assert event_id is not None
            assert await db.fetchval("SELECT count(*) FROM webhook_attempts WHERE event_id = $1", event_id) == 0
            assert await procs.kill_engine() == -9
            assert hooks.at("/between") == []
            await _restart(procs, "0.05")
            [(headers, body)] = await hooks.wait_for("/between", 1, timeout=30)
        finally:
            await db.close()
        assert headers["webhook-id"] == event_id
        event = standardwebhooks.Webhook(secret).verify(body, headers)
        assert event["data"]["object"]["id"] == payment["id"]


async def test_kill_while_sending_redelivers_with_the_same_webhook_id(
    procs: ProcessStack, receiver: tuple[HookReceiver, str]
) -> None:
    hooks, url = receiver
    await _restart(procs, "0.05")
    hooks.script[:] = [0]  # the first delivery hangs: the engine dies mid-send
    http, secret = await _setup(procs, f"{url}/during")
    async with contextlib.aclosing(http):
        await http.post("/v1/payments", json={"amount": 5432, "currency": "INR"})
        await hooks.wait_for("/during", 1, timeout=30)
        assert await procs.kill_engine() == -9
        await procs.start_engine()
        # The dead process's lease runs out (2 x WEBHOOK_TIMEOUT_S + 5 s), then it is sent again.
        got = await hooks.wait_for("/during", 2, timeout=40)
    assert got[0][0]["webhook-id"] == got[1][0]["webhook-id"]
    assert got[0][1] == got[1][1]
    standardwebhooks.Webhook(secret).verify(got[1][1], got[1][0])
