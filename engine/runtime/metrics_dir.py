"""Prometheus multiprocess mode for a server with several worker processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def metrics_dir(workers: int) -> Iterator[Path | None]:
    """With several workers, point every one at one fresh ``PROMETHEUS_MULTIPROC_DIR``.

    Each worker then writes its metric values to files there (prometheus_client picks the mode
    at import, from the environment the workers inherit), and a scrape -- answered by whichever
    worker -- merges them all. A directory the operator set is used as given but emptied first:
    files of a previous run's pids would otherwise be added to this run's counters. One we made
    is removed when the server stops. A worker that dies keeps its files: its counts stay counted.
    """
    if workers <= 1:
        yield None
        return
    given = os.environ.get(ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="payment-engine-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[ENV] = str(path)
    try:
        yield path
    finally:
        if not given:
            shutil.rmtree(path, ignore_errors=True)
            os.environ.pop(ENV, None)
