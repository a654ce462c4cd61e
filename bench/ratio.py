"""Engine vs ceiling: the same create-payment load on both, and the ratio of their throughputs.

Starts PostgreSQL (``DATABASE_URL``, or the embedded one under ``--data-dir``) and Redis the same
way, then, one after the other so they never share the CPU:

1. the ceiling app (``bench/ceiling/app.py``: raw ASGI + one prepared durable INSERT), driven with
   ``POST /ceiling``;
2. the engine (``payment-engine serve``, one worker), driven with ``POST /v1/payments``
   ``{"amount":1000,"currency":"INR"}`` and a unique ``Idempotency-Key`` per request.

With ``--rounds N`` both servers stay up and the loads alternate N times; medians count.
The load comes from ``wrk`` (with a Lua script) when it is on PATH, otherwise from the built-in
generator (``bench/ceiling/loadgen.py``) in its own process. Prints both throughputs and the
ratio, and writes ``bench/results/ratio.json`` with the machine's description.

    python -m bench.ratio --duration 10 --connections 64
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.config import load_settings
from engine.runtime.embedded import ensure_services, stop_services
from engine.runtime.processes import free_port, python_module, start_child, stop_child, wait_http

ROOT = Path(__file__).resolve().parents[1]
BODY = '{"amount":1000,"currency":"INR"}'

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '%(body)s'
wrk.headers["Content-Type"] = "application/json"
%(auth)s
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  %(request)s
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"non_2xx":%%d,"errors":%%d,'
    .. '"p50":%%.2f,"p90":%%.2f,"p99":%%.2f,"max":%%.2f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
"""


@dataclass(frozen=True)
class Target:
    """Where to send the load and how."""

    url: str
    headers: dict[str, str]
    unique: bool


