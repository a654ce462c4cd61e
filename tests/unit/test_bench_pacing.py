"""Paced load users keep the random phase they were given (bench/load/common.py ``stagger``).

locust monkey-patches the interpreter with gevent when imported, so the check runs in a child
interpreter of its own."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = """
import types
from locust import constant_throughput
from locust.user import wait_time as locust_wait
from bench.load import common

PERIOD_S = 20.0
clock = [1000.0]
common.PACE = 1 / PERIOD_S
common.random.uniform = lambda low, high: 15.0  # this user's phase
common.gevent.sleep = lambda seconds: clock.__setitem__(0, clock[0] + seconds)
common.time = types.SimpleNamespace(perf_counter=lambda: clock[0])
locust_wait.perf_counter = lambda: clock[0]
user = types.SimpleNamespace(_cp_last_run=clock[0], _cp_last_wait_time=0.0)  # as locust creates it
wait = constant_throughput(1 / PERIOD_S)
common.stagger(user)
first = clock[0]
clock[0] += 0.3  # the flow itself
clock[0] += wait(user)
print(clock[0] - first)
"""


@pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="the benchmark's extras are not installed")
def test_a_staggered_users_flows_stay_one_period_apart_from_its_own_start() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # Without restarting the pacing clock the second flow would start 5 s after the first
    # (creation + one period), at the same moment as every other user's second flow.
    assert float(done.stdout.split()[-1]) == pytest.approx(20.0)
