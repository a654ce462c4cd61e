"""The reconciler settles unknown attempts exactly once, even with several running at once."""

from __future__ import annotations

import asyncio

import msgspec

from engine.bootstrap import Engine
from engine.services.reconciler import reconcile_once

DROP_CARD = {"type": "card", "card": {"number": "4000000000000259", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}


async def test_concurrent_reconcilers_settle_each_unknown_attempt_once(stack):
    _, key = await stack.new_merchant()
    async with stack.client(key) as http:
        responses = await asyncio.gather(
            *[
                http.post(
                    "/v1/payments",
                    json={"amount": 10000 + i, "currency": "INR", "confirm": True, "payment_method": DROP_CARD},
                )
                for i in range(8)
            ]
        )
    ids = [r.json()["id"] for r in responses]
    assert all(r.json()["status"] == "processing" for r in responses)
    pool = stack.engine.pool
    await pool.execute("UPDATE payment_attempts SET next_sync_at = now() WHERE payment_id = ANY($1)", ids)

    # Three more "processes": engines of their own, with their own pools, racing the stack's.
    others = [await Engine.start(stack.engine.settings) for _ in range(3)]
    try:
        await asyncio.gather(*(reconcile_once(e, limit=3) for e in [stack.engine, *others] for _ in range(3)))
        # On a loaded machine a status call can time out (the attempt stays unknown, correctly);
        # keep reconciling, all engines at once, until every attempt is settled.
        deadline = asyncio.get_running_loop().time() + 20
        while await pool.fetchval(
            "SELECT count(*) FROM payment_attempts WHERE payment_id = ANY($1) AND status <> 'captured'", ids
        ):
            assert asyncio.get_running_loop().time() < deadline
            await pool.execute(
                "UPDATE payment_attempts SET next_sync_at = now() WHERE payment_id = ANY($1) AND status <> 'captured'",
                ids,
            )
            await asyncio.gather(*(reconcile_once(e, limit=3) for e in [stack.engine, *others]))
    finally:
        for engine in others:
            await engine.close()

    rows = await pool.fetch(
        "SELECT p.status, a.id, a.status AS attempt_status, a.sync_count FROM payments p "
        "JOIN payment_attempts a ON a.payment_id = p.id WHERE p.id = ANY($1)",
        ids,
    )
    assert {r["status"] for r in rows} == {"succeeded"}
    assert {r["attempt_status"] for r in rows} == {"captured"}
    assert all(r["sync_count"] >= 1 for r in rows), [r["sync_count"] for r in rows]
    events = await pool.fetch(
        "SELECT object_id, count(*) AS n FROM events WHERE type = 'attempt.captured' AND object_id = ANY($1) "
        "GROUP BY object_id",
        [r["id"] for r in rows],
    )
    assert len(events) == len(rows) and all(e["n"] == 1 for e in events)
    succeeded = await pool.fetch(
        "SELECT object_id, count(*) AS n FROM events WHERE type = 'payment.succeeded' AND object_id = ANY($1) "
        "GROUP BY object_id",
        ids,
    )
    assert all(e["n"] == 1 for e in succeeded) and len(succeeded) == len(ids)


async def test_an_attempt_the_gateway_never_resolves_stays_unresolved_not_failed(stack):
    merchant_id, key = await stack.new_merchant()
    async with stack.client(key) as http:
        payment = (await http.post("/v1/payments", json={"amount": 5000, "currency": "INR"})).json()
    pool = stack.engine.pool
    account = await pool.fetchval("SELECT id FROM gateway_accounts WHERE merchant_id = $1", merchant_id)
    await pool.execute("UPDATE payments SET status = 'processing', gateway = 'razorpay' WHERE id = $1", payment["id"])
    await pool.execute(
        "INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, gateway_account_id, status, amount,"
        " method_type, gateway_order_id, next_sync_at) VALUES ('att_ghost' || $3, $1, $2, 'razorpay', $4, 'unknown',"
        " 5000, 'card', 'order_ghost000000001', now())",
        payment["id"],
        merchant_id,
        merchant_id[-6:],
        account,
    )
    for _ in range(3):
        await reconcile_once(stack.engine, backoff_s=(0.0, 0.0))
        await pool.execute(
            "UPDATE payment_attempts SET next_sync_at = now() WHERE payment_id = $1 AND next_sync_at IS NOT NULL",
            payment["id"],
        )
    row = await pool.fetchrow(
        "SELECT status, sync_count, next_sync_at FROM payment_attempts WHERE payment_id = $1", payment["id"]
    )
    # The session stack's own reconciler loop may also have claimed the row once while it was due.
    assert row["status"] == "unknown" and row["next_sync_at"] is None and row["sync_count"] in (3, 4)
    async with stack.client(key) as http:
        shown = (await http.get(f"/v1/payments/{payment['id']}")).json()
    assert shown["status"] == "processing"
    assert msgspec.json.decode(msgspec.json.encode(shown))["last_error"] is None