def machine() -> dict[str, Any]:
    """CPU model, core count, Python and OS of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def _wrk(url: str, headers: dict[str, str], unique: bool, args: argparse.Namespace) -> dict[str, Any]:
    auth = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    request = (
        'return wrk.format(nil, nil, {["Idempotency-Key"] = "wrk-" .. run .. "-" .. tid .. "-" .. counter})'
        if unique
        else "return wrk.format()"
    )
    script = WRK_SCRIPT % {"body": BODY, "auth": auth, "request": request}
    script = f'run = "{uuid.uuid4().hex[:12]}"\n' + script
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = max(1, min(args.connections, os.cpu_count() or 1))
        if args.warmup > 0:
            subprocess.run(
                ["wrk", "-t", str(threads), "-c", str(args.connections), "-d", f"{args.warmup}s", "-s",
                 handle.name, url],
                capture_output=True, check=False,
            )  # fmt: skip
        out = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(args.connections), "-d", f"{args.duration}s", "-s",
             handle.name, url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(handle.name)
    match = re.search(r"WRKJSON (\{.*\})", out)
    if not match:
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    raw = json.loads(match.group(1))
    seconds = raw["duration_us"] / 1e6
    return {
        "tool": "wrk",
        "url": url,
        "duration_s": round(seconds, 2),
        "connections": args.connections,
        "requests": raw["requests"],
        "non_2xx": raw["non_2xx"],
        "errors": raw["errors"],
        "rps": round((raw["requests"] - raw["non_2xx"]) / seconds, 1),
        "latency_ms": {k: raw[k] for k in ("p50", "p90", "p99", "max")},
    }


def drive(url: str, headers: dict[str, str], unique: bool, args: argparse.Namespace) -> dict[str, Any]:
    """Load ``url`` with wrk or the built-in generator; return the figures."""
    if args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk")):
        return _wrk(url, headers, unique, args)
    argv = python_module(
        "bench.ceiling.loadgen", "--url", url, "--body", BODY, "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--connections", str(args.connections),
    )  # fmt: skip
    for name, value in headers.items():
        argv += ["--header", f"{name}: {value}"]
    if unique:
        argv += ["--unique-header", "Idempotency-Key"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@contextlib.contextmanager
def ceiling_server(env: dict[str, str]) -> Iterator[Target]:
    """The ceiling app on a free port while the block runs."""
    port = free_port()
    child = start_child(python_module("bench.ceiling.app", "--port", str(port), "--dsn", env["DATABASE_URL"]), env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, child, name="ceiling app")
        yield Target(f"http://127.0.0.1:{port}/ceiling", {}, unique=False)
    finally:
        stop_child(child)


@contextlib.contextmanager
def engine_server(env: dict[str, str]) -> Iterator[Target]:
    """A new merchant and ``payment-engine serve`` (one worker) on a free port while the block runs."""
    created = subprocess.run(
        python_module("api.cli", "merchant", "create", "--name", "Bench Pharmacy", "--json"),
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if created.returncode != 0:
        raise RuntimeError(f"merchant create failed: {created.stderr.strip()[-2000:]}")
    api_key = json.loads(created.stdout)["api_key"]
    port = free_port()
    child = start_child(python_module("api.cli", "serve", "--port", str(port), "--workers", "1", "--no-migrate"), env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", 60, child, name="engine")
        yield Target(f"http://127.0.0.1:{port}/v1/payments", {"Authorization": f"Bearer {api_key}"}, unique=True)
    finally:
        stop_child(child)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput, plus every run's throughput."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    summary = dict(ordered[(len(ordered) - 1) // 2])
    summary["rps"] = round(statistics.median(r["rps"] for r in runs), 1)
    summary["rounds_rps"] = [r["rps"] for r in runs]
    return summary


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before that")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds; the median counts")
    parser.add_argument("--tool", choices=("auto", "wrk", "builtin"), default="auto")
    parser.add_argument("--only", choices=("both", "ceiling", "engine"), default="both")
    parser.add_argument("--data-dir", default=os.environ.get("BENCH_DATA_DIR", str(ROOT / ".data" / "bench")))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "ratio.json"))
    args = parser.parse_args(argv)

    env_in = {k: v for k, v in os.environ.items() if k not in {"ENGINE_DATA_DIR", "ENGINE_SANDBOX"}}
    embedded = not env_in.get("DATABASE_URL")
    settings = ensure_services(load_settings(env_in, data_dir=args.data_dir))
    env = {
        **env_in,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ENGINE_DATA_DIR": str(Path(args.data_dir).resolve()),
        "ENGINE_SANDBOX": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env_in.get("PYTHONPATH", "")])),
    }
    results: dict[str, Any] = {
        "benchmark": "create payment: engine vs raw ASGI + one durable INSERT (ceiling)",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "database": "embedded PostgreSQL" if embedded else "DATABASE_URL",
        "load": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "rounds": args.rounds,
        },
    }
    try:
        with contextlib.ExitStack() as stack:
            targets: dict[str, Target] = {}
            if args.only in ("both", "ceiling"):
                targets["ceiling"] = stack.enter_context(ceiling_server(env))
            if args.only in ("both", "engine"):
                targets["engine"] = stack.enter_context(engine_server(env))
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
            for round_ in range(1, args.rounds + 1):
                for name, target in targets.items():  # alternate, so drift hits both alike
                    result = drive(target.url, target.headers, target.unique, args)
                    runs[name].append(result)
                    print(f"round {round_}  {name:<8} {result['rps']:>10.1f} req/s  {_errors(result)}")
            for name, name_runs in runs.items():
                results[name] = summarize(name_runs)
    finally:
        stop_services()
    if "ceiling" in results and "engine" in results and results["ceiling"]["rps"]:
        results["ratio"] = round(results["engine"]["rps"] / results["ceiling"]["rps"], 3)
        print(
            f"ceiling {results['ceiling']['rps']:.1f} req/s, engine {results['engine']['rps']:.1f} req/s, "
            f"ratio {results['ratio']:.3f} (engine / ceiling, median of {args.rounds})"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _errors(result: dict[str, Any]) -> str:
    bad = result.get("non_2xx", 0) + result.get("errors", 0)
    return f"({bad} non-2xx/errors)" if bad else ""


if __name__ == "__main__":
    sys.exit(main())
