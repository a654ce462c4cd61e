"""The benchmark's arithmetic: locust CSV parsing, flow throughput, summary lines, the CI check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.load.stats import parse_failures_csv, parse_stats_csv, summarize
from bench.runner import costs, report
from bench.runner.plan import FULL, QUICK, custom

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
    "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
    "99.99%,100%"
)
CSV = "\n".join([
    HEADER,
    "FLOW,checkout,300,10,420,450.5,310,2100,0,10.0,0.3,420,440,460,480,520,700,900,1100,2000,2100,2100",
    "POST,confirm,305,10,330,340.2,300,2000,900,10.1,0.3,330,340,350,360,400,600,800,1000,1900,2000,2000",
    "POST,create,310,0,12,15.0,3,120,700,10.3,0.0,12,14,15,16,20,30,50,80,110,120,120",
    "GET,get,300,0,9,11.0,2,90,700,10.0,0.0,9,10,11,12,15,25,40,60,80,90,90",
    ",Aggregated,1215,20,100,150.0,2,2100,500,40.5,0.6,100,200,300,330,420,520,700,900,1900,2100,2100",
])  # fmt: skip


def test_parse_and_summarize_a_window() -> None:
    rows = parse_stats_csv(CSV)
    assert [r.name for r in rows] == ["checkout", "confirm", "create", "get", "Aggregated"]
    summary = summarize(rows, measure_s=10.0)
    assert summary["flows_per_s"] == {"checkout": 29.0}  # failed flows do not count
    assert summary["flow_failures"] == {"checkout": 10}
    assert summary["requests"] == 915 and summary["errors"] == 10  # FLOW and Aggregated rows excluded
    assert summary["requests_per_s"] == 90.5
    assert summary["latency_ms"]["confirm"]["p99"] == 1000.0
    assert summary["flow_latency_ms"]["checkout"]["p50"] == 420.0
    with pytest.raises(ValueError):
        summarize(rows, 0)


def test_rows_without_requests_and_failures_csv() -> None:
    rows = parse_stats_csv(HEADER + "\nGET,get,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A")
    assert rows[0].p99 == 0.0 and rows[0].count == 0
    failures = parse_failures_csv('Method,Name,Error,Occurrences\nPOST,confirm,"confirm: HTTP 502 x",7\n')
    assert failures == [{"method": "POST", "name": "confirm", "error": "confirm: HTTP 502 x", "occurrences": 7}]


def _run(system: str, users: int, checkouts: float, scenario: str = "checkout", **extra: object) -> dict:
    flow = "checkout" if scenario == "checkout" else "create"
    return {
        "system": system, "scenario": scenario, "users": users, "flows_per_s": {flow: checkouts},
        "flow_latency_ms": {}, "latency_ms": {}, "requests_per_s": checkouts * 3, "errors": 0,
        "resources": {"server": {"cpu_cores": 1.0, "peak_rss_mb": 80, "peak_process_rss_mb": 80}}, **extra,
    }  # fmt: skip


RUNS = [
    _run("engine-1w", 500, 300.0),
    _run("engine-2w", 500, 420.0),
    _run("engine-2w", 500, 210.0, pace=1.0),  # paced runs never count as the peak
    _run("sync-workers", 500, 15.0),
    _run("sync-threads", 500, 140.0),
    _run("engine-1w", 50, 1900.0, scenario="create"),
    _run("engine-1w", 200, 2100.0, scenario="create"),
    _run("ceiling", 200, 3000.0, scenario="create"),
]


def test_summary_lines_have_the_issue_form() -> None:
    checkout, create = report.summary_lines(RUNS, 500)
    # server CPU ms per checkout: 1.0 core / 420 checkouts/s = 2.38 ms; 1.0 / 140 = 7.14 ms
    assert checkout == (
        "checkout: engine 420/s (2.4 ms CPU); sync-workers 15/s (28.0\u00d7); sync-threads 140/s (3.0\u00d7, 7.1 ms CPU)"
    )
    assert create == "create: engine 2100/s; ceiling 3000/s (70%)"
    pattern = (
        r"checkout: engine \d+/s \([\d.]+ ms CPU\); sync-workers \d+/s \([\d.]+\u00d7\); "
        r"sync-threads \d+/s \([\d.]+\u00d7, [\d.]+ ms CPU\)"
    )
    assert re.fullmatch(pattern, checkout)
    assert re.fullmatch(r"create: engine \d+/s; ceiling \d+/s \(\d+%\)", create)


def test_ci_check_compares_the_best_engine_at_the_same_load() -> None:
    ok, message = report.ci_check(RUNS, 500, 5.0)
    assert ok and "engine-2w" in message and "28.0" in message
    slow = [r for r in RUNS if r["system"] != "engine-2w"] + [_run("engine-2w", 500, 60.0)]
    ok, message = report.ci_check([*slow[:1], *slow[1:]], 500, 25.0)
    assert not ok and "FAILED" in message
    ok, message = report.ci_check(RUNS, 200, 5.0)  # nothing measured at 200 users
    assert not ok and "missing" in message


def test_targets_report_figures_and_verdicts() -> None:
    half = _run("engine-2w", 200, 210.0, pace=1.0)
    half["latency_ms"] = {"confirm": {"p99": 420.0}, "create": {"p99": 40.0}, "get": {"p99": 30.0}}
    rss = _run("engine-1w", 1000, 250.0, extra="open connections")
    rss["resources"]["server"].update(peak_process_rss_mb=120.0, max_client_connections=1000)
    found = {t["target"].split(" (")[0]: t for t in report.targets([*RUNS, half, rss], 500, 100)}
    assert found["checkout ≥ 20\u00d7 sync-workers at 500 users"]["met"]
    assert found["checkout ≥ 3\u00d7 sync-threads at 500 users"]["met"]
    assert found["create ≥ 60% of ceiling"]["measured"] == "70%"
    latency = next(t for t in found.values() if t["target"].startswith("p99"))
    assert latency["met"] and "confirm p99 420 ms" in latency["measured"]
    memory = next(t for t in found.values() if t["target"].startswith("peak RSS"))
    assert memory["met"] and "1000 open connections" in memory["measured"]


def test_profiles_and_plan() -> None:
    pytest.importorskip("psutil")
    from bench.runner.profile import summarize as summarize_profile

    folded = "main;serve;send 30\nmain;serve;query 10\nmain;idle 60\n"
    summary = summarize_profile(folded)
    assert summary["samples"] == 100
    assert summary["self"][0] == [60.0, "idle"] and [40.0, "serve"] in summary["inclusive"]
    assert QUICK.compare_users in QUICK.stages[0].users and FULL.compare_users == 500
    narrowed = custom(FULL, (50,), ("engine-1w", "sync-workers"), ("checkout",), 5.0)
    assert narrowed.systems() == ["engine-1w", "sync-workers"] and narrowed.compare_users == 50
    assert [s.measure_s for s in narrowed.stages] == [5.0]


def test_summary_line_without_cpu_figures_says_so() -> None:
    runs = [_run("engine-1w", 200, 100.0), _run("sync-workers", 200, 10.0), _run("sync-threads", 200, 50.0)]
    del runs[2]["resources"]["server"]  # e.g. a results file from before the CPU was recorded
    checkout, _ = report.summary_lines(runs, 200)
    assert checkout == (
        "checkout: engine 100/s (10.0 ms CPU); sync-workers 10/s (10.0\u00d7); sync-threads 50/s (2.0\u00d7, - ms CPU)"
    )


def test_per_flow_arithmetic() -> None:
    assert costs.per_flow(0.7, 140.0, 1000) == pytest.approx(5.0)  # 0.7 cores / 140 checkouts/s = 5 ms
    assert costs.per_flow(1200.0, 150.0) == pytest.approx(8.0)  # statements per second / checkouts per second
    assert costs.per_flow(None, 150.0) is None  # not measured is not zero
    assert costs.per_flow(3.0, 0.0) is None  # no checkout completed: no per-checkout figure
    assert costs.fmt(None) == "-" and costs.fmt(2.345, 2) == "2.35" and costs.fmt(0.0) == "0.0"


def test_costs_of_a_run_from_its_window_rates() -> None:
    run = _run("engine-1w", 200, 150.0)
    run["resources"].update(
        {
            "pg-backends": {"cpu_cores": 0.6},
            "sandbox": {"cpu_cores": 0.15},
            "counters": {"pg_statements": 1350.0, "pg_transactions": 450.0, "redis_commands": 150.0},
        }
    )
    figures = costs.costs(run)
    assert figures == pytest.approx(
        {"server_cpu_ms": 1000 / 150, "pg_cpu_ms": 4.0, "sandbox_cpu_ms": 1.0, "pg_statements": 9.0,
         "pg_transactions": 3.0, "redis_commands": 1.0}
    )  # fmt: skip
    bare = _run("ceiling", 100, 0.0, scenario="create")
    assert costs.primary_flow(bare) == "create"
    assert set(costs.costs(bare).values()) == {None}  # nothing completed, nothing measured
    lines = costs.table([run])
    assert lines[0].startswith("| system | scenario | users | flow | flows/s | server CPU ms |")
    assert lines[2] == "| engine-1w | checkout | 200 | checkout | 150.0 | 6.67 | 4.00 | 1.00 | 9.0 | 3.0 | 1.0 |"
    assert "PG statements 9.0 (transactions 3.0), Redis commands 1.0" in costs.brief(run)
    mix = {**run, "scenario": "mix", "flows_per_s": {"checkout": 100.0, "status": 50.0}}
    assert costs.flow_rate(mix) == ("any flow", 150.0)  # the mix's flows share the resources
    assert costs.costs(mix)["pg_statements"] == pytest.approx(9.0)


def test_counters_rates_over_the_window_and_what_they_count() -> None:
    pytest.importorskip("psutil")
    from bench.runner.counters import commands_of, serves
    from bench.runner.monitor import Counter, Group, Monitor, Sample

    counter = Counter(lambda: None)
    counter.samples = [(9.0, {"n": 0.0}), (10.0, {"n": 100.0}), (12.0, {"n": 300.0}), (14.0, {"n": 700.0})]
    assert counter.window(10.0, 13.0) == {"n": 100.0}  # first and last sample inside: (300-100)/2 s
    assert counter.window(10.0, 10.5) == {}  # one sample is no rate
    stats = {"cmdstat_get": {"calls": 5, "usec": 9}, "cmdstat_info": {"calls": 40}, "cmdstat_mget": {"calls": 2}}
    assert commands_of(stats) == 7.0  # the sampler's own INFO is not the system's work
    assert serves("postgres: postgres bench_engine_1w_ab12cd [local] idle", "bench_engine_1w_ab12cd")
    assert not serves("postgres: postgres bench_sync_workers_ff0011 [local] idle", "bench_engine_1w_ab12cd")
    assert not serves("postgres: checkpointer", "checkpointer")
    # the backends are a part of PostgreSQL: other work is not reduced by them twice
    pg, backends = Group("postgres", list), Group("pg-backends", list, part=True)
    pg.samples = [Sample(0.0, 0, 0, 0.0, 1), Sample(10.0, 0, 0, 5.0, 1)]
    backends.samples = [Sample(0.0, 0, 0, 0.0, 1), Sample(10.0, 0, 0, 4.0, 1)]
    monitor = Monitor([pg, backends], counters=[counter])
    monitor.machine = [(0.0, 0.0, 0.0), (10.0, 15.0, 0.0)]
    out = monitor.report(0.0, 10.0)
    assert out["postgres"]["cpu_cores"] == 0.5 and out["pg-backends"]["cpu_cores"] == 0.4
    assert out["others"]["cpu_cores"] == 1.0  # 1.5 busy - 0.5 PostgreSQL (backends inside it)
    assert out["counters"] == {"n": 100.0}  # its samples at 9 s and 10 s


def test_cpu_check_compares_server_cpu_per_checkout_with_the_threaded_baseline() -> None:
    # 1 core each: engine-2w 1000/420 = 2.38 ms, sync-threads 1000/140 = 7.14 ms per checkout
    ok, message = report.cpu_check(RUNS, 500, 0.5)
    assert ok and "0.33" in message and "engine-2w" in message
    ok, message = report.cpu_check(RUNS, 500, 0.3)
    assert not ok and "FAILED" in message
    ok, message = report.cpu_check(RUNS, 200, 0.5)
    assert not ok and "missing" in message


def test_the_sweep_paces_every_level_to_the_same_offered_load(tmp_path: Path) -> None:
    from bench.runner import sweep

    stage = sweep.profile(20).stages[0]
    assert stage.users == (1000, 2000) and stage.offered_per_s == sweep.OFFERED_PER_S
    runs = [
        {**_run(system, users, 50.0 if system != "sync-workers" else 2.0), "gateway_latency_ms": latency,
         "flow_latency_ms": {"checkout": {"p99": 400.0 + latency * 3}}}
        for latency in sweep.LATENCIES_MS for system in sweep.SYSTEMS for users in stage.users
    ]  # fmt: skip
    document = {"when": "now", "machine": {"cpu_model": "x", "cores": 2}, "offered_per_s": 50.0,
                "failures": [], "runs": runs}  # fmt: skip
    text = sweep.markdown(document)
    assert "| 1000 | sync-workers | 2000 | 2.0 | 3400 | 0 | 80 |" in text
    pytest.importorskip("matplotlib")
    sweep.chart(document, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
