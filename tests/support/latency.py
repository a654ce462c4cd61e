"""Timed checkouts and their percentiles, for the sick-gateway tests (a hang, a refusal).

The product target (issue 11): while one gateway hangs or refuses, checkouts on the others cost
their own latency + 150 ms at p99. A test measures the healthy gateway's checkouts (named
explicitly, so nothing else is involved) as the baseline, then the routed checkouts once the sick
gateway's breaker is open, with the same client, sequentially, and compares the two p99s.
"""

from __future__ import annotations

import contextlib
import gc
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
# The product target: a healthy gateway's checkout p99 within its own p99 + this, in seconds.
MARGIN_S = 0.150


async def checkout(http: httpx.AsyncClient, **extra: object) -> tuple[float, httpx.Response]:
    """One create-and-confirm with a succeeding card; (wall-clock seconds, response)."""
    body = {"amount": 1500, "currency": "INR", "confirm": True, "payment_method": CARD, **extra}
    started = time.perf_counter()
    response = await http.post("/v1/payments", json=body, headers={"Idempotency-Key": secrets.token_hex(8)})
    return time.perf_counter() - started, response


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty sample: a value that was measured."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class Timings:
    """Seconds of a series of checkouts."""

    samples: list[float]
    payments: list[dict[str, Any]] = field(default_factory=list)  # the answers, when kept

    @property
    def p50(self) -> float:
        """Median."""
        return percentile(self.samples, 0.50)

    @property
    def p99(self) -> float:
        """99th percentile (nearest rank)."""
        return percentile(self.samples, 0.99)

    def __str__(self) -> str:
        ms = sorted(round(s * 1000) for s in self.samples)
        return f"n={len(ms)} p50={self.p50 * 1000:.0f}ms p99={self.p99 * 1000:.0f}ms max={ms[-1]}ms"


@contextlib.contextmanager
def client_gc_paused() -> Iterator[None]:
    """No garbage collection in this (the measuring) process within the block.

    The test process holds every object of the session so far: a full collection there takes
    25-100 ms on the shared machine (measured with ``gc.callbacks``), and landing inside a timed
    request it shows up as a server outlier that the engine never had. A hundred checkouts leave
    little garbage; it is collected when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def healthy_checkouts(http: httpx.AsyncClient, n: int, *, avoid: str | None = None, **extra: object) -> Timings:
    """``n`` sequential checkouts that must each succeed, none on the gateway ``avoid``; their
    timings and answers."""
    timings = Timings([])
    with client_gc_paused():
        for _ in range(n):
            took, response = await checkout(http, **extra)
            assert response.status_code == 201, response.text
            paid = response.json()
            assert paid["status"] == "succeeded" and paid["gateway"] != avoid, paid
            timings.samples.append(took)
            timings.payments.append(paid)
    return timings
