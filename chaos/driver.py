"""The fault driver: runs the plan's fault schedule against the real processes while the workload runs.

Each event starts once the workload has started ``event.at`` checkouts, one event at a time:

* ``kill``: SIGKILL the engine's process group (no graceful anything), start it again on the
  same port (the clients meanwhile get refused connections and retry); with a ``gateway``, first
  hold that gateway's next POSTs with a latency fault and kill once one is being held, so the
  gateway finishes work whose answer the engine never hears;
* ``postgres``: stop the test's own PostgreSQL (``fast``: every client disconnected at once),
  keep it down ``hold_s``, start it again on the same port and data;
* ``redis``: stop the test's own Redis for ``hold_s``, start it again (it holds only
  rebuildable data, and no persistence: it comes back empty);
* ``sandbox``: register a sandbox fault for ``count`` requests of one gateway (5xx, HTML 503,
  timeout, dropped connection, latency, refund left pending);
* ``webhooks``: switch the sandbox's webhook delivery to ``duplicate`` / ``reverse`` / ``hold``
  for ``hold_s``, then back to normal (held webhooks are then delivered late, all at once).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from chaos.plan import FaultEvent, Plan
from tests.support.procs import ProcessStack


class Progress(Protocol):
    """How far the workload got."""

    started: int
    finished: int


@dataclass
class Driver:
    """Injects the plan's faults; ``done`` counts what was injected, by kind."""

    plan: Plan
    procs: ProcessStack
    postgres: object  # OwnedPostgres
    redis: object  # OwnedRedis
    done: Counter[str] = field(default_factory=Counter)
    begun: list[asyncio.Event] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    restart_s: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.begun = [asyncio.Event() for _ in self.plan.faults]

    async def admit(self, index: int) -> None:
        """Hold checkout ``index`` until every fault due before it has begun: the workload cannot
        run ahead of the schedule, so every fault lands while checkouts are in flight."""
        for event, begun in zip(self.plan.faults, self.begun, strict=True):
            if event.at < index:
                await begun.wait()

    async def run(self, progress: Progress, stop: asyncio.Event) -> None:
        """Inject every event when its turn comes; returns early once ``stop`` is set."""
        try:
            await self._run(progress, stop)
        finally:
            for begun in self.begun:  # never leave a checkout waiting on a fault that will not come
                begun.set()

    async def _run(self, progress: Progress, stop: asyncio.Event) -> None:
        for event, begun in zip(self.plan.faults, self.begun, strict=True):
            while progress.started < event.at and not stop.is_set():  # noqa: ASYNC110 - a counter, not an event
                await asyncio.sleep(0.02)
            if stop.is_set():
                return
            begun.set()
            began = time.monotonic()
            await self.inject(event)
            self.log.append(f"{event.describe()} took {time.monotonic() - began:.1f}s (finished {progress.finished})")

    async def inject(self, event: FaultEvent) -> None:
        """Carry out one event."""
        if event.kind == "kill":
            if event.gateway is not None:
                await self.hold_at(event.gateway)
            began = time.monotonic()
            await self.procs.kill_engine()
            await self.procs.start_engine()
            self.restart_s.append(time.monotonic() - began)
        elif event.kind == "postgres":
            await asyncio.to_thread(self.postgres.stop, "fast")  # type: ignore[attr-defined]
            await asyncio.sleep(event.hold_s)
            await asyncio.to_thread(self.postgres.start)  # type: ignore[attr-defined]
        elif event.kind == "redis":
            await asyncio.to_thread(self.redis.stop)  # type: ignore[attr-defined]
            await asyncio.sleep(event.hold_s)
            await asyncio.to_thread(self.redis.start)  # type: ignore[attr-defined]
        elif event.kind == "sandbox":
            await self.sandbox(
                "POST",
                "/_sandbox/faults",
                {"gateway": event.gateway, "fault": event.fault, "count": event.count, "latency_ms": 1500},
            )
        elif event.kind == "webhooks":
            await self.sandbox("POST", "/_sandbox/webhooks", {"mode": event.fault})
            await asyncio.sleep(event.hold_s)
            await self.sandbox("POST", "/_sandbox/webhooks", {"mode": "normal"})
            await self.sandbox("POST", "/_sandbox/webhooks/flush")
        else:
            raise ValueError(f"unknown fault kind {event.kind!r}")
        self.done[event.kind] += 1

    async def hold_at(self, gateway: str) -> None:
        """Slow ``gateway`` down (a latency fault on its next POSTs) and wait until one was taken:
        the kill then lands while the gateway is processing a request the engine sent."""
        fault = await self.sandbox(
            "POST",
            "/_sandbox/faults",
            {"gateway": gateway, "fault": "latency", "latency_ms": 1500, "count": 2, "method": "POST"},
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            faults = (await self.sandbox("GET", "/_sandbox/faults"))["faults"]
            left = next((f["count"] for f in faults if f["id"] == fault["id"]), 0)  # type: ignore[union-attr]
            if left < 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # the held request is at the gateway: well inside its 1.5 s

    async def sandbox(self, method: str, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
        """Call the sandbox's control API."""
        async with httpx.AsyncClient(base_url=self.procs.sandbox_url, timeout=10) as http:
            response = await http.request(method, path, json=body)
        response.raise_for_status()
        return dict(response.json())

    async def calm(self) -> None:
        """End every fault: no sandbox faults, normal webhooks, held ones delivered, engine up."""
        await self.sandbox("DELETE", "/_sandbox/faults")
        await self.sandbox("POST", "/_sandbox/webhooks", {"mode": "normal"})
        await self.sandbox("POST", "/_sandbox/webhooks/flush")
        if self.procs.engine_pid is None:
            await self.procs.start_engine()

    @property
    def sandbox_faults(self) -> int:
        """Sandbox faults injected (gateway faults and webhook modes)."""
        return self.done["sandbox"] + self.done["webhooks"]


__all__ = ["Driver"]
