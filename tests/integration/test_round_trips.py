"""Database round trips per operation, counted with asyncpg's query logger.

Every statement is a round trip to PostgreSQL (BEGIN and COMMIT included). The budget is the
design's (issue 8: one locking read and one write per phase); a change that adds statements to
the hot path fails here rather than in a benchmark weeks later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from api.app import create_app
from api.middleware import RequestIdMiddleware
from engine.store import db
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import ADMIN_TOKEN, Services, engine_settings

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}


class Statements:
    """Every statement the engine's pool sends, and every Redis command, in order."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.redis: list[str] = []

    def __call__(self, record: object) -> None:
        self.queries.append(" ".join(str(getattr(record, "query", "")).split())[:90])

    def watch_redis(self, client: Any) -> None:
        """Count the commands ``client`` sends (the breaker and caches share it)."""
        send = client.execute_command

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.redis.append(str(args[0]))
            return await send(*args, **kwargs)

        client.execute_command = counted


@pytest_asyncio.fixture(scope="module")
async def counted(svc: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Statements]]:
    """An engine (reconciler off) whose every pooled connection reports its statements."""
    statements = Statements()
    db.QUERY_LOGGERS.append(statements)
    api_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = create_sandbox(
        SandboxSettings(public_url=sandbox_url, webhook_url="http://127.0.0.1:9/{gateway}/{merchant_id}")
    )
    app = create_app(engine_settings(svc, port=api_port, sandbox_url=sandbox_url, reconcile_interval=0.0))
    try:
        async with serve_asgi(sandbox, sandbox_port), serve_asgi(RequestIdMiddleware(app), api_port) as url:
            statements.watch_redis(app.state.engine.cache.client)
            async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
                created = (await admin.post("/v1/admin/merchants", json={"name": "Counted"})).json()
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {created['api_key']}"}, timeout=30
            ) as http:
                # Warm the per-process caches (API key, gateway accounts) the way traffic does.
                warm = {"amount": 100, "currency": "INR", "confirm": True, "payment_method": CARD}
                assert (await http.post("/v1/payments", json=warm)).json()["status"] == "succeeded"
                yield http, statements
    finally:
        db.QUERY_LOGGERS.remove(statements)


async def count(statements: Statements, call) -> tuple[object, list[str], list[str]]:  # type: ignore[no-untyped-def]
    before, redis_before = len(statements.queries), len(statements.redis)
    response = await call
    return response, statements.queries[before:], statements.redis[redis_before:]


async def test_create_is_one_statement(counted):
    http, statements = counted
    response, sent, redis = await count(
        statements,
        http.post("/v1/payments", json={"amount": 5000, "currency": "INR"}, headers={"Idempotency-Key": "c"}),
    )
    assert response.status_code == 201, response.text
    assert len(sent) == 1, sent
    assert redis == [], redis


async def test_confirm_round_trips(counted):
    http, statements = counted
    payment = (await http.post("/v1/payments", json={"amount": 5000, "currency": "INR", "gateway": "razorpay"})).json()
    response, sent, redis = await count(
        statements,
        http.post(
            f"/v1/payments/{payment['id']}/confirm", json={"payment_method": CARD}, headers={"Idempotency-Key": "k"}
        ),
    )
    assert response.status_code == 200 and response.json()["status"] == "succeeded", response.text
    # read the payment with the key's row (none yet); claim the key as the attempt starts; record
    # the gateway order (a recovery point); write the settlement with the key's response (guarded
    # by the versions this request wrote, so it needs no read first).
    assert len(sent) <= 4, sent
    # Every routed gateway's breaker in one MGET; a healthy answer from a clean breaker costs none.
    assert redis == ["MGET"], redis
