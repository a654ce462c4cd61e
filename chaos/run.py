"""One chaos run end to end: real processes, the seeded workload and faults, settling, the checks.

The engine and the sandbox are separate OS processes (``tests.support.procs.ProcessStack``),
pointed at a PostgreSQL and a Redis of the run's own (``tests.support.owned``) so stopping them
harms no one. After the workload the faults end, the run *settles* -- reconciliation is made due
at once for everything still open (attempts, refunds, work rows: ``next_sync_at``/``run_at`` set
to now, as an operator's "reconcile now" would) and every open payment gets ``POST .../sync``
until nothing is open or ``settle_s`` passes -- and then the checks read the clients' journal,
the engine's rows and the sandbox's ledger (``chaos.checks``) and scan for card data
(``chaos.scan``).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from chaos.checks import CHECKS, OPEN_ATTEMPT, OPEN_PAYMENT, OPEN_REFUND, Snapshot, run_checks
from chaos.client import ChaosClient, Journal
from chaos.driver import Driver
from chaos.plan import CARD_NUMBERS, Plan, make_plan
from chaos.scan import scan_files, scan_redis
from chaos.workload import Workload
from tests.support.owned import owned_services
from tests.support.procs import ProcessStack, process_stack

ENGINE_ENV = {
    "IDEMPOTENCY_LOCK_TIMEOUT_S": "8",  # the least the 1 s + 3 s gateway timeouts allow
    "RECONCILE_INTERVAL_S": "1",
    "LOG_LEVEL": "INFO",  # the logs are scanned for card data: let them say a lot
    "DB_POOL_MAX": "20",
}
# An OTP page nobody answers fails after 30 s (a resumed confirm cannot give its URL back).
SANDBOX_ENV = {"SANDBOX_WEBHOOK_RETRY_DELAYS_S": "0.3,1,2", "SANDBOX_HANG_S": "6", "SANDBOX_AUTH_EXPIRE_S": "30"}


@dataclass
class Options:
    """The size of a run (the defaults are ``make chaos``'s)."""

    seed: int = 1
    checkouts: int = 1000
    kills: int = 10
    postgres_restarts: int = 1
    redis_outages: int = 1
    sandbox_faults: int = 18
    outage_s: float = 4.0
    concurrency: int = 12
    settle_s: float = 90.0
    log_dir: Path | None = None
    verbose: bool = False
    workers: int = 1  # ENGINE_WORKERS of the engine process (a kill takes the whole group)

    def replay_args(self) -> str:
        """The command-line arguments that replay this run."""
        return (
            f"--seed {self.seed} --checkouts {self.checkouts} --kills {self.kills} "
            f"--postgres-restarts {self.postgres_restarts} --redis-outages {self.redis_outages} "
            f"--sandbox-faults {self.sandbox_faults} --outage-s {self.outage_s:g} --concurrency {self.concurrency}"
            + (f" --workers {self.workers}" if self.workers != 1 else "")
        )


@dataclass
class Result:
    """What a run did and found."""

    options: Options
    plan: Plan
    journal: Journal
    injected: dict[str, int]
    violations: dict[str, list[str]]
    outcomes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    log_dir: Path | None = None
    fault_log: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check found anything."""
        return not any(self.violations.values())

    def summary(self) -> str:
        """The one summary line."""
        i, j, o = self.injected, self.journal, self.outcomes
        counts = ", ".join(f"{len(self.violations.get(name, []))} {name}" for name in CHECKS)
        return (
            f"chaos: seed {self.options.seed}, {len(self.plan.checkouts)} checkouts, {i.get('kill', 0)} kills, "
            f"{i.get('postgres', 0)} postgres restarts, {i.get('redis', 0)} redis outages, "
            f"{i.get('sandbox', 0) + i.get('webhooks', 0)} sandbox faults; client 5xx {j.client_5xx}, "
            f"no answer {j.no_answer}; {o.get('succeeded', 0)} succeeded, {o.get('declined', 0)} declined, "
            f"{o.get('refunds', 0)} refunds; {counts} ({self.seconds:.0f} s)"
        )


async def settle(
    procs: ProcessStack, conn: asyncpg.Connection, merchant_id: str, api_key: str, within_s: float
) -> None:
    """Reconcile until nothing is open (or ``within_s`` passes)."""
    deadline = time.monotonic() + within_s
    async with procs.client(api_key, timeout=15) as http:
        while time.monotonic() < deadline:
            await conn.execute(
                "UPDATE payment_attempts SET next_sync_at = now() WHERE merchant_id = $1 AND status = ANY($2)",
                merchant_id, list(OPEN_ATTEMPT),
            )  # fmt: skip
            await conn.execute(
                "UPDATE refunds SET next_sync_at = now() WHERE merchant_id = $1 AND status = ANY($2)",
                merchant_id, list(OPEN_REFUND),
            )  # fmt: skip
            await conn.execute(
                "UPDATE work_items SET run_at = now() WHERE merchant_id = $1 AND state = 'pending'", merchant_id
            )
            open_ids = [r["id"] for r in await conn.fetch(
                "SELECT id FROM payments WHERE merchant_id = $1 AND status = ANY($2)", merchant_id, list(OPEN_PAYMENT)
            )]  # fmt: skip
            if not open_ids and not await _anything_open(conn, merchant_id):
                return
            for payment_id in open_ids:
                try:
                    await http.post(f"/v1/payments/{payment_id}/sync")
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(1.0)


async def _anything_open(conn: asyncpg.Connection, merchant_id: str) -> bool:
    sql = (
        "SELECT EXISTS (SELECT 1 FROM payment_attempts WHERE merchant_id = $1 AND status = ANY($2))"
        " OR EXISTS (SELECT 1 FROM refunds WHERE merchant_id = $1 AND status = ANY($3))"
        " OR EXISTS (SELECT 1 FROM work_items WHERE merchant_id = $1 AND state = 'pending')"
    )
    return bool(await conn.fetchval(sql, merchant_id, list(OPEN_ATTEMPT), list(OPEN_REFUND)))


async def gather_rows(conn: asyncpg.Connection, merchant_id: str) -> dict[str, list[dict[str, Any]]]:
    """The engine's rows the checks need."""
    queries = {
        "payments": "SELECT id, amount, status, amount_received, amount_refunded, merchant_order_id FROM payments",
        "attempts": "SELECT id, payment_id, gateway, status, gateway_order_id, gateway_reference FROM payment_attempts",
        "refunds": "SELECT id, payment_id, attempt_id, amount, status, gateway_refund_id FROM refunds",
        "keys": "SELECT key, object_id, state FROM idempotency_keys",
        "work": "SELECT id, kind, payment_id FROM work_items",
    }
    rows = {}
    for name, sql in queries.items():
        where = " WHERE merchant_id = $1" + (" AND state = 'pending'" if name == "work" else "")
        rows[name] = [dict(r) for r in await conn.fetch(sql + where, merchant_id)]
    return rows


def write_evidence(path: Path, snap: Snapshot, violations: dict[str, list[str]]) -> None:
    """Everything the checks saw, as JSON beside the logs (what a failing seed is debugged from)."""
    answers = {
        key: [{"path": a.path, "status": a.status, "body": a.body.decode(errors="replace")} for a in found]
        for key, found in snap.journal.answers.items()
    }
    data = {
        "violations": violations,
        "payments": snap.payments,
        "attempts": snap.attempts,
        "refunds": snap.refunds,
        "work": snap.work,
        "keys": snap.keys,
        "ledger": snap.ledger,
        "answers": answers,
    }
    path.write_text(json.dumps(data, indent=1, default=str))


async def run_chaos(options: Options) -> Result:
    """Run the plan of ``options`` and check it; never raises for a violation (see :class:`Result`)."""
    began = time.monotonic()
    plan = make_plan(
        options.seed, options.checkouts, options.kills, options.postgres_restarts,
        options.redis_outages, options.sandbox_faults, options.outage_s,
    )  # fmt: skip
    log_dir = Path(options.log_dir or tempfile.mkdtemp(prefix=f"chaos-{options.seed}-"))
    async with (
        owned_services() as (svc, pg, rd),
        process_stack(svc, {**ENGINE_ENV, "ENGINE_WORKERS": str(options.workers)}, SANDBOX_ENV, log_dir) as procs,
    ):
        merchant_id, api_key = await procs.new_merchant("Chaos Pharmacy")
        journal = Journal()
        client = ChaosClient(procs.engine_url, api_key, journal)
        workload = Workload(plan, client, options.concurrency)
        driver = Driver(plan, procs, pg, rd)
        workload.gate = driver.admit
        stop = asyncio.Event()
        driving = asyncio.create_task(driver.run(workload, stop))
        try:
            await workload.run()
            stop.set()
            await driving
        finally:
            stop.set()
            await client.aclose()
        await driver.calm()
        conn = await asyncpg.connect(svc.database_url)
        try:
            await settle(procs, conn, merchant_id, api_key, options.settle_s)
            rows = await gather_rows(conn, merchant_id)
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        ledger = await procs.sandbox_ledger()
        cvvs = sorted({c.cvc for c in plan.checkouts if c.method()["type"] == "card"})
        leaks = scan_files([pg.data], CARD_NUMBERS, cvvs, names=True)
        leaks += scan_files([procs.engine_log, pg.log, log_dir / "data"], CARD_NUMBERS, cvvs, names=False)
        leaks += await scan_redis(rd.url, CARD_NUMBERS, cvvs, dump_dir=pg.data.parent)
        snap = Snapshot(journal, ledger=ledger, seen=workload.seen, leaks=leaks, **rows)
        violations = run_checks(snap)
        await asyncio.to_thread(write_evidence, log_dir / "evidence.json", snap, violations)
        violations["stuck"] += workload.errors  # a checkout the client could not finish is unresolved too
    outcomes = {
        "succeeded": sum(1 for p in rows["payments"] if p["status"] == "succeeded"),
        "declined": sum(1 for p in rows["payments"] if p["status"] == "requires_payment_method"),
        "refunds": sum(1 for r in rows["refunds"] if r["status"] == "succeeded"),
    }
    return Result(
        options, plan, journal, dict(driver.done), violations, outcomes, time.monotonic() - began, log_dir, driver.log
    )


__all__ = ["Options", "Result", "run_chaos"]
