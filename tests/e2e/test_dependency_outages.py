"""PostgreSQL and Redis outages, end to end, against servers of the test's own.

The engine is a real ``payment-engine serve`` process (``ProcessStack``) pointed at a PostgreSQL
and a Redis that only this test uses (``tests/support/owned.py``), so stopping them harms no one.
What a client sees is checked on real HTTP responses; "nothing lost" is checked by reading back
every payment a client was answered 2xx for.
"""

from __future__ import annotations

import asyncio
import collections
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest_asyncio

from tests.support.owned import OwnedPostgres, OwnedRedis, owned_services
from tests.support.procs import ProcessStack
from tests.support.stack import Services

PENDING = {"charge_pending", "outcome_pending"}
CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}


@dataclass
class Outage:
    """The engine process, its own servers and a merchant's key."""

    procs: ProcessStack
    svc: Services
    pg: OwnedPostgres
    redis: OwnedRedis
    api_key: str


@pytest_asyncio.fixture
async def outage() -> AsyncIterator[Outage]:
    async with owned_services() as (svc, pg, rd):
        # The shortest lock the gateway timeouts allow (2 x (1 + 3) s): a charge the outage cut
        # before the gateway created it resumes after 2 x the lock (charging.absent_after_s).
        env = {"DB_POOL_MIN": "2", "LOG_LEVEL": "WARNING", "IDEMPOTENCY_LOCK_TIMEOUT_S": "8"}
        async with ProcessStack(svc, engine_env=env) as procs:
            _, key = await procs.new_merchant()
            yield Outage(procs, svc, pg, rd, key)


def checkout_body(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "INR", "confirm": True, "payment_method": CARD}


@dataclass
class Load:
    """Checkouts sent continuously by a few clients; every answer is kept by idempotency key."""

    http: httpx.AsyncClient
    answers: dict[str, list[httpx.Response]] = field(default_factory=dict)
    bodies: dict[str, dict[str, object]] = field(default_factory=dict)
    running: bool = True

    async def client(self) -> None:
        while self.running:
            key = secrets.token_hex(8)
            self.bodies[key] = checkout_body(1000 + len(self.bodies))
            try:
                response = await self.http.post("/v1/payments", json=self.bodies[key], headers={"Idempotency-Key": key})
            except httpx.TransportError:
                continue  # not an answer: the retry pass below finishes the key
            self.answers.setdefault(key, []).append(response)
            if response.status_code >= 500:
                await asyncio.sleep(0.05)

    def statuses(self) -> list[int]:
        return [r.status_code for rs in self.answers.values() for r in rs]

    def ok(self) -> dict[str, dict]:
        """The 2xx answer of every key that got one (a key's first 2xx)."""
        return {
            k: next(r.json() for r in rs if r.status_code < 300)
            for k, rs in self.answers.items()
            if any(r.status_code < 300 for r in rs)
        }


async def wait_for(check, timeout_s: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Poll ``check`` until true; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s}s")


async def readyz(procs: ProcessStack) -> httpx.Response:
    async with procs.client() as http:
        return await http.get("/readyz")


async def test_postgres_restarted_mid_load_answers_503_then_recovers_and_loses_nothing(outage: Outage) -> None:
    procs = outage.procs
    engine_pid = procs.engine_pid
    async with procs.client(outage.api_key, timeout=20) as http:
        load = Load(http)
        clients = [asyncio.create_task(load.client()) for _ in range(4)]
        try:
            await wait_for(lambda: _async(len(load.ok()) >= 8), 30, "checkouts before the outage")
            await asyncio.to_thread(outage.pg.stop, "fast")
            await wait_for(lambda: _async(503 in load.statuses()), 15, "a 503 during the outage")
            down = await readyz(procs)
            await asyncio.to_thread(outage.pg.start)
            # The pool reconnects on its own: no engine restart, ready again within seconds.
            took = await wait_for(lambda: _ready(procs), 15, "ready again after PostgreSQL came back")
            after = len(load.ok())
            await wait_for(lambda: _async(len(load.ok()) >= after + 8), 30, "checkouts after the outage")
        finally:
            load.running = False
            await asyncio.gather(*clients)
        assert procs.engine_pid == engine_pid, "the engine was restarted"
        assert took < 15
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "checks": {"postgres": "down", "redis": "ok"}}
        statuses = load.statuses()
        assert 500 not in statuses, f"a 500 during the outage: {procs.engine_log_tail()}"
        failures = [r for rs in load.answers.values() for r in rs if r.status_code >= 500]
        for r in failures:  # every failure is the documented 503, never a stack trace
            assert r.status_code == 503, r.text
            assert r.json()["error"]["type"] == "api_error", r.text
            assert r.json()["error"]["code"] == "service_unavailable", r.text
            assert r.headers["Retry-After"].isdigit()
            assert "Traceback" not in r.text and "asyncpg" not in r.text

        # A client retrying with the same key continues: every key ends with a 2xx.
        for key, body in load.bodies.items():
            if key in load.ok():
                continue
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                response = await http.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
                load.answers.setdefault(key, []).append(response)
                if response.status_code < 300:
                    break
                # 503: still recovering; 409: the key's lock is still held; 502 charge_pending /
                # outcome_pending: the resumed charge is being resolved -- all say "retry".
                retry = response.status_code in (409, 503) or response.json()["error"]["code"] in PENDING
                assert retry, response.text
                await asyncio.sleep(0.25)
        assert set(load.ok()) == set(load.bodies), "a retried key never completed"

        # Nothing lost: every payment a client was answered 2xx for is there, unchanged.
        ok = load.ok()
        for key, paid in ok.items():
            stored = (await http.get(f"/v1/payments/{paid['id']}")).json()
            assert stored["status"] == paid["status"] == "succeeded", (key, paid, stored)
            assert (stored["amount"], stored["gateway_reference"]) == (paid["amount"], paid["gateway_reference"])
        assert len({p["id"] for p in ok.values()}) == len(ok), "two keys answered with one payment"
    # Many requests answered 503 in well under a minute: one warning line, not one per request;
    # the background loops, failing every pass meanwhile, say so once each, without tracebacks.
    log_lines = [json.loads(x) for x in procs.engine_log.read_text().splitlines() if x.startswith("{")]
    outage_lines = [x for x in log_lines if "PostgreSQL is unreachable" in x["msg"]]
    concerns = collections.Counter(x.get("concern") for x in outage_lines)
    assert len(failures) > 1 and set(concerns.values()) == {1}, (len(failures), outage_lines)
    assert [x["logger"] for x in outage_lines].count("api.errors") == 1, outage_lines
    engine_errors = [x for x in log_lines if x["level"] == "ERROR" and x["logger"].startswith("engine.")]
    assert engine_errors == [], engine_errors


