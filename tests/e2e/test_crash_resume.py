"""Crash at every phase boundary: the engine is SIGKILLed with a gateway call in flight or just
after the gateway answered, restarted, and the client retries with the same Idempotency-Key.

Everything is checked against the sandbox's own ledger (a separate process that survives the
kill): exactly one order, charge, capture or refund per key, for the engine's amounts, and the
final answer equal to a crash-free run's.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio

from tests.support.procs import ProcessStack, process_stack
from tests.support.stack import Services, fresh_database
from tests.support.waiting import until

LOCK_S = 8  # the smallest IDEMPOTENCY_LOCK_TIMEOUT_S the 1 s + 3 s gateway timeouts allow
CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
# Fields a crash-free run and a resumed run must agree on (ids and times differ by nature).
SAME = ("object", "amount", "currency", "status", "capture_method", "amount_capturable", "amount_received",
        "amount_refunded", "gateway", "payment_method", "next_action", "last_error")  # fmt: skip


@pytest_asyncio.fixture(scope="module")
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """A database of this module's own: the session's engine (another master key, its own
    worker) must not take this engine's work rows, nor this one the session's."""
    async with fresh_database(svc, "engine_crash") as fresh:
        yield fresh


@pytest_asyncio.fixture(scope="module")
async def procs(own_db: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProcessStack]:
    """One sandbox and one engine process for the module (the engine is killed and restarted)."""
    env = {"IDEMPOTENCY_LOCK_TIMEOUT_S": str(LOCK_S), "SHUTDOWN_GRACE_S": "5"}
    async with process_stack(own_db, engine_env=env, log_dir=Path(tmp_path_factory.mktemp("crash"))) as stack:
        yield stack


async def crash_during(procs: ProcessStack, request: Awaitable[httpx.Response], reached: Callable) -> None:
    """Send ``request``, SIGKILL the engine once ``reached()`` holds, and start it again."""
    task = asyncio.ensure_future(request)
    try:
        await until(reached)
        assert not task.done(), task.result().text
        assert await procs.kill_engine() == -9
        with contextlib.suppress(httpx.TransportError):
            await asyncio.wait_for(task, 5)
            raise AssertionError(f"the request in flight answered {task.result().status_code}")
    finally:
        task.cancel()
    await procs.start_engine()


async def retry(http: httpx.AsyncClient, path: str, body: dict, key: str, within: float = 4 * LOCK_S) -> httpx.Response:
    """The client's retries under the same key: 409 while the dead request's lock holds."""
    async with asyncio.timeout(within):
        while True:
            response = await http.post(path, json=body, headers={"Idempotency-Key": key})
            if response.status_code != 409 or response.json()["error"]["code"] != "idempotency_key_in_use":
                return response
            await asyncio.sleep(0.25)


def fault_taken(procs: ProcessStack) -> Callable[[], Awaitable[bool]]:
    """The sandbox received the faulted request (a count-1 fault leaves the list on arrival)."""

    async def check() -> bool:
        return not await procs.sandbox_faults()

    return check


async def ledger_of(
    procs: ProcessStack, db: Services, payment_id: str, gateway: str = "razorpay"
) -> dict[str, list[int]]:
    """The sandbox's entries for a payment's attempts (our receipts and order ids) and refunds."""
    conn = await asyncpg.connect(db.database_url)
    try:
        attempts = await conn.fetch(
            "SELECT id, gateway_order_id FROM payment_attempts WHERE payment_id = $1", payment_id
        )
        refs = [r["id"] for r in attempts] + [r["gateway_order_id"] for r in attempts if r["gateway_order_id"]]
        refs += [r["id"] for r in await conn.fetch("SELECT id FROM refunds WHERE payment_id = $1", payment_id)]
    finally:
        await conn.close()
    kinds: dict[str, list[int]] = {}
    for entry in await procs.sandbox_ledger(gateway=gateway):
        if entry["reference"] in refs:
            kinds.setdefault(entry["kind"], []).append(entry["amount"])
    return kinds


async def held_on_juspay(http: httpx.AsyncClient, amount: int, key: str) -> dict[str, Any]:
    """A card payment authorized (not captured) on Juspay, created under ``key``."""
    body = create_body(amount, capture_method="manual", gateway="juspay")
    held = (await http.post("/v1/payments", json=body, headers={"Idempotency-Key": key})).json()
    assert held.get("status") == "requires_capture" and held["gateway"] == "juspay", held
    return held


async def assert_replays(http: httpx.AsyncClient, path: str, body: dict, key: str, final: httpx.Response) -> None:
    again = await http.post(path, json=body, headers={"Idempotency-Key": key})
    assert again.status_code == final.status_code and again.content == final.content
    assert again.headers.get("idempotent-replayed") == "true"


def create_body(amount: int, **extra: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": "INR", "confirm": True, "payment_method": CARD, "gateway": "razorpay",
            **extra}  # fmt: skip


def at_gateway(procs: ProcessStack, fault: str, kind: str, amount: int) -> Callable[[], Awaitable[bool]]:
    """When to kill: the faulted request arrived (``latency``: still in flight), or (``timeout``)
    the gateway did the work and its answer is held back -- the sandbox ledger shows it."""

    async def check() -> bool:
        taken = await fault_taken(procs)()
        if fault == "timeout":
            return taken and any(e["amount"] == amount for e in await procs.sandbox_ledger(kind=kind))
        return taken

    return check


BOUNDARIES = pytest.mark.parametrize("fault", ["latency", "timeout"], ids=["in-flight", "answered-not-received"])


@pytest.mark.parametrize(
    ("fault", "reached"),
    [("latency", "the charge is in flight"), ("timeout", "the gateway charged, the answer is not back")],
)
async def test_create_and_confirm_cut_by_a_crash_continues_the_same_payment(procs, http, own_db, fault, reached):
    body = create_body(41000)
    clean = await http.post("/v1/payments", json=create_body(41000), headers={"Idempotency-Key": "clean"})
    assert clean.status_code == 201 and clean.json()["status"] == "succeeded", clean.text
    await procs.add_sandbox_fault("razorpay", fault, latency_ms=2000, path_contains="/v1/payments/create", count=1)

    before = len(await procs.sandbox_ledger(kind="capture"))
    charged_or_held = at_gateway(procs, fault, "capture", 41000)
    await crash_during(procs, http.post("/v1/payments", json=body, headers={"Idempotency-Key": "k1"}), charged_or_held)
    final = await retry(http, "/v1/payments", body, "k1")
    assert final.status_code == 201, f"{final.text}\n{procs.engine_log_tail()}"
    paid = final.json()
    assert {k: paid[k] for k in SAME} == {k: clean.json()[k] for k in SAME}
    assert paid["status"] == "succeeded" and paid["amount_received"] == 41000
    listed = (await http.get("/v1/payments", params={"limit": 10})).json()["data"]
    assert len(listed) == 2, "a retry after the crash must continue the first payment, not create another"
    kinds = await ledger_of(procs, own_db, paid["id"])
    assert kinds == {"order": [41000], "charge": [41000], "capture": [41000]}, kinds
    assert len(await procs.sandbox_ledger(kind="capture")) == before + 1
    await assert_replays(http, "/v1/payments", body, "k1", final)


@BOUNDARIES
async def test_refund_cut_by_a_crash_refunds_once(procs, http, own_db, fault):
    paid = (await http.post("/v1/payments", json=create_body(30000), headers={"Idempotency-Key": "p"})).json()
    assert paid["status"] == "succeeded", paid
    body = {"payment_id": paid["id"], "amount": 12000}
    await procs.add_sandbox_fault("razorpay", fault, latency_ms=2000, path_contains="/refund", count=1)
    await crash_during(
        procs,
        http.post("/v1/refunds", json=body, headers={"Idempotency-Key": "r1"}),
        at_gateway(procs, fault, "refund", 12000),
    )
    final = await retry(http, "/v1/refunds", body, "r1")
    assert final.status_code == 200, f"{final.text}\n{procs.engine_log_tail()}"
    refund = final.json()
    assert refund["amount"] == 12000 and refund["status"] == "succeeded", refund
    kinds = await ledger_of(procs, own_db, paid["id"])
    assert kinds.get("refund") == [12000], kinds
    shown = (await http.get(f"/v1/payments/{paid['id']}")).json()
    assert shown["amount_refunded"] == 12000, shown
    await assert_replays(http, "/v1/refunds", body, "r1", final)


@BOUNDARIES
async def test_manual_capture_cut_by_a_crash_captures_once(procs, http, own_db, fault):
    held = (
        await http.post(
            "/v1/payments", json=create_body(25000, capture_method="manual"), headers={"Idempotency-Key": "h"}
        )
    ).json()
    assert held.get("status") == "requires_capture", f"{held}\n{procs.engine_log_tail()}"
    path = f"/v1/payments/{held['id']}/capture"
    await procs.add_sandbox_fault("razorpay", fault, latency_ms=2000, path_contains="/capture", count=1)
    await crash_during(
        procs, http.post(path, json={}, headers={"Idempotency-Key": "c1"}), at_gateway(procs, fault, "capture", 25000)
    )
    final = await retry(http, path, {}, "c1")
    assert final.status_code == 200, f"{final.text}\n{procs.engine_log_tail()}"
    assert final.json()["status"] == "succeeded" and final.json()["amount_received"] == 25000
    kinds = await ledger_of(procs, own_db, held["id"])
    assert kinds == {"order": [25000], "charge": [25000], "capture": [25000]}, kinds
    await assert_replays(http, path, {}, "c1", final)


async def test_a_crash_before_the_gateway_payment_existed_is_continued_by_the_retry(procs, http, own_db):
    """Killed while the order is being created: no payment ever reached the gateway. The retry
    finds the order by its receipt; while a live request could still be creating a payment the
    outcome is pending (nothing final stored), then the retry continues the same attempt on that
    order with its card -- one order, one charge, and the answer a crash-free run would give."""
    body = create_body(17000, merchant_order_id="ord-17000")
    await procs.add_sandbox_fault("razorpay", "latency", latency_ms=1000, path_contains="/v1/orders", count=1)
    await crash_during(
        procs, http.post("/v1/payments", json=body, headers={"Idempotency-Key": "o1"}), fault_taken(procs)
    )

    async def continued() -> httpx.Response | None:
        response = await retry(http, "/v1/payments", body, "o1")
        pending = response.status_code == 502 and response.json()["error"]["code"] == "charge_pending"
        return None if pending else response

    final = await until(continued, within=6 * LOCK_S)
    assert final.status_code == 201, f"{final.text}\n{procs.engine_log_tail()}"
    payment = final.json()
    assert payment["status"] == "succeeded" and payment["amount_received"] == 17000, payment
    kinds = await ledger_of(procs, own_db, payment["id"])
    assert kinds == {"order": [17000], "charge": [17000], "capture": [17000]}, kinds
    await assert_replays(http, "/v1/payments", body, "o1", final)


async def test_an_automatic_capture_cut_by_a_crash_is_finished_by_the_worker_after_restart(procs, http, own_db):
    """An automatic payment the gateway only authorized owes a capture (a work row). The engine is
    killed while the worker's capture is at the gateway; after the restart the worker takes the
    row again once the dead holder's lease ran out, asks the gateway first, and never captures
    twice."""
    held = (
        await http.post(
            "/v1/payments", json=create_body(23000, capture_method="manual"), headers={"Idempotency-Key": "a"}
        )
    ).json()
    assert held.get("status") == "requires_capture", f"{held}\n{procs.engine_log_tail()}"
    async with procs.sandbox_client() as sandbox:
        assert (await sandbox.post("/_sandbox/webhooks", json={"mode": "hold"})).status_code == 200
    try:
        await procs.add_sandbox_fault("razorpay", "latency", latency_ms=2000, path_contains="/capture", count=1)
        conn = await asyncpg.connect(own_db.database_url)
        try:
            # The sandbox captures automatic Razorpay orders itself; this payment's order did not.
            await conn.execute("UPDATE payments SET capture_method = 'automatic' WHERE id = $1", held["id"])
            await conn.execute(
                "INSERT INTO work_items (merchant_id, kind, payment_id, attempt_id, amount)"
                " SELECT merchant_id, 'capture', payment_id, id, amount FROM payment_attempts WHERE payment_id = $1",
                held["id"],
            )
        finally:
            await conn.close()
        await until(fault_taken(procs))  # the worker's capture is at the gateway
        assert await procs.kill_engine() == -9
        await procs.start_engine()

        async def captured() -> dict | None:
            shown = (await http.get(f"/v1/payments/{held['id']}")).json()
            return shown if shown["status"] == "succeeded" else None

        shown = await until(captured, within=4 * LOCK_S)
        assert shown["amount_received"] == 23000, shown
    finally:
        async with procs.sandbox_client() as sandbox:
            await sandbox.post("/_sandbox/webhooks", json={"mode": "normal"})
    kinds = await ledger_of(procs, own_db, held["id"])
    assert kinds == {"order": [23000], "charge": [23000], "capture": [23000]}, kinds


async def test_a_cancel_retried_after_the_worker_finished_its_void_answers_canceled(procs, http, own_db):
    """The first cancel died mid-void; the background worker ran the void row on once its lease
    ran out and the payment is canceled. The retry under the same key continues that cancel --
    it answers the canceled payment, it does not start over and find it "already canceled"."""
    held = await held_on_juspay(http, 22000, "j2")
    path = f"/v1/payments/{held['id']}/cancel"
    await procs.add_sandbox_fault("juspay", "latency", latency_ms=2000, path_contains="/void", count=1)
    await crash_during(procs, http.post(path, json={}, headers={"Idempotency-Key": "v2"}), fault_taken(procs))

    async def canceled() -> bool:
        return (await http.get(f"/v1/payments/{held['id']}")).json()["status"] == "canceled"

    await until(canceled, within=6 * LOCK_S)
    final = await retry(http, path, {}, "v2")
    assert final.status_code == 200, f"{final.text}\n{procs.engine_log_tail()}"
    assert final.json()["status"] == "canceled" and final.json()["amount_capturable"] == 0
    kinds = await ledger_of(procs, own_db, held["id"], "juspay")
    assert kinds == {"order": [22000], "charge": [22000], "void": [22000]}, kinds
    await assert_replays(http, path, {}, "v2", final)


async def test_sigterm_lets_a_confirm_in_flight_finish_with_its_real_answer(procs, http, own_db):
    """A deploy: SIGTERM while a charge is at the gateway. The engine stops accepting, waits up to
    SHUTDOWN_GRACE_S for the request in flight, which answers as it would have, then exits 0."""
    body = create_body(19000)
    await procs.add_sandbox_fault("razorpay", "latency", latency_ms=1500, path_contains="/v1/payments/create", count=1)
    task = asyncio.ensure_future(http.post("/v1/payments", json=body, headers={"Idempotency-Key": "t1"}))
    try:
        await until(fault_taken(procs))
        assert await procs.kill_engine(signal.SIGTERM, within=10) == 0, procs.engine_log_tail()
        answered = await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        await procs.start_engine()
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "succeeded" and answered.json()["amount_received"] == 19000
    kinds = await ledger_of(procs, own_db, answered.json()["id"])
    assert kinds == {"order": [19000], "charge": [19000], "capture": [19000]}, kinds
    await assert_replays(http, "/v1/payments", body, "t1", answered)


async def test_a_cancel_cut_by_a_crash_voids_once(procs, http, own_db):
    held = await held_on_juspay(http, 21000, "j")
    path = f"/v1/payments/{held['id']}/cancel"
    await procs.add_sandbox_fault("juspay", "latency", latency_ms=2000, path_contains="/void", count=1)
    await crash_during(procs, http.post(path, json={}, headers={"Idempotency-Key": "v1"}), fault_taken(procs))
    final = await retry(http, path, {}, "v1")
    assert final.status_code == 200, f"{final.text}\n{procs.engine_log_tail()}"
    assert final.json()["status"] == "canceled" and final.json()["amount_capturable"] == 0
    kinds = await ledger_of(procs, own_db, held["id"], "juspay")
    assert kinds == {"order": [21000], "charge": [21000], "void": [21000]}, kinds
    await assert_replays(http, path, {}, "v1", final)


@BOUNDARIES
async def test_a_partial_capture_cut_by_a_crash_captures_that_part_once(procs, http, own_db, fault):
    held = await held_on_juspay(http, 26000, "pc")
    path, body = f"/v1/payments/{held['id']}/capture", {"amount": 9000}
    await procs.add_sandbox_fault("juspay", fault, latency_ms=2000, path_contains="/capture", count=1)
    await crash_during(
        procs, http.post(path, json=body, headers={"Idempotency-Key": "pc1"}), at_gateway(procs, fault, "capture", 9000)
    )
    final = await retry(http, path, body, "pc1")
    assert final.status_code == 200, f"{final.text}\n{procs.engine_log_tail()}"
    paid = final.json()
    assert (paid["status"], paid["amount_received"], paid["amount_capturable"]) == ("succeeded", 9000, 0), paid
    kinds = await ledger_of(procs, own_db, held["id"], "juspay")
    assert kinds == {"order": [26000], "charge": [26000], "capture": [9000]}, kinds
    await assert_replays(http, path, body, "pc1", final)
