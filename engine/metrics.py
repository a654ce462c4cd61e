"""Business metrics (Prometheus), next to Litestar's per-route request metrics.

Gateway calls are the engine's slowest and least reliable dependency, so every call is counted
by gateway, operation and mapped outcome, and timed.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

GATEWAY_CALLS = Counter(
    "payment_engine_gateway_calls_total",
    "Gateway calls by gateway, operation and outcome",
    ["gateway", "operation", "outcome"],
)
GATEWAY_SECONDS = Histogram(
    "payment_engine_gateway_seconds",
    "Gateway call duration",
    ["gateway", "operation"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOKS = Counter(
    "payment_engine_webhooks_total", "Inbound gateway webhooks by gateway and result", ["gateway", "result"]
)
# Failures to reach a dependency (postgres, redis), counted where they are absorbed or mapped
# to a 503, so an outage shows on a dashboard even while requests still succeed (Redis fails open).
DEPENDENCY_ERRORS = Counter(
    "payment_engine_dependency_errors_total", "Failed calls to a dependency, by dependency", ["dependency"]
)
# Follow-up work rows still pending, by kind; refreshed at scrape time by one grouped count.
# ``mostrecent``: with several workers the last scrape's value is the truth, not a sum.
WORK_PENDING = Gauge(
    "payment_engine_work_pending", "Work rows pending, by kind", ["kind"], multiprocess_mode="mostrecent"
)
SHED_REQUESTS = Counter(
    "payment_engine_shed_requests", "Requests answered 503 overloaded at once because MAX_INFLIGHT were in flight"
)
RATE_LIMITED = Counter("payment_engine_rate_limited", "Requests answered 429 because their merchant was over its rate")
