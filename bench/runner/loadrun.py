"""One headless locust run against a running system, with its processes watched.

Locust runs as a child process (its own session, so it is always stopped), prints progress
lines that are relayed, and writes its statistics at the end of the measured window
(``bench/load/common.py``). The monitor samples the server, the sandbox, PostgreSQL and the load
generator meanwhile (and, within PostgreSQL, the backends serving the system's own database), plus
server-side counters (statements, transactions, Redis commands: ``bench/runner/counters.py``); the
result merges locust's figures with the CPU and RSS of each and the counters' rates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.load.stats import load_run
from bench.runner.counters import PgCounter, RedisCounter, backend_pids
from bench.runner.monitor import Counter, Group, Monitor, postmaster_pid, redis_pid
from bench.runner.procs import Child, Children, python
from bench.runner.profile import Profiler
from bench.runner.systems import ROOT, Running, Stack, base_env

LOCUSTFILES = {name: str(ROOT / "bench" / "load" / f"{name}.py") for name in ("checkout", "mix", "create")}


@dataclass(frozen=True)
class Load:
    """What to run: a scenario at a number of users, for how long."""

    scenario: str  # checkout | mix | create
    users: int
    measure_s: float
    warmup_min_s: float
    warmup_max_s: float
    min_cycles: float = 2.0  # the window spans at least this many warm-up cycles ...
    measure_max_s: float = 60.0  # ... up to this long
    pace: float = 0.0  # flows per second per user; 0: closed loop
    processes: int = 1  # locust processes (1: one gevent process; >1: master + workers)
    tag: str = ""


def _relay(child: Child, prefix: str, lines: list[str], on_measure: Callable[[], None]) -> None:
    assert child.popen.stdout is not None
    for raw in child.popen.stdout:
        line = raw.decode(errors="replace").rstrip()
        lines.append(line)
        if line.startswith("  measuring"):
            on_measure()
        if line.startswith("  "):
            print(f"{prefix}{line.strip()}", flush=True)


def run_load(
    load: Load,
    running: Running,
    stack: Stack,
    children: Children,
    data_dir: Path,
    out_dir: Path,
    *,
    quiet: bool,
    profile: bool = False,
) -> dict[str, Any]:
    """Drive ``running`` with ``load``; return the run's figures (raises on a failed run).

    With ``profile``, the busiest server process is sampled with py-spy during the window.
    """
    name = f"{running.system.name}_{load.scenario}_{load.users}u{load.tag}"
    prefix = out_dir / name
    for suffix in ("_stats.csv", "_failures.csv", "_window.json", "_pyspy.txt"):
        Path(f"{prefix}{suffix}").unlink(missing_ok=True)
    env = {
        **base_env(stack, data_dir),
        "BENCH_API_KEY": running.api_key,
        "BENCH_FLAVOR": running.system.kind,
        "BENCH_PACE": str(load.pace),
        "BENCH_WARMUP_MIN_S": str(load.warmup_min_s),
        "BENCH_WARMUP_MAX_S": str(load.warmup_max_s),
        "BENCH_MEASURE_S": str(load.measure_s),
        "BENCH_MIN_CYCLES": str(load.min_cycles),
        "BENCH_MEASURE_MAX_S": str(load.measure_max_s),
        "BENCH_OUT": str(prefix),
    }
    spawn_rate = max(50.0, load.users / 3)
    cap = load.warmup_max_s + max(load.measure_s, load.measure_max_s) + load.users / spawn_rate + 30
    argv = python(
        "locust", "-f", LOCUSTFILES[load.scenario], "--headless", "--users", str(load.users),
        "--spawn-rate", str(spawn_rate), "--host", running.url, "--run-time", f"{int(cap)}s",
        "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0", "--stop-timeout", "2",
    )  # fmt: skip
    if load.processes > 1:
        argv += ["--processes", str(load.processes)]
    holder: list[int] = []
    groups = [
        Group("server", lambda: [running.server.pid], listen_port=int(running.url.rsplit(":", 1)[1])),
        Group("loadgen", lambda: holder),
    ]
    if running.sandbox is not None:  # the ceiling has none: its sandbox CPU is absent, not zero
        sandbox = running.sandbox.pid
        groups.append(Group("sandbox", lambda: [sandbox]))
    database = urlsplit(running.database_url).path.lstrip("/")
    pg = postmaster_pid(stack.pgdata) if stack.pgdata else None
    if pg:
        groups.append(Group("postgres", lambda: [pg]))
        groups.append(Group("pg-backends", lambda: backend_pids(pg, database), part=True))
    redis = redis_pid(stack.redis_url)
    if redis:
        groups.append(Group("redis", lambda: [redis]))
    # one Redis serves every system, but only one system runs at a time: its window's delta is its own
    counters = [
        Counter(PgCounter(stack.admin_dsn, database, statements=stack.statements == "ready")),
        Counter(RedisCounter(stack.redis_url)),
    ]
    lines: list[str] = []
    with Monitor(groups, counters=counters) as monitor:
        child = children.start(f"locust-{name}", argv, env, capture=True)
        holder.append(child.pid)
        profiler = Profiler(Path(f"{prefix}_pyspy.txt"), max(3.0, min(10.0, load.measure_s - 3)))
        on_measure = (lambda: profiler.start(running.server.pid)) if profile else (lambda: None)
        relay = threading.Thread(target=_relay, args=(child, "" if quiet else "    ", lines, on_measure), daemon=True)
        relay.start()
        try:
            child.popen.wait(cap + 60)
        except Exception:
            children.stop(child)
            raise
        relay.join(5)
        children.stop(child)
    if not Path(f"{prefix}_window.json").exists():
        tail = "\n".join(lines[-20:])
        raise RuntimeError(f"locust run {name} wrote no statistics (exit {child.popen.returncode}):\n{tail}")
    result = load_run(prefix)
    window = result["window"]
    result["resources"] = monitor.report(window["start"], window["end"])
    if profile and (summary := profiler.result()) is not None:
        result["profile"] = summary
    result.update(system=running.system.name, scenario=load.scenario, users=load.users, pace=load.pace,
                  locust_processes=load.processes, finished_at=time.time())  # fmt: skip
    return result
