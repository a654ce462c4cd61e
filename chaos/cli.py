"""``python -m chaos [--seed N] [--checkouts N] [--kills N] ...``: one run, one summary line.

Exit status 0 when every check passed, 1 on any violation (the first few of each are printed,
then the command that replays the run), 2 when the run itself could not be carried out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import traceback
from pathlib import Path

from chaos.run import Options, Result, run_chaos

SHOWN = 5  # violations printed per check


def parse(argv: list[str] | None = None) -> Options:
    """The options from the command line (defaults: ``make chaos``'s size)."""
    d = Options()
    p = argparse.ArgumentParser(prog="python -m chaos", description="The chaos suite (README: Chaos suite).")
    p.add_argument("--seed", type=int, default=d.seed, help="plan seed (replay a failing run with its seed)")
    p.add_argument("--checkouts", type=int, default=d.checkouts)
    p.add_argument("--kills", type=int, default=d.kills, help="engine SIGKILLs (each followed by a restart)")
    p.add_argument("--postgres-restarts", type=int, default=d.postgres_restarts)
    p.add_argument("--redis-outages", type=int, default=d.redis_outages)
    p.add_argument("--sandbox-faults", type=int, default=d.sandbox_faults)
    p.add_argument("--outage-s", type=float, default=d.outage_s, help="Redis down this long, PostgreSQL half")
    p.add_argument("--concurrency", type=int, default=d.concurrency, help="customers checking out at once")
    p.add_argument("--settle-s", type=float, default=d.settle_s, help="longest wait for reconciliation")
    p.add_argument("--workers", type=int, default=d.workers, help="engine worker processes")
    p.add_argument("--verbose", action="store_true", help="print the fault log too")
    p.add_argument("--log-dir", type=Path, default=None, help="keep the processes' logs here")
    a = p.parse_args(argv)
    if a.checkouts < 1 or min(a.kills, a.postgres_restarts, a.redis_outages, a.sandbox_faults) < 0:
        p.error("--checkouts must be positive and the fault counts non-negative")
    return Options(
        a.seed, a.checkouts, a.kills, a.postgres_restarts, a.redis_outages, a.sandbox_faults,
        a.outage_s, a.concurrency, a.settle_s, a.log_dir, a.verbose, a.workers,
    )  # fmt: skip


def report(result: Result) -> str:
    """The summary line, preceded by the violations (if any) and followed by the replay command."""
    lines = [f"  fault {line}" for line in result.fault_log] if result.options.verbose else []
    for name, found in result.violations.items():
        for line in found[:SHOWN]:
            lines.append(f"  {name}: {line}")
        if len(found) > SHOWN:
            lines.append(f"  {name}: ... {len(found) - SHOWN} more")
    lines.append(result.summary())
    if not result.ok:
        lines.append(f"chaos: FAILED; replay: make chaos CHAOS_ARGS='{result.options.replay_args()}'")
        lines.append(f"chaos: logs in {result.log_dir}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run once, print the report; the exit status says whether every check passed."""
    options = parse(argv)
    try:
        result = asyncio.run(run_chaos(options))
    except Exception as exc:
        traceback.print_exc()
        print(f"chaos: seed {options.seed}: the run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"chaos: replay: make chaos CHAOS_ARGS='{options.replay_args()}'", file=sys.stderr)
        return 2
    print(report(result))
    return 0 if result.ok else 1
