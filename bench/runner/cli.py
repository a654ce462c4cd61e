"""``python -m bench [--quick]``: engine vs synchronous baseline vs ceiling, side by side.

Starts PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, or the embedded servers under
``--data-dir``), then each system under test in turn, each with a fresh database and its own
sandbox (``--latency-ms`` on every gateway call): the engine with 1 and 2 worker processes, the
baseline with sync workers and with threads, and the ceiling app. Each is driven by the same
locust profile at several concurrency levels while its processes are watched, and the cost of a
flow is derived (CPU ms of the server, its PostgreSQL backends and the sandbox; statements,
transactions and Redis commands: ``bench/runner/costs.py``). Writes
``bench/results/bench-<profile>.json`` and ``.md``, two PNG charts, and prints the summary lines.
``--check-ratio R`` exits 1 unless the engine's checkout throughput is at least R x the
sync-worker baseline's at the comparison level (the CI gate).

Everything it starts runs in its own process group and is stopped at the end, on an error,
on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.ratio import machine
from bench.runner import costs, report, sweep
from bench.runner.loadrun import Load, run_load
from bench.runner.monitor import settle
from bench.runner.plan import ENGINES, PROFILES, Profile, custom
from bench.runner.procs import Children, install_signal_handlers
from bench.runner.systems import ROOT, SYSTEMS, Stack, set_webhooks, start_system

NOTES = (
    "One machine runs everything: the load generator (locust, FastHttpUser, one process unless "
    "--locust-processes), the sandbox, "
    "PostgreSQL and the server under test share its cores, so absolute figures are lower than on separate "
    "machines; the CPU columns show who used what during the measured window.",
    "Closed loop without think time: each user starts its next checkout when the last one ends. A checkout is "
    "create + confirm with a card (Razorpay: order, S2S payment, fetch = 3 gateway calls) + get.",
    "Warm-up lasts until every user has completed a flow (steady state), then statistics are reset and the "
    "window is measured: at least the profile's seconds and at least 2-3 warm-up cycles (a first-come-first-served "
    "server makes closed-loop users move in step, so their checkouts complete in bursts one cycle apart). Before "
    "each run the server is left to finish what the previous run's clients abandoned. 'other work CPU' is what "
    "processes outside the benchmark used meanwhile (the machine is shared).",
    "Webhooks are not delivered in the head-to-head (both systems would receive them; the card answer is "
    "synchronous); the engine's mix has them on (UPI is settled by webhook).",
)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI-sized profile (a few minutes)")
    parser.add_argument("--latency-ms", type=int, default=100, help="gateway latency per sandbox call")
    parser.add_argument("--users", help="comma-separated concurrency levels (overrides the profile)")
    parser.add_argument("--systems", help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--scenarios", help="comma-separated subset of checkout,create,mix")
    parser.add_argument("--measure", type=float, help="measured seconds per run (overrides the profile)")
    parser.add_argument("--check-ratio", type=float, default=0.0, help="fail unless engine >= R x sync-workers")
    parser.add_argument("--check-cpu-share", type=float, default=0.0,
                        help="fail unless engine server CPU per checkout <= F x sync-threads'")  # fmt: skip
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", str(ROOT / ".data" / "bench")))
    parser.add_argument(
        "--locust-processes", type=int, default=1, help="load generator processes (1: one gevent process; more "
        "processes compete with the servers for the same cores, and their warm-up is a fixed minimum)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="py-spy the engine during each of its windows")
    parser.add_argument("--sweep", action="store_true", help="the latency sweep (bench/runner/sweep.py)")
    parser.add_argument("--report-only", action="store_true", help="re-render outputs from the JSON file")
    return parser.parse_args(argv)


def _split(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _profile(args: argparse.Namespace) -> Profile:
    base = PROFILES["quick" if args.quick else "full"]
    if not (args.users or args.systems or args.scenarios or args.measure):
        return base
    users = tuple(int(u) for u in _split(args.users)) if args.users else None
    systems = _split(args.systems) if args.systems else None
    return custom(base, users, systems, _split(args.scenarios) if args.scenarios else None, args.measure)


def _line(run: dict[str, Any]) -> str:
    flow = "checkout" if "checkout" in run["flows_per_s"] else next(iter(run["flows_per_s"]), "-")
    lat = run["flow_latency_ms"].get(flow, {})
    server = run["resources"]["server"]
    return (
        f"  -> {report.flows(run, flow):8.1f} {flow}/s  {run['requests_per_s']:8.1f} req/s  "
        f"p50/p99 {lat.get('p50', 0):.0f}/{lat.get('p99', 0):.0f} ms  errors {run['errors']}  "
        f"server {server['cpu_cores']:.2f} cores, {server['peak_process_rss_mb']:.0f} MB/proc  "
        f"loadgen {run['resources']['loadgen']['cpu_cores']:.2f} cores\n     {costs.brief(run)}"
    )


class Bench:
    """One benchmark run: the stack, the children, the results so far."""

    def __init__(self, args: argparse.Namespace, profile: Profile) -> None:
        """Prepare directories and the results skeleton."""
        self.args, self.profile = args, profile
        self.data_dir = Path(args.data_dir)
        self.raw_dir = self.data_dir / "runs" / profile.name
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        self.children = Children(self.data_dir / "logs")
        self.stack = Stack(self.data_dir)
        self.runs: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.planned = sum(len(s.users) * len(s.systems) for s in profile.stages)
        checkout = next((s for s in profile.stages if s.scenario == "checkout"), None)
        engines = [name for name in ENGINES if checkout and name in checkout.systems]
        self.planned += len(engines) * (bool(profile.rss_users) + profile.half_peak)
        self.started = time.monotonic()

    def _run(self, running: Any, load: Load, extra: str = "") -> dict[str, Any] | None:
        load = dataclasses.replace(load, processes=self.args.locust_processes)
        number = len(self.runs) + len(self.failures) + 1
        what = f"{running.system.name} {load.scenario} {load.users} users" + (f" ({extra})" if extra else "")
        waited = settle(running.server.pid)
        print(f"[{number}/{self.planned}] {what}  (t+{time.monotonic() - self.started:.0f}s, settled {waited:.0f}s)",
              flush=True)  # fmt: skip
        try:
            profile = self.args.profile and running.system.kind == "engine"
            result = run_load(
                load, running, self.stack, self.children, self.data_dir, self.raw_dir, quiet=False, profile=profile
            )
        except Exception as exc:
            self.failures.append(f"{what}: {exc}")
            print(f"  !! {what} failed: {exc}", flush=True)
            return None
        if extra:
            result["extra"] = extra
        result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        self.runs.append(result)
        print(_line(result), flush=True)
        return result

    def system(self, name: str) -> None:
        """Start one system, run all its stages, stop it."""
        system = SYSTEMS[name]
        dsn = self.stack.fresh_database(name)
        running = None
        try:
            running = start_system(system, self.stack, self.children, self.data_dir, self.args.latency_ms, dsn)
            print(f"== {name}: {system.label} at {running.url}", flush=True)
            for stage in self.profile.stages_for(name):
                if running.sandbox_url:
                    set_webhooks(running.sandbox_url, stage.scenario == "mix")
                for users in stage.users:
                    pace = stage.offered_per_s / users if stage.offered_per_s else 0.0
                    load = Load(stage.scenario, users, stage.measure_s, stage.warmup_min_s, stage.warmup_max_s,
                                stage.min_cycles, stage.measure_max_s, pace=pace)  # fmt: skip
                    self._run(running, load)
                if stage.scenario == "checkout" and name in ENGINES:
                    self._engine_extras(running, stage.warmup_max_s)
        except Exception as exc:
            self.failures.append(f"{name}: {exc}")
            print(f"  !! {name} failed: {exc}", flush=True)
            traceback.print_exc()
        finally:
            if running is not None:
                self.children.stop(running.server)
                self.children.stop(running.sandbox)
            self.stack.drop(dsn)

    def _engine_extras(self, running: Any, warmup_max_s: float) -> None:
        name = running.system.name
        if self.profile.half_peak:
            best, _ = report.peak(self.runs, name, "checkout", "checkout")
            users = self.profile.half_peak_users
            if best > 0:
                pace = best / 2 / users
                self._run(running, Load("checkout", users, 30, 5, warmup_max_s, pace=pace, tag="-half"), "half peak")
        if self.profile.rss_users:
            load = Load("checkout", self.profile.rss_users, 15, 5, 40, tag="-rss")
            self._run(running, load, "open connections")

    def execute(self) -> dict[str, Any]:
        """Run everything; always stop every child and the embedded servers."""
        install_signal_handlers(self.children)
        try:
            self.stack.start()
            for name in self.profile.systems():
                self.system(name)
        finally:
            self.children.stop_all()
            self.stack.stop()
        return self.results()

    def results(self) -> dict[str, Any]:
        """The JSON document of this run."""
        return {
            "benchmark": "checkout: engine vs synchronous baseline; create: engine vs ceiling",
            "profile": self.profile.name,
            "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": machine(),
            "database": "embedded PostgreSQL 18 (fsync on, synchronous_commit on)"
            if self.stack.embedded
            else "DATABASE_URL",
            "pg_statements": self.stack.statements,  # "ready", or why statements were not counted
            "gateway_latency_ms": self.args.latency_ms,
            "compare_users": self.profile.compare_users,
            "duration_s": round(time.monotonic() - self.started),
            "notes": list(NOTES),
            "failures": self.failures,
            "runs": self.runs,
        }


def finish(results: dict[str, Any], out_dir: Path, check_ratio: float, cpu_share: float = 0.0) -> int:
    """Compute the summary and targets, write JSON, markdown and charts, print; the exit status."""
    runs, compare = results["runs"], results["compare_users"]
    results["summary"] = report.summary_lines(runs, compare)
    results["targets"] = report.targets(runs, compare, results["gateway_latency_ms"])
    ok, check = report.ci_check(runs, compare, check_ratio or 5.0)
    cpu_ok, cpu = report.cpu_check(runs, compare, cpu_share or 0.5)
    results["check"], results["cpu_check"] = check, cpu
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"bench-{results['profile']}"
    Path(f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n")
    Path(f"{stem}.md").write_text(report.markdown(results))
    pictures = report.charts(results, out_dir, prefix=f"{results['profile']}-")
    print(f"\nwrote {stem}.json, {stem}.md, " + ", ".join(str(p) for p in pictures))
    for failure in results["failures"]:
        print(f"failed: {failure}")
    for target in results["targets"]:
        print(f"{'met' if target['met'] else 'MISSED'}: {target['target']} — {target['measured']}")
    print(f"({results['notes'][0]})")
    print(check)
    print(cpu)
    print("\n".join(results["summary"]), flush=True)
    if (check_ratio and not ok) or (cpu_share and not cpu_ok):
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    args = _parse(argv)
    out_dir = Path(args.out_dir)
    profile = _profile(args)
    if args.sweep:
        return sweep.run(args, Bench, out_dir)
    if args.report_only:
        results = json.loads((out_dir / f"bench-{profile.name}.json").read_text())
        return finish(results, out_dir, args.check_ratio, args.check_cpu_share)
    print(f"benchmark profile {profile.name}: {len(profile.systems())} systems, gateway latency "
          f"{args.latency_ms} ms, results in {out_dir}", flush=True)  # fmt: skip
    try:
        results = Bench(args, profile).execute()
    except KeyboardInterrupt:
        print("interrupted; children stopped", file=sys.stderr)
        return 130
    return finish(results, out_dir, args.check_ratio, args.check_cpu_share)