async def test_postgres_unreachable_readyz_names_it_and_requests_answer_503(outage: Outage) -> None:
    procs = outage.procs
    assert (await readyz(procs)).status_code == 200
    await asyncio.to_thread(outage.pg.stop, "immediate")
    started = time.monotonic()
    down = await readyz(procs)
    assert time.monotonic() - started < 3, "the readiness probe is bounded"
    assert down.status_code == 503
    assert down.json()["checks"] == {"postgres": "down", "redis": "ok"}
    async with procs.client(outage.api_key) as http:
        listed = await http.get("/v1/payments")
    assert listed.status_code == 503, listed.text
    assert listed.json() == {
        "error": {
            "type": "api_error",
            "code": "service_unavailable",
            "message": "A dependency of the service (postgres) is unavailable; retry shortly.",
        }
    }
    await asyncio.to_thread(outage.pg.start)
    await wait_for(lambda: _ready(procs), 15, "ready again")


async def test_redis_stopped_mid_load_fails_no_payment_and_warns_once_per_concern(outage: Outage) -> None:
    procs = outage.procs
    async with procs.client(outage.api_key, timeout=20) as http:
        load = Load(http)
        clients = [asyncio.create_task(load.client()) for _ in range(3)]
        try:
            await wait_for(lambda: _async(len(load.ok()) >= 5), 30, "checkouts before the outage")
            await asyncio.to_thread(outage.redis.stop)
            during = len(load.answers)
            await wait_for(lambda: _async(len(load.answers) >= during + 20), 60, "checkouts while Redis is down")
            down = await readyz(procs)
            await asyncio.to_thread(outage.redis.start)
            await wait_for(lambda: _ready(procs), 15, "ready again after Redis came back")
            after = len(load.answers)
            await wait_for(lambda: _async(len(load.answers) >= after + 5), 30, "checkouts after Redis came back")
        finally:
            load.running = False
            await asyncio.gather(*clients)
        assert down.json()["checks"] == {"postgres": "ok", "redis": "down"}
        assert set(load.statuses()) == {201}, [
            r.text for rs in load.answers.values() for r in rs if r.status_code != 201
        ][:3]
        for paid in load.ok().values():
            assert paid["status"] == "succeeded"
            assert (await http.get(f"/v1/payments/{paid['id']}")).json()["status"] == "succeeded"
        async with procs.admin_client() as admin:
            metrics = (await admin.get("/metrics")).text
    warnings = [json.loads(line) for line in procs.engine_log.read_text().splitlines() if "Redis unreachable" in line]
    concerns = [w["concern"] for w in warnings]
    # 20+ requests failed open in well under a minute: one line per concern, not one per request.
    assert "breaker" in concerns, procs.engine_log_tail()
    assert sorted(concerns) == sorted(set(concerns)), concerns
    assert any(w["suppressed"] == 0 for w in warnings)
    errors = [
        line
        for line in metrics.splitlines()
        if line.startswith('payment_engine_dependency_errors_total{dependency="redis"}')
    ]
    assert errors and float(errors[0].split()[-1]) >= 20


async def _async(value: bool) -> bool:
    return value


async def _ready(procs: ProcessStack) -> bool:
    try:
        return (await readyz(procs)).status_code == 200
    except httpx.TransportError:
        return False
