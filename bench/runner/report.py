"""What a run produces: summary lines, the CI check, the targets, a markdown table, PNG charts.

Everything here is computed from the list of run results (``loadrun.run_load``), so it can be
re-rendered from the JSON file alone (``python -m bench --report-only``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.runner.costs import costs, fmt
from bench.runner.costs import table as costs_table
from bench.runner.plan import ENGINES

Run = dict[str, Any]
X = "\u00d7"  # the multiplication sign of the summary lines
GATEWAY_CALLS_PER_CONFIRM = 3  # Razorpay card: order, S2S payment, fetch


def find(runs: list[Run], system: str, scenario: str, users: int | None = None) -> list[Run]:
    """Closed-loop runs of ``system`` in ``scenario`` (at ``users`` if given)."""
    return [
        r for r in runs
        if r["system"] == system and r["scenario"] == scenario and not r.get("pace")
        and (users is None or r["users"] == users) and not r.get("extra")
    ]  # fmt: skip


def flows(run: Run | None, name: str) -> float:
    """Successful flows per second of ``name`` in ``run`` (0 when absent)."""
    return float(run["flows_per_s"].get(name, 0.0)) if run else 0.0


def checkout_at(runs: list[Run], system: str, users: int) -> float:
    """Checkout throughput of ``system`` at ``users`` (0 when not measured)."""
    found = find(runs, system, "checkout", users)
    return flows(found[0], "checkout") if found else 0.0


def best_engine(runs: list[Run], users: int) -> tuple[str, float]:
    """The engine configuration with the most checkouts per second at ``users``."""
    scored = [(checkout_at(runs, name, users), name) for name in ENGINES]
    rate, name = max(scored)
    return name, rate


def peak(runs: list[Run], system: str, scenario: str, flow: str) -> tuple[float, int]:
    """Highest throughput of ``flow`` over all levels, and the level where it was reached."""
    best = max(((flows(r, flow), r["users"]) for r in find(runs, system, scenario)), default=(0.0, 0))
    return best


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def server_cpu_ms(runs: list[Run], system: str, users: int) -> float | None:
    """Server CPU ms per checkout of ``system`` at ``users`` (``None`` when not measured)."""
    found = find(runs, system, "checkout", users)
    return costs(found[0])["server_cpu_ms"] if found else None


def summary_lines(runs: list[Run], compare_users: int) -> list[str]:
    """The two lines the issue asks for (checkout at ``compare_users``, with the server CPU ms per
    checkout of the engine and of the threaded baseline; create at each side's peak)."""
    name, engine = best_engine(runs, compare_users)
    sync = checkout_at(runs, "sync-workers", compare_users)
    threads = checkout_at(runs, "sync-threads", compare_users)
    engine_ms = fmt(server_cpu_ms(runs, name, compare_users))
    threads_ms = fmt(server_cpu_ms(runs, "sync-threads", compare_users))
    create, _ = peak(runs, "engine-1w", "create", "create")
    ceiling, _ = peak(runs, "ceiling", "create", "create")
    return [
        f"checkout: engine {engine:.0f}/s ({engine_ms} ms CPU); sync-workers {sync:.0f}/s "
        f"({_ratio(engine, sync):.1f}{X}); sync-threads {threads:.0f}/s ({_ratio(engine, threads):.1f}{X}, "
        f"{threads_ms} ms CPU)",
        f"create: engine {create:.0f}/s; ceiling {ceiling:.0f}/s ({_ratio(create, ceiling) * 100:.0f}%)",
    ]


def ci_check(runs: list[Run], compare_users: int, min_ratio: float) -> tuple[bool, str]:
    """Whether the engine's checkout throughput is at least ``min_ratio`` x the sync workers' at ``compare_users``."""
    name, engine = best_engine(runs, compare_users)
    sync = checkout_at(runs, "sync-workers", compare_users)
    if not sync or not engine:
        return False, f"check: missing measurement (engine {engine:.1f}/s, sync-workers {sync:.1f}/s)"
    ratio = engine / sync
    verdict = "ok" if ratio >= min_ratio else "FAILED"
    return ratio >= min_ratio, (
        f"check {verdict}: {name} {engine:.1f} checkouts/s = {ratio:.1f}{X} sync-workers {sync:.1f}/s "
        f"at {compare_users} users (required ≥ {min_ratio:g}{X})"
    )


def cpu_check(runs: list[Run], compare_users: int, max_share: float) -> tuple[bool, str]:
    """Whether the engine's server CPU per checkout is at most ``max_share`` of the threaded
    baseline's at ``compare_users``, both measured in this run (a ratio that stays put on a
    noisy machine, unlike throughput)."""
    name, _ = best_engine(runs, compare_users)
    engine, threads = server_cpu_ms(runs, name, compare_users), server_cpu_ms(runs, "sync-threads", compare_users)
    if not engine or not threads:
        return False, f"cpu check: missing measurement (engine {fmt(engine)} ms, sync-threads {fmt(threads)} ms)"
    share = engine / threads
    verdict = "ok" if share <= max_share else "FAILED"
    return share <= max_share, (
        f"cpu check {verdict}: {name} {engine:.2f} ms server CPU per checkout = {share:.2f} of sync-threads' "
        f"{threads:.2f} ms at {compare_users} users (required ≤ {max_share:g})"
    )


def targets(runs: list[Run], compare_users: int, latency_ms: int) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured figure and whether it is met."""
    out: list[dict[str, Any]] = []
    name, engine = best_engine(runs, compare_users)
    sync = checkout_at(runs, "sync-workers", compare_users)
    threads = checkout_at(runs, "sync-threads", compare_users)
    if engine and sync:
        ratio = engine / sync
        out.append({"target": f"checkout ≥ 20{X} sync-workers at {compare_users} users", "measured": f"{ratio:.1f}{X}",
                    "met": ratio >= 20})  # fmt: skip
    if engine and threads:
        ratio = engine / threads
        out.append({"target": f"checkout ≥ 3{X} sync-threads at {compare_users} users", "measured": f"{ratio:.1f}{X}",
                    "met": ratio >= 3})  # fmt: skip
    paced = [r for r in runs if r["scenario"] == "checkout" and r.get("pace") and r["system"] == name]
    if paced:
        run = paced[-1]
        budget = GATEWAY_CALLS_PER_CONFIRM * latency_ms + 150
        confirm = run["latency_ms"].get("confirm", {}).get("p99", 0.0)
        create_get = max(run["latency_ms"].get(k, {}).get("p99", 0.0) for k in ("create", "get"))
        out.append({
            "target": f"p99 ≤ gateway latency + 150 ms at half the engine's peak ({run['system']}, "
                      f"{flows(run, 'checkout'):.0f} checkouts/s): confirm (3 gateway calls) ≤ {budget} ms, "
                      f"create/get ≤ {latency_ms + 150} ms",
            "measured": f"confirm p99 {confirm:.0f} ms, create/get p99 {create_get:.0f} ms",
            "met": confirm <= budget and create_get <= latency_ms + 150,
        })  # fmt: skip
    create, _ = peak(runs, "engine-1w", "create", "create")
    ceiling, _ = peak(runs, "ceiling", "create", "create")
    if create and ceiling:
        out.append({"target": "create ≥ 60% of ceiling", "measured": f"{create / ceiling * 100:.0f}%",
                    "met": create / ceiling >= 0.6})  # fmt: skip
    big = [r for r in runs if r["system"] in ENGINES and r["users"] >= 1000]
    for run in big:
        server = run["resources"]["server"]
        rss = server["peak_process_rss_mb"]
        conns = server.get("max_client_connections", 0)
        out.append(
            {
                "target": f"peak RSS ≤ 150 MB per engine process at 1,000 connections ({run['system']})",
                "measured": f"{rss:.0f} MB with {conns} open connections",
                "met": rss <= 150 and conns >= 900,
            }
        )
    return out


COSTS_NOTES = (
    "Each figure is its rate over the measured window divided by the successful flows per second. "
    "CPU: user + system time (psutil) of the server's process tree, of the PostgreSQL backends whose "
    "process title names the system's own database, and of the sandbox (the gateways, not the system "
    "under test). PG statements: `pg_stat_statements` calls in that database (BEGIN and COMMIT "
    "included: each is a round trip; a multi-statement simple query, e.g. asyncpg's default pool reset on "
    "release, is one round trip counted as its statements); PG transactions: `pg_stat_database` commits + "
    "rollbacks. "
    "Redis commands: `INFO commandstats` calls, the sampler's INFO excluded; one Redis serves every "
    "system, but systems run one at a time, so a window's delta is that system's own.",
)


def _ms(latency: dict[str, float] | None) -> str:
    if not latency:
        return "-"
    return f"{latency['p50']:.0f} / {latency['p95']:.0f} / {latency['p99']:.0f}"


def markdown(results: dict[str, Any]) -> str:
    """The results table (one line per run) with the machine, the settings and the targets."""
    m = results["machine"]
    lines = [
        f"# Benchmark ({results['profile']}) — {results['when']}",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, {m['platform']}; "
        f"{results['database']}; gateway latency {results['gateway_latency_ms']} ms per sandbox call.",
        "",
        *[f"- {note}" for note in results["notes"]],
        "",
        "| system | scenario | users | window s | flows/s | req/s | flow p50/p95/p99 ms | confirm p50/p95/p99 ms "
        "| errors | server CPU | server RSS MB (max proc) | loadgen CPU | sandbox CPU | PG CPU | Redis CPU "
        "| other work CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        flow = "checkout" if "checkout" in run["flows_per_s"] else next(iter(run["flows_per_s"]), "")
        res = run["resources"]
        users = f"{run['users']}" + (f" paced {run['pace']:.2f}/s" if run.get("pace") else "")
        lines.append(
            f"| {run['system']} | {run['scenario']} | {users} | {run['window']['measure_s']:.0f} "
            f"| {flows(run, flow):.1f} | {run['requests_per_s']:.1f} "
            f"| {_ms(run['flow_latency_ms'].get(flow))} | {_ms(run['latency_ms'].get('confirm'))} "
            f"| {run['errors']} | {res['server']['cpu_cores']:.2f} "
            f"| {res['server']['peak_rss_mb']:.0f} ({res['server']['peak_process_rss_mb']:.0f}) "
            f"| {res['loadgen']['cpu_cores']:.2f} | {res.get('sandbox', {}).get('cpu_cores', 0):.2f} "
            f"| {res.get('postgres', {}).get('cpu_cores', 0):.2f} | {res.get('redis', {}).get('cpu_cores', 0):.2f} "
            f"| {res.get('others', {}).get('cpu_cores', 0):.2f} |"
        )
    statements = results.get("pg_statements", "ready")
    unavailable = [] if statements == "ready" else ["", f"PG statements not counted: {statements}."]
    heading = "## Per flow (per checkout; per created payment in create runs; per flow of any kind in the mix)"
    lines += ["", heading, "", *COSTS_NOTES, *unavailable, "", *costs_table(results["runs"])]
    lines += ["", "## Summary", "", *[f"    {line}" for line in results["summary"]], "", "## Targets", ""]
    for target in results["targets"]:
        lines.append(f"- {'met' if target['met'] else 'MISSED'}: {target['target']} — measured {target['measured']}")
    lines += [results.get("check", ""), *_profiles(results["runs"])]
    return "\n".join(lines) + "\n"


def _profiles(runs: list[Run]) -> list[str]:
    """The hottest frames of each profiled run (py-spy, % of samples of the busiest server process)."""
    out: list[str] = []
    for run in runs:
        profile = run.get("profile")
        if not profile or not profile["samples"]:
            continue
        out += [
            "",
            f"### Profile: {run['system']} {run['scenario']} {run['users']} users "
            f"({profile['samples']} samples, pid {profile['pid']})",
            "",
            "| self % | function |",
            "|---|---|",
        ]
        out += [f"| {share} | `{frame}` |" for share, frame in profile["self"][:10]]
        out += ["", "| % of samples | where (innermost library or project frame) |", "|---|---|"]
        out += [f"| {share} | {name} |" for share, name in profile.get("categories", [])]
    return out


def charts(results: dict[str, Any], out_dir: Path, prefix: str = "") -> list[Path]:
    """``<prefix>checkout-throughput.png`` and ``<prefix>checkout-p99.png``: a line per system over the levels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    runs = results["runs"]
    systems = sorted({r["system"] for r in runs if r["scenario"] == "checkout"})
    made = []
    for filename, title, value, ylabel in (
        ("checkout-throughput.png", "Checkout throughput", lambda r: flows(r, "checkout"), "checkouts / s"),
        ("checkout-p99.png", "Checkout p99 latency (whole flow)",
         lambda r: r["flow_latency_ms"].get("checkout", {}).get("p99", 0) / 1000, "p99 (s)"),
    ):  # fmt: skip
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
        for system in systems:
            points = sorted((r["users"], value(r)) for r in find(runs, system, "checkout"))
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=system)
        ax.set_xlabel("concurrent users (closed loop, no think time)")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(sorted({r["users"] for s in systems for r in find(runs, s, "checkout")}))
        latency, cores = results["gateway_latency_ms"], results["machine"]["cores"]
        ax.set_title(f"{title}: {latency} ms gateway latency, {cores} cores")
        ax.grid(True, which="both", alpha=0.3)
        if systems:
            ax.legend()
        fig.tight_layout()
        path = out_dir / (prefix + filename)
        fig.savefig(path)
        plt.close(fig)
        made.append(path)
    return made
