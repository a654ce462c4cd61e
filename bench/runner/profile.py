"""Sampling profiles of the server under test during a measured window (py-spy).

``Profiler.start(pids)`` records the busiest server process for a few seconds with
``py-spy record -f raw`` (folded stacks); ``summarize`` turns the folded stacks into the share of
samples per function, both where the time is spent (self) and what it is spent under (inclusive),
which the report prints for runs that miss a target.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))


# Where a sample's time goes: the innermost frame that belongs to one of these, looking outwards
# from the leaf (standard-library frames are charged to their nearest caller of these).
CATEGORIES = (
    ("gateway HTTP client (aiohttp/yarl/multidict)", ("aiohttp/", "yarl/", "multidict/", "propcache/")),
    ("PostgreSQL driver (asyncpg)", ("asyncpg/",)),
    ("Redis client", ("redis/",)),
    ("framework (litestar)", ("litestar/",)),
    ("HTTP server (uvicorn/httptools)", ("uvicorn/", "httptools/")),
    ("JSON/validation (msgspec)", ("msgspec/",)),
    ("engine and api code", ("engine/", "api/")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
)
IDLE = "event loop (idle or in C)"


def category(frames: list[str]) -> str:
    """The category of one sample, given its frames from the root to the leaf."""
    for frame in reversed(frames):
        for name, markers in CATEGORIES:
            if any(marker in frame for marker in markers):
                return name
    return IDLE


def summarize(folded: str, top: int = 15) -> dict[str, Any]:
    """Self and inclusive shares (percent of samples) of the hottest frames in folded stacks, and
    the share of each category (``CATEGORIES``)."""
    total = 0
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for line in folded.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        kinds[category(frames)] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return {"samples": 0, "self": [], "inclusive": [], "categories": []}

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[round(n / total * 100, 1), frame] for frame, n in counter.most_common(top)]

    return {"samples": total, "self": share(own), "inclusive": share(inclusive), "categories": share(kinds)}


def busiest(root: int) -> int:
    """The pid in ``root``'s tree with the most CPU time so far (a worker, not the supervisor)."""
    try:
        tree = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return root
    best, best_cpu = root, -1.0
    for proc in tree:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        if times.user + times.system > best_cpu:
            best, best_cpu = proc.pid, times.user + times.system
    return best


class Profiler:
    """Records one process for ``seconds`` in a background thread once ``start`` is called."""

    def __init__(self, out: Path, seconds: float) -> None:
        """Write the folded stacks to ``out``."""
        self.out, self.seconds = out, seconds
        self._thread: threading.Thread | None = None
        self.pid = 0

    def start(self, root: int) -> None:
        """Begin recording the busiest process under ``root`` (once)."""
        if self._thread is not None or not Path(PY_SPY).exists():
            return
        self.pid = busiest(root)
        argv = [PY_SPY, "record", "-p", str(self.pid), "-d", str(int(self.seconds)), "-r", "200", "-f", "raw",
                "-o", str(self.out), "--nonblocking"]  # fmt: skip
        self._thread = threading.Thread(
            target=subprocess.run, args=(argv,), kwargs={"capture_output": True, "timeout": self.seconds + 30}
        )
        self._thread.start()

    def result(self) -> dict[str, Any] | None:
        """The summary, once the recording finished (``None`` if nothing was recorded)."""
        if self._thread is None:
            return None
        self._thread.join(self.seconds + 40)
        if not self.out.exists():
            return None
        summary = summarize(self.out.read_text(errors="replace"))
        summary.update(pid=self.pid, seconds=self.seconds, file=str(self.out))
        return summary
