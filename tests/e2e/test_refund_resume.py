"""A refund request that died after recording its refund but before the gateway got it: the
retry under the same key takes the key over, asks the gateway, learns it has no such refund, and
sends it -- once, under the same id -- so the client gets the refund a crash-free run would have
given (never "failed" for a refund nobody tried, never a second refund)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from engine.services import refunds as refunds_service
from tests.e2e.test_gateways_e2e import card, pay, sandbox, sandbox_reset

AMOUNT = 27000
GATEWAYS = ["paytm", "payu", "juspay"]  # Razorpay's status call re-sends by itself (test_crash_resume)


class ProcessDied(Exception):
    """Stands for the process dying between the refund's commit and the gateway call."""


@pytest_asyncio.fixture(autouse=True)
async def clean_sandbox(stack) -> AsyncIterator[None]:
    async with sandbox_reset(stack):
        await sandbox(stack, "DELETE", "/_sandbox/ledger")
        yield


async def refunds_at(stack, gateway: str) -> list[dict]:
    entries = (await sandbox(stack, "GET", "/_sandbox/ledger?kind=refund"))["entries"]
    return [e for e in entries if e["gateway"] == gateway]


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_a_refund_cut_before_the_gateway_got_it_is_sent_once_by_the_retry(
    merchant, stack, svc, monkeypatch, gateway
):
    paid = (await pay(merchant, card("4111111111111111"), gateway, amount=AMOUNT)).json()
    assert paid["status"] == "succeeded", paid
    body = {"payment_id": paid["id"], "amount": AMOUNT}
    real_call = refunds_service.call_connector

    async def dies_before_sending(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        if fn.__name__ == "refund":
            raise ProcessDied
        return await real_call(fn, *args, **kwargs)

    monkeypatch.setattr(refunds_service, "call_connector", dies_before_sending)
    cut = await merchant.http.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r-cut"})
    assert cut.status_code == 500, cut.text
    monkeypatch.undo()
    assert await refunds_at(stack, gateway) == []  # nothing reached the gateway

    conn = await asyncpg.connect(svc.database_url)
    try:  # the dead request's lock has run out
        point = await conn.fetchval(
            "UPDATE idempotency_keys SET locked_at = now() - interval '1 hour'"
            " WHERE merchant_id = $1 AND key = 'r-cut' RETURNING recovery_point",
            merchant.id,
        )
    finally:
        await conn.close()
    assert point == "refund_created"

    retried = await merchant.http.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r-cut"})
    assert retried.status_code == 200, retried.text
    refund = retried.json()
    assert refund["status"] in ("pending", "succeeded") and refund["amount"] == AMOUNT, refund
    assert [e["amount"] for e in await refunds_at(stack, gateway)] == [AMOUNT]
    replay = await merchant.http.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r-cut"})
    assert replay.content == retried.content and replay.headers.get("idempotent-replayed") == "true"
    assert [e["amount"] for e in await refunds_at(stack, gateway)] == [AMOUNT]
