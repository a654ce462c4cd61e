"""The chaos suite, small: real engine and sandbox processes, a PostgreSQL and a Redis of the run's own.

60 checkouts of every kind while the engine is SIGKILLed twice (once with checkouts held at a
gateway), PostgreSQL restarts, Redis is stopped and started, and each kind of sandbox fault is
injected once; then every invariant is checked against the sandbox's ledger (``chaos.checks``).
``make chaos`` runs the same at its full size.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import report
from chaos.run import Options, run_chaos

SEED = 11


async def test_a_small_chaos_run_loses_nothing_and_charges_nothing_twice(tmp_path: Path) -> None:
    options = Options(
        seed=SEED,
        checkouts=60,
        kills=2,
        postgres_restarts=1,
        redis_outages=1,
        sandbox_faults=9,
        outage_s=2.0,
        concurrency=10,
        settle_s=60,
        log_dir=tmp_path,
    )
    result = await run_chaos(options)
    assert result.ok, report(result)
    # Every planned fault was carried out, while the load was on (the clients felt them).
    planned = {kind: result.plan.count(kind) for kind in ("kill", "postgres", "redis", "sandbox", "webhooks")}
    assert result.injected == planned, result.fault_log
    assert result.journal.no_answer > 0, "no request was cut off by a kill"
    assert result.journal.client_5xx > 0, "no 503 during the PostgreSQL restart"
    # The workload really was mixed: payments succeeded and were declined, refunds went through.
    assert result.outcomes["succeeded"] > 10 and result.outcomes["declined"] > 3, result.outcomes
    assert result.outcomes["refunds"] > 0, result.outcomes
    line = result.summary()
    assert line.startswith(f"chaos: seed {SEED}, 60 checkouts, 2 kills, 1 postgres restarts, 1 redis outages")
    assert "0 lost, 0 double, 0 mismatch, 0 idem, 0 stuck, 0 leaks" in line


def test_the_cli_exits_non_zero_and_prints_the_replay_on_a_violation(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A failing run names its seed and the exact command that replays it."""
    from chaos import cli
    from chaos.client import Journal
    from chaos.plan import make_plan
    from chaos.run import Result

    async def failing(options: Options) -> Result:
        plan = make_plan(options.seed, options.checkouts, options.kills)
        violations = {
            "lost": [],
            "double": ["payment pay_1: 2 charges at the gateway"],
            "mismatch": [],
            "idem": [],
            "stuck": [],
            "leaks": [],
        }
        return Result(options, plan, Journal(), {"kill": options.kills}, violations, log_dir=Path("/tmp/x"))

    monkeypatch.setattr(cli, "run_chaos", failing)
    assert cli.main(["--seed", "7", "--checkouts", "5", "--kills", "1"]) == 1
    out = capsys.readouterr().out
    assert "double: payment pay_1: 2 charges at the gateway" in out
    assert "chaos: seed 7, 5 checkouts, 1 kills" in out and "1 double" in out
    assert "replay: make chaos CHAOS_ARGS='--seed 7 --checkouts 5 --kills 1 " in out
