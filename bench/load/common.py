"""What every locustfile of the benchmark shares: settings, flows, and the measured window.

Settings come from the environment (the runner sets them; defaults suit a manual run):

| variable | meaning |
|---|---|
| ``BENCH_API_KEY`` | the merchant's secret key (engine and baseline) |
| ``BENCH_PACE`` | flows per second per user; ``0`` (default) is a closed loop without think time |
| ``BENCH_WARMUP_MIN_S`` / ``_MAX_S`` | the warm-up ends when every user has completed a flow, within these |
| ``BENCH_MEASURE_S`` | length of the measured window (at least) |
| ``BENCH_MIN_CYCLES`` / ``BENCH_MEASURE_MAX_S`` | the window also spans this many warm-up cycles, up to this long |
| ``BENCH_OUT`` | path prefix of the outputs: ``<prefix>_stats.csv``, ``_failures.csv``, ``_window.json`` |

The window: after spawning, the warm-up lasts until every user has completed at least one flow
(so a server that queues requests for seconds is measured in its steady state), bounded by the
min and max above. Then the statistics are reset and the window runs for ``BENCH_MEASURE_S`` or
``BENCH_MIN_CYCLES`` times the warm-up, whichever is longer (capped): a server that answers in
first-come order makes identical closed-loop users move in step, so their checkouts complete in
bursts one cycle apart, and only a window of several cycles counts them fairly. At
its end locust's own CSV writer dumps the statistics exactly as they are, the window's times are
written, and locust quits. A flow (``checkout``, ``refund`` ...) is recorded as a request of type
``FLOW`` with its total duration, so throughput in flows per second is one CSV row.
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from locust import constant, constant_throughput, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

API_KEY = os.environ.get("BENCH_API_KEY", "")
PACE = float(os.environ.get("BENCH_PACE", "0") or 0)
WARMUP_MIN_S = float(os.environ.get("BENCH_WARMUP_MIN_S", "5"))
WARMUP_MAX_S = float(os.environ.get("BENCH_WARMUP_MAX_S", "30"))
MEASURE_S = float(os.environ.get("BENCH_MEASURE_S", "20"))
MIN_CYCLES = float(os.environ.get("BENCH_MIN_CYCLES", "2"))
MEASURE_MAX_S = float(os.environ.get("BENCH_MEASURE_MAX_S", str(3 * MEASURE_S)))
OUT = os.environ.get("BENCH_OUT", "")
FLOW = "FLOW"

GOOD_CARD = {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DECLINED_CARD = {"number": "4000000000000002", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
AMOUNT = 49900


def wait_time() -> Any:
    """Closed loop, or ``BENCH_PACE`` flows per second per user."""
    return constant_throughput(PACE) if PACE > 0 else constant(0)


def stagger(user: Any) -> None:
    """When paced, start after a random part of one period, so arrivals spread evenly over time
    instead of coming in a burst per period (all users are spawned within a few seconds).

    locust's pacing counts from the user's creation (``_cp_last_run``), so without restarting
    that clock here every user's *second* flow would start at creation + one period -- all of
    them together, undoing the stagger after one cycle (and reading more than the offered rate
    in a window that starts there)."""
    if PACE > 0:
        gevent.sleep(random.uniform(0, 1 / PACE))
        user._cp_last_run = time.perf_counter()


def auth_headers(key: str | None = None) -> dict[str, str]:
    """Bearer auth, JSON, and an ``Idempotency-Key`` when given."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


def encode(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


CREATE_BODY = encode({"amount": AMOUNT, "currency": "INR"})
CONFIRM_GOOD = encode({"payment_method": {"type": "card", "card": GOOD_CARD}})
CONFIRM_DECLINED = encode({"payment_method": {"type": "card", "card": DECLINED_CARD}})

_state: dict[str, Any] = {"cycled": set(), "cpu_warnings": 0, "window": None}


class FlowFailed(Exception):
    """A step of a flow did not answer what it should have."""


@contextmanager
def flow(environment: Environment, user: object, name: str) -> Iterator[None]:
    """Time a whole flow and record it as one ``FLOW`` request (a failure if a step failed)."""
    started = time.perf_counter()
    error: Exception | None = None
    try:
        yield
    except FlowFailed as exc:
        error = exc
    elapsed_ms = (time.perf_counter() - started) * 1000
    environment.events.request.fire(
        request_type=FLOW, name=name, response_time=elapsed_ms, response_length=0, exception=error, context={}
    )
    if error is None:
        _state["cycled"].add(id(user))


def expect(response: Any, status: int | tuple[int, ...], what: str) -> Any:
    """Mark a ``catch_response`` response failed (and abort the flow) unless its status matches."""
    wanted = status if isinstance(status, tuple) else (status,)
    if response.status_code not in wanted:
        snippet = (response.text or "")[:120] if response.status_code else str(response.error)[:120]
        response.failure(f"{what}: HTTP {response.status_code} {snippet}")
        raise FlowFailed(f"{what}: HTTP {response.status_code}")
    response.success()
    return response


def _dump(environment: Environment, window: dict[str, Any]) -> None:
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    with open(f"{OUT}_stats.csv", "w", newline="") as handle:
        writer.requests_csv(csv.writer(handle))
    with open(f"{OUT}_failures.csv", "w", newline="") as handle:
        writer.failures_csv(csv.writer(handle))
    with open(f"{OUT}_window.json", "w") as handle:
        json.dump(window, handle)


def _controller(environment: Environment) -> None:
    runner = environment.runner
    assert runner is not None
    started = time.time()
    distributed = isinstance(runner, MasterRunner)
    while True:
        gevent.sleep(0.5)
        elapsed = time.time() - started
        target = runner.target_user_count or 0
        spawned = runner.user_count >= target > 0
        cycled = len(_state["cycled"])
        ready = distributed or cycled >= target
        if spawned and ((ready and elapsed >= WARMUP_MIN_S) or elapsed >= WARMUP_MAX_S):
            break
        if int(elapsed * 2) % 10 == 0:
            print(f"  warm-up {elapsed:4.0f}s: {runner.user_count}/{target} users, {cycled} cycled", flush=True)
    runner.stats.reset_all()
    t0 = time.time()
    measure = min(max(MEASURE_S, MIN_CYCLES * (t0 - started)), max(MEASURE_S, MEASURE_MAX_S))
    print(f"  measuring {measure:.0f}s (warm-up took {t0 - started:.0f}s)", flush=True)
    while (left := t0 + measure - time.time()) > 0:
        gevent.sleep(min(left, 5.0))
        done = runner.stats.total.num_requests
        print(f"  {time.time() - t0:4.0f}s: {done} requests, {runner.stats.total.num_failures} failed", flush=True)
    t1 = time.time()
    window = {
        "start": t0,
        "end": t1,
        "warmup_s": round(t0 - started, 1),
        "measure_s": round(t1 - t0, 3),
        "users": runner.target_user_count,
        "users_cycled_in_warmup": len(_state["cycled"]),
        "distributed": distributed,
        "loadgen_cpu_warnings": _state["cpu_warnings"],
        "pace_per_user": PACE,
    }
    if OUT:
        _dump(environment, window)
    runner.quit()


@events.test_start.add_listener
def _on_test_start(environment: Environment, **kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    gevent.spawn(_controller, environment)


@events.cpu_warning.add_listener
def _on_cpu_warning(environment: Environment, cpu_usage: float, **kwargs: Any) -> None:
    _state["cpu_warnings"] += 1
