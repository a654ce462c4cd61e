"""Follow-up work rows and connector bugs, end to end over real HTTP against the sandbox.

- An open capture row is run to its end by the background worker: a lost answer is retried
  after asking the gateway first, so the money is captured exactly once (the sandbox's ledger).
- A connector that raises before any request left is a bug, not an unknown outcome: 500
  ``api_error``, the attempt failed as ``internal_error``, nothing at the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from engine.gateways.razorpay import connector as razorpay_connector
from engine.services import reconciler
from engine.store.uow import UnitOfWork
from engine.store.work import WorkItem
from tests.e2e.test_gateways_e2e import add_fault, card, get_payment, pay, sandbox, sandbox_reset, webhook_mode

AMOUNT = 31500
OK_CARD = card("4111111111111111")


@pytest_asyncio.fixture(autouse=True)
async def clean_sandbox(stack) -> AsyncIterator[None]:
    """No fault or webhook mode is left behind for the next test."""
    async with sandbox_reset(stack):
        yield


async def ledger(stack, kind: str, attempt_id: str) -> list[dict]:
    entries = (await sandbox(stack, "GET", f"/_sandbox/ledger?kind={kind}&reference={attempt_id}"))["entries"]
    return [e for e in entries if e["gateway"] == "razorpay"]


async def open_capture_of(stack, merchant_id: str, payment_id: str) -> WorkItem | None:
    return await stack.engine.db.work.open_for_payment(merchant_id, payment_id)


async def test_the_worker_finishes_an_automatic_capture_whose_answer_was_lost(merchant, stack, svc):
    held = (await pay(merchant, OK_CARD, "razorpay", amount=AMOUNT, capture_method="manual")).json()
    assert held["status"] == "requires_capture", held
    # An automatic payment whose gateway only authorized it: the engine owes the capture. (The
    # sandbox captures automatic Razorpay orders itself, so the payment is made automatic here.)
    conn = await asyncpg.connect(svc.database_url)
    try:
        await conn.execute("UPDATE payments SET capture_method = 'automatic' WHERE id = $1", held["id"])
        attempt_id = await conn.fetchval("SELECT id FROM payment_attempts WHERE payment_id = $1", held["id"])
        async with conn.transaction():
            await UnitOfWork(conn).work.add_capture(merchant.id, held["id"], attempt_id, AMOUNT, 0)
    finally:
        await conn.close()

    await webhook_mode(stack, "hold")  # the capture webhook would settle it first; here the worker must
    await add_fault(stack, "razorpay", "garbled", path_contains="/capture", count=1)  # captured, answer lost
    assert await reconciler.run_work_once(stack.engine) >= 1
    lost = await open_capture_of(stack, merchant.id, held["id"])
    assert lost is not None and lost.last_error and lost.run_at is not None, lost
    assert (await get_payment(merchant, held["id"]))["status"] == "requires_capture"
    assert len(await ledger(stack, "capture", attempt_id)) == 1  # the gateway did capture

    conn = await asyncpg.connect(svc.database_url)
    try:
        await conn.execute("UPDATE work_items SET run_at = now() WHERE id = $1", lost.id)  # its retry is due
    finally:
        await conn.close()
    assert await reconciler.run_work_once(stack.engine) >= 1
    shown = await get_payment(merchant, held["id"])
    assert shown["status"] == "succeeded" and shown["amount_received"] == AMOUNT, shown
    assert await open_capture_of(stack, merchant.id, held["id"]) is None
    assert len(await ledger(stack, "capture", attempt_id)) == 1, "asked first: never captured twice"


async def test_a_connector_bug_before_sending_is_a_500_and_a_failed_attempt(merchant, stack, monkeypatch):

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError("a builder bug")

    monkeypatch.setattr(razorpay_connector.tf, "build_payment", broken)
    response = await pay(merchant, OK_CARD, "razorpay", amount=AMOUNT + 7)
    assert response.status_code == 500, response.text
    error = response.json()["error"]
    assert error["type"] == "api_error" and error["code"] == "internal_error", error
    assert "KeyError" not in response.text and "builder" not in response.text
    listed = (await merchant.http.get("/v1/payments")).json()["data"]
    assert len(listed) == 1
    payment = listed[0]
    assert payment["status"] == "requires_payment_method", payment
    assert payment["last_error"]["code"] == "internal_error", payment
    entries = (await sandbox(stack, "GET", "/_sandbox/ledger?gateway=razorpay"))["entries"]
    assert all(e["amount"] != AMOUNT + 7 for e in entries), "nothing may reach the gateway"
    monkeypatch.undo()
    again = await merchant.http.post(f"/v1/payments/{payment['id']}/confirm", json={"payment_method": OK_CARD})
    assert again.status_code == 200 and again.json()["status"] == "succeeded", again.text


async def test_a_connector_error_after_a_request_left_stays_unknown(merchant, stack, monkeypatch):
    real = razorpay_connector.tf.map_payment_created

    def broken_after_answer(*args: object, **kwargs: object) -> object:
        raise KeyError("a mapping bug")

    monkeypatch.setattr(razorpay_connector.tf, "map_payment_created", broken_after_answer)
    await webhook_mode(stack, "hold")  # the gateway's webhook would tell the outcome at once
    response = await pay(merchant, OK_CARD, "razorpay", amount=AMOUNT + 1)
    monkeypatch.setattr(razorpay_connector.tf, "map_payment_created", real)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "processing", "money may have moved: unknown, never failed"


async def test_a_customer_registration_the_gateway_refused_is_finished_by_the_worker(merchant, stack):
    await add_fault(stack, "juspay", "http_500", path_contains="/customers")  # Juspay is down
    created = await merchant.http.post("/v1/customers", json={"email": "ravi@example.com", "name": "Ravi"})
    assert created.status_code == 201, created.text  # an outage never blocks creating customers
    customer = created.json()
    pool = stack.engine.pool
    row = await pool.fetchrow(
        "SELECT state, tries, run_at FROM work_items WHERE customer_id = $1 AND kind = 'register_customer'",
        customer["id"],
    )
    assert row["state"] == "pending" and row["run_at"] is not None, dict(row)
    # Reading the customer neither writes nor calls a gateway.
    shown = await merchant.http.get(f"/v1/customers/{customer['id']}")
    assert shown.status_code == 200
    after_read = await pool.fetchrow("SELECT tries, run_at FROM work_items WHERE customer_id = $1", customer["id"])
    assert dict(after_read) == {"tries": row["tries"], "run_at": row["run_at"]}

    await sandbox(stack, "DELETE", "/_sandbox/faults")
    await pool.execute("UPDATE work_items SET run_at = now() WHERE customer_id = $1", customer["id"])  # retry due
    assert await reconciler.run_work_once(stack.engine) >= 1
    refs = await pool.fetchval("SELECT gateway_refs FROM customers WHERE id = $1", customer["id"])
    assert set(refs) == {"juspay"} and refs["juspay"].startswith("cst_"), refs
    state = await pool.fetchval("SELECT state FROM work_items WHERE customer_id = $1", customer["id"])
    assert state == "done"


async def test_the_worker_finishes_a_void_whose_answer_was_lost(merchant, stack, svc):
    held = (await pay(merchant, OK_CARD, "juspay", amount=AMOUNT, capture_method="manual")).json()
    assert held["status"] == "requires_capture" and held["gateway"] == "juspay", held
    # Voided at the gateway, but neither the void's answer nor the status check after it arrives.
    await add_fault(stack, "juspay", "garbled", path_contains="/void", count=1)
    await add_fault(stack, "juspay", "garbled", path_contains="/orders/", method="GET", count=1)
    pending = await merchant.http.post(f"/v1/payments/{held['id']}/cancel", json={})
    assert pending.status_code == 502 and pending.json()["error"]["code"] == "void_pending", pending.text
    row = await open_capture_of(stack, merchant.id, held["id"])
    assert row is not None and row.kind == "void" and row.run_at is not None, row
    assert (await get_payment(merchant, held["id"]))["status"] == "requires_capture"
    # A capture now would race the void the gateway may have done: refused.
    racing = await merchant.http.post(f"/v1/payments/{held['id']}/capture", json={})
    assert racing.status_code == 409, racing.text

    conn = await asyncpg.connect(svc.database_url)
    try:  # the client never retries; the row's retry is due
        await conn.execute("UPDATE work_items SET run_at = now() WHERE id = $1", row.id)
    finally:
        await conn.close()
    assert await reconciler.run_work_once(stack.engine) >= 1
    shown = await get_payment(merchant, held["id"])
    assert shown["status"] == "canceled" and shown["amount_capturable"] == 0, shown
    assert await open_capture_of(stack, merchant.id, held["id"]) is None
