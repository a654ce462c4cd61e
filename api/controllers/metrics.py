"""``/metrics``: Prometheus exposition covering every worker process."""

from __future__ import annotations

import os

from litestar import Controller, Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.deps import engine_of
from engine.services.health import refresh_work_pending


def exposition() -> bytes:
    """Every metric of this server: with ``PROMETHEUS_MULTIPROC_DIR`` set (several workers), the
    merged values of all of them (the files each worker writes there), else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


class MetricsController(Controller):
    """Prometheus scrape target."""

    path = "/metrics"
    include_in_schema = False

    @get("/", summary="Prometheus metrics")
    async def metrics(self, state: State) -> Response[bytes]:
        """The exposition text, the work-pending gauge refreshed first (one bounded query)."""
        await refresh_work_pending(engine_of(state))
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
