"""``/metrics`` of a server with two worker processes counts the requests of both.

Without multiprocess mode each worker keeps its counters in its own memory and a scrape (served
by whichever worker accepts it) shows only that worker's share.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

import httpx
from prometheus_client.mmap_dict import MmapedDict

from tests.support.owned import owned_services
from tests.support.procs import ProcessStack, child_pids

REQUESTS = 80
SERIES = 'payment_engine_http_requests_total{method="GET",route="/v1/payments",status="200"}'


def per_pid_counts(directory: Path) -> dict[int, float]:
    """The request counter of SERIES as each worker wrote it (``counter_<pid>.db``)."""
    counts: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        pid = int(re.fullmatch(r"counter_(\d+)\.db", path.name).group(1))  # type: ignore[union-attr]
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):
            _, name, labels, _ = json.loads(key)
            if name == "payment_engine_http_requests_total" and labels == {
                "method": "GET",
                "route": "/v1/payments",
                "status": "200",
            }:
                counts[pid] = counts.get(pid, 0) + value
    return counts


def the_workers_metrics_dir(procs: ProcessStack) -> Path:
    """The directory ``serve`` made and handed to its workers (read from their environment)."""
    assert procs.engine_pid is not None
    for pid in child_pids(procs.engine_pid):
        with contextlib.suppress(OSError):
            env = dict(
                item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
            )
            if "PROMETHEUS_MULTIPROC_DIR" in env:
                return Path(env["PROMETHEUS_MULTIPROC_DIR"])
    raise AssertionError("no worker has PROMETHEUS_MULTIPROC_DIR")


async def test_a_scrape_of_two_workers_counts_every_request_of_both() -> None:
    async with owned_services() as (svc, _, _):
        env = {"ENGINE_WORKERS": "2", "RECONCILE_INTERVAL_S": "0"}
        async with ProcessStack(svc, engine_env=env) as procs:
            _, key = await procs.new_merchant()
            # No keep-alive: every request is a new connection, so the kernel spreads them over
            # both workers' accept loops.
            limits = httpx.Limits(max_keepalive_connections=0)
            async with procs.client(key, limits=limits) as http:
                sem = asyncio.Semaphore(16)

                async def one() -> int:
                    async with sem:
                        return (await http.get("/v1/payments")).status_code

                statuses = await asyncio.gather(*(one() for _ in range(REQUESTS)))
            assert statuses == [200] * REQUESTS
            scrapes = []
            async with procs.client(limits=limits) as http:
                for _ in range(4):  # whichever worker answers, the totals are the same
                    scrapes.append((await http.get("/metrics")).text)
            for text in scrapes:
                line = next(x for x in text.splitlines() if x.startswith(SERIES))
                assert float(line.split()[-1]) == REQUESTS, line
                for kind in ("capture", "void", "register_customer"):
                    assert f'payment_engine_work_pending{{kind="{kind}"}} 0.0' in text
            metrics_dir = the_workers_metrics_dir(procs)
            workers = per_pid_counts(metrics_dir)
    assert not metrics_dir.exists(), "the server's own metrics directory outlived it"
    assert len(workers) == 2, workers
    assert all(v > 0 for v in workers.values()), workers
    assert sum(workers.values()) == REQUESTS
