"""What one flow costs: CPU milliseconds and round trips per checkout (or per created payment).

Every figure is a rate over the measured window divided by the flows completed per second in
that window (``rate / flows_per_s``), so all of them are per *successful* flow and share the
window with the throughput. The rates come from ``Monitor.report``: CPU in cores (seconds per
second) for each watched group, and the counters (``bench/runner/counters.py``) per second.
A figure that was not measured (an old results file, no embedded PostgreSQL, no
``pg_stat_statements``) is ``None`` and printed as ``-``, never as a zero.
"""

from __future__ import annotations

from typing import Any

Run = dict[str, Any]

# column key -> heading; CPU figures in ms per flow, counts per flow
COLUMNS = {
    "server_cpu_ms": "server CPU ms",
    "pg_cpu_ms": "PG backends CPU ms",
    "sandbox_cpu_ms": "sandbox CPU ms",
    "pg_statements": "PG statements",
    "pg_transactions": "PG transactions",
    "redis_commands": "Redis commands",
}


def primary_flow(run: Run) -> str:
    """The flow a run is measured by: ``checkout`` when present, else its first flow."""
    found = run.get("flows_per_s", {})
    return "checkout" if "checkout" in found else next(iter(found), "")


def flow_rate(run: Run) -> tuple[str, float]:
    """What a run's costs are divided by: its ``primary_flow`` per second, except in the mix,
    whose six weighted flows share the resources, so there it is every flow (``"any flow"``)."""
    found = run.get("flows_per_s", {})
    if run.get("scenario") == "mix":
        return "any flow", float(sum(found.values()))
    flow = primary_flow(run)
    return flow, float(found.get(flow, 0.0))


def per_flow(rate_per_s: float | None, flows_per_s: float, scale: float = 1.0) -> float | None:
    """``rate_per_s`` (a CPU rate in cores, or a count per second) per flow, times ``scale``
    (1000 turns CPU seconds into milliseconds); ``None`` without a rate or without flows."""
    if rate_per_s is None or flows_per_s <= 0:
        return None
    return rate_per_s / flows_per_s * scale


def _cpu(resources: dict[str, Any], group: str) -> float | None:
    figures = resources.get(group)
    return None if figures is None else float(figures["cpu_cores"])


def costs(run: Run) -> dict[str, float | None]:
    """Per flow (``flow_rate``): server, PostgreSQL backends and sandbox CPU ms, PostgreSQL
    statements and transactions, Redis commands (``COLUMNS``)."""
    _, rate = flow_rate(run)
    resources = run.get("resources", {})
    counters = resources.get("counters", {})
    return {
        "server_cpu_ms": per_flow(_cpu(resources, "server"), rate, 1000),
        "pg_cpu_ms": per_flow(_cpu(resources, "pg-backends"), rate, 1000),
        "sandbox_cpu_ms": per_flow(_cpu(resources, "sandbox"), rate, 1000),
        "pg_statements": per_flow(counters.get("pg_statements"), rate),
        "pg_transactions": per_flow(counters.get("pg_transactions"), rate),
        "redis_commands": per_flow(counters.get("redis_commands"), rate),
    }


def fmt(value: float | None, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals, or ``-`` when it was not measured."""
    return "-" if value is None else f"{value:.{digits}f}"


def table(runs: list[Run]) -> list[str]:
    """The markdown table of ``costs`` for every run (one line per run, as the main table)."""
    lines = [
        "| system | scenario | users | flow | flows/s | " + " | ".join(COLUMNS.values()) + " |",
        "|---|---|---|---|---|" + "---|" * len(COLUMNS),
    ]
    for run in runs:
        flow, rate = flow_rate(run)
        figures = costs(run)
        users = f"{run['users']}" + (f" paced {run['pace']:.2f}/s" if run.get("pace") else "")
        users += f" ({run['extra']})" if run.get("extra") else ""
        cells = [fmt(figures[key], 2 if key.endswith("_ms") else 1) for key in COLUMNS]
        lines.append(
            f"| {run['system']} | {run['scenario']} | {users} | {flow} | {rate:.1f} | " + " | ".join(cells) + " |"
        )
    return lines


def brief(run: Run) -> str:
    """The costs of one run on one line (the runner's progress output)."""
    c = costs(run)
    return (
        f"per {flow_rate(run)[0]}: CPU ms server {fmt(c['server_cpu_ms'], 2)}, PG {fmt(c['pg_cpu_ms'], 2)}, "
        f"sandbox {fmt(c['sandbox_cpu_ms'], 2)}; PG statements {fmt(c['pg_statements'])} "
        f"(transactions {fmt(c['pg_transactions'])}), Redis commands {fmt(c['redis_commands'])}"
    )
