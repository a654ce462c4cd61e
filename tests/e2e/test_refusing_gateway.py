"""A gateway that refuses connections: the breaker opens, routing fails over, nothing is charged
twice, and checkouts on the healthy gateways cost their own latency.

The merchant's Razorpay account points at a loopback port that refuses every connection
(``tests/support/accounts.py``; no API moves an account). A refused connection proves the
request never left (``NOT_SENT``), so each of the first ``THRESHOLD`` checkouts fails over to
Paytm at once; then the breaker is open (its key in Redis) and routing skips Razorpay without
trying it. The sandbox's own ledger must show exactly one charge per payment and nothing at all
on Razorpay. Real processes, wall-clock latency of real requests, measured sequentially.
"""

from __future__ import annotations

import asyncpg
from redis.asyncio import Redis

from tests.support.accounts import refusing_address, repoint_account
from tests.support.latency import MARGIN_S, checkout, healthy_checkouts
from tests.support.owned import owned_services
from tests.support.procs import ProcessStack

THRESHOLD = 3
SAMPLES = 100
ORDER = ["razorpay", "paytm", "payu", "juspay"]


async def attempts_by_payment(database_url: str, merchant_id: str) -> dict[str, list[asyncpg.Record]]:
    """Every attempt of the merchant's payments, oldest first, by payment id."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT payment_id, id, gateway, gateway_order_id, status FROM payment_attempts"
            " WHERE merchant_id = $1 ORDER BY created_at, id",
            merchant_id,
        )
    finally:
        await conn.close()
    found: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        found.setdefault(row["payment_id"], []).append(row)
    return found


def metric(text: str, prefix: str) -> float:
    """The value of the one sample line starting with ``prefix`` (0 when absent)."""
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) <= 1, lines
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


async def test_a_refusing_gateway_opens_the_breaker_fails_over_and_charges_once() -> None:
    env = {
        "BREAKER_THRESHOLD": str(THRESHOLD),
        "BREAKER_WINDOW_S": "300",
        "BREAKER_COOLDOWN_S": "300",
        "RECONCILE_INTERVAL_S": "0",
    }
    with refusing_address() as refused:
        async with owned_services() as (svc, _, _), ProcessStack(svc, engine_env=env) as procs:
            merchant_id, key = await procs.new_merchant()
            await repoint_account(
                svc.database_url, procs.encryption_key, merchant_id, "razorpay", f"{refused}/razorpay"
            )
            redis = Redis.from_url(svc.redis_url)
            async with procs.client(key, timeout=30) as http:
                assert (await http.put("/v1/merchant/routing", json={"gateways": ORDER})).status_code == 200
                await checkout(http, gateway="paytm")  # warm-up: connections, prepared statements
                baseline = await healthy_checkouts(http, SAMPLES, gateway="paytm")

                failed_over, failover_s = [], []
                for _ in range(THRESHOLD):
                    assert not await redis.exists("cb:open:razorpay"), "the breaker opened early"
                    took, response = await checkout(http)
                    assert response.status_code == 201, response.text
                    paid = response.json()
                    assert paid["status"] == "succeeded" and paid["gateway"] == "paytm", paid
                    [hop] = paid["routing"]["failovers"]
                    assert (hop["from"], hop["to"], hop["reason"]) == ("razorpay", "paytm", "order_not_sent"), hop
                    failed_over.append(paid)
                    failover_s.append(took)
                # The refusals opened Razorpay's breaker, exactly at the threshold.
                assert await redis.exists("cb:open:razorpay")
                after = await healthy_checkouts(http, SAMPLES, avoid="razorpay")
            async with procs.client() as http:
                metrics = (await http.get("/metrics")).text
            await redis.aclose()
            attempts = await attempts_by_payment(svc.database_url, merchant_id)
            ledger = await procs.sandbox_ledger()

    for paid in after.payments:
        assert paid["routing"]["skipped"] == [{"gateway": "razorpay", "reason": "circuit_open"}], paid["routing"]
        assert paid["routing"]["failovers"] == [], paid["routing"]
    # Razorpay was tried THRESHOLD times, each refused before a byte left; never again after.
    refusals = 'payment_engine_gateway_calls_total{gateway="razorpay",operation="authorize",outcome="retryable"}'
    assert metric(metrics, refusals) == THRESHOLD, metrics
    assert [e for e in ledger if e["gateway"] == "razorpay"] == []
    for paid in failed_over:
        gateways = [(a["gateway"], a["status"]) for a in attempts[paid["id"]]]
        assert gateways == [("razorpay", "failed"), ("paytm", "captured")], gateways
    # No payment charged twice, none charged without a payment: one charge and one capture of
    # the payment's amount per payment, on the sandbox's own ledger.
    charged: dict[str, list[tuple[str, int]]] = {}
    owner = {
        ref: pid for pid, rows in attempts.items() for r in rows for ref in (r["id"], r["gateway_order_id"]) if ref
    }
    for entry in ledger:
        if entry["kind"] in ("charge", "capture"):
            assert entry["reference"] in owner, entry
            charged.setdefault(owner[entry["reference"]], []).append((entry["kind"], entry["amount"]))
    assert len(attempts) == 1 + 2 * SAMPLES + THRESHOLD  # the warm-up, both series, the failovers
    assert set(charged) == set(attempts)
    assert all(sorted(kinds) == [("capture", 1500), ("charge", 1500)] for kinds in charged.values()), charged

    figures = (
        f"paytm named: {baseline}; routed past the open breaker: {after}; "
        f"refused, then failed over: {[round(s * 1000) for s in failover_s]}ms"
    )
    print(f"\nrefusing gateway: {figures}")
    assert after.p99 <= baseline.p99 + MARGIN_S, figures
    # A refusal is known at once: even the checkouts that met it cost little more than Paytm's own.
    assert max(failover_s) <= baseline.p99 + MARGIN_S, figures
