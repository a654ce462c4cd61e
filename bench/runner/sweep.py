"""``python -m bench --sweep``: the latency sweep, where concurrency rather than CPU decides.

Real gateways answer an S2S card payment in hundreds of milliseconds, UPI and 3-D Secure in
seconds. For each gateway latency (50 / 300 / 1,000 ms per sandbox call) every system is started
afresh and driven at 1,000 and 2,000 concurrent users, *paced*: together the users offer a fixed
number of checkouts per second (``OFFERED_PER_S``), far below what the engine's CPU carries, so
what limits a system is how many checkouts it can hold open at once. Writes
``bench-sweep.json`` / ``.md`` and ``sweep-checkout.png`` (throughput and p99 against latency).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.ratio import machine
from bench.runner.plan import Profile, Stage

LATENCIES_MS = (50, 300, 1000)
USERS = (1000, 2000)
SYSTEMS = ("engine-1w", "sync-threads", "sync-workers")
# Offered load in checkouts per second, all users together: the engine spends about 4 ms of CPU
# per checkout, so this keeps it near a fifth of one core, whatever the latency.
OFFERED_PER_S = 50.0


def profile(measure_s: float) -> Profile:
    """One paced checkout stage at each user level, for the sweep's systems."""
    stage = Stage(
        "checkout", SYSTEMS, USERS, measure_s=measure_s, warmup_min_s=5, warmup_max_s=30, min_cycles=1,
        measure_max_s=measure_s, offered_per_s=OFFERED_PER_S,
    )  # fmt: skip
    return Profile(name="sweep", stages=(stage,), compare_users=USERS[0])


def run(args: argparse.Namespace, bench_class: Any, out_dir: Path) -> int:
    """Every latency in turn (each a full ``Bench`` of the sweep profile); then the outputs."""
    runs: list[dict[str, Any]] = []
    failures: list[str] = []
    started = time.monotonic()
    for latency in LATENCIES_MS:
        args.latency_ms = latency
        print(f"== sweep: gateway latency {latency} ms", flush=True)
        results = bench_class(args, profile(args.measure or 20)).execute()
        for one in results["runs"]:
            one["gateway_latency_ms"] = latency
        runs += results["runs"]
        failures += [f"{latency} ms: {f}" for f in results["failures"]]
    document = {
        "benchmark": "latency sweep: paced checkouts at 1,000 and 2,000 users",
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "offered_per_s": OFFERED_PER_S,
        "duration_s": round(time.monotonic() - started),
        "failures": failures,
        "runs": runs,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench-sweep.json").write_text(json.dumps(document, indent=1) + "\n")
    (out_dir / "bench-sweep.md").write_text(markdown(document))
    chart(document, out_dir / "sweep-checkout.png")
    print(markdown(document), flush=True)
    return 1 if failures else 0


def _row(one: dict[str, Any]) -> tuple[float, float, float, int]:
    done = one["flows_per_s"].get("checkout", 0.0)
    p99 = one["flow_latency_ms"].get("checkout", {}).get("p99", 0.0)
    rss = one["resources"]["server"]["peak_process_rss_mb"]
    return done, p99, rss, one["errors"]


def markdown(document: dict[str, Any]) -> str:
    """One line per (latency, system, users): checkouts/s, flow p99, errors, peak RSS per process."""
    m = document["machine"]
    lines = [
        f"# Latency sweep — {document['when']}",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores. Users paced to offer "
        f"{document['offered_per_s']:.0f} checkouts/s in all (create + confirm with 3 gateway calls + get).",
        "",
        "| gateway latency ms | system | users | checkouts/s | flow p99 ms | errors | peak RSS MB per process |",
        "|---|---|---|---|---|---|---|",
    ]
    for one in document["runs"]:
        done, p99, rss, errors = _row(one)
        lines.append(f"| {one['gateway_latency_ms']} | {one['system']} | {one['users']} | {done:.1f} "
                     f"| {p99:.0f} | {errors} | {rss:.0f} |")  # fmt: skip
    lines += ["", *[f"failed: {f}" for f in document["failures"]]]
    return "\n".join(lines) + "\n"


def chart(document: dict[str, Any], path: Path) -> None:
    """Two panels against gateway latency: checkouts/s and flow p99, a line per system and level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    keys = sorted({(r["system"], r["users"]) for r in document["runs"]})
    for system, users in keys:
        points = sorted((r["gateway_latency_ms"], *_row(r)[:2]) for r in document["runs"]
                        if r["system"] == system and r["users"] == users)  # fmt: skip
        latency = [p[0] for p in points]
        style = "-" if users == USERS[0] else "--"
        left.plot(latency, [p[1] for p in points], style, marker="o", label=f"{system}, {users} users")
        right.plot(latency, [p[2] / 1000 for p in points], style, marker="o", label=f"{system}, {users} users")
    for ax, title, ylabel in ((left, "Checkouts completed", "checkouts / s"), (right, "Checkout p99", "p99 (s)")):
        ax.set_xscale("log")
        ax.set_xticks(list(LATENCIES_MS), [str(v) for v in LATENCIES_MS])
        ax.set_xlabel("gateway latency per call (ms)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{title}, {document['offered_per_s']:.0f}/s offered, {document['machine']['cores']} cores")
        ax.grid(True, alpha=0.3)
    right.set_yscale("log")
    left.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
