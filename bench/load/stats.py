"""Read the statistics a run wrote (locust's ``requests`` CSV and failures CSV, and the window).

``parse_stats_csv`` turns locust's CSV into one ``Row`` per request name; ``summarize`` turns the
rows and the measured window into the figures the report uses: flows per second (successful
completions of each ``FLOW``), requests per second, percentiles per request name and per flow,
and error counts. Percentiles are locust's (it rounds response times above 100 ms to 10 ms and
above 1 s to 100 ms).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FLOW = "FLOW"
PERCENTILES = {"p50": "50%", "p95": "95%", "p99": "99%", "max": "100%"}


@dataclass(frozen=True)
class Row:
    """One line of locust's requests CSV."""

    type: str
    name: str
    count: int
    failures: int
    avg_ms: float
    p50: float
    p95: float
    p99: float
    max: float


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0  # "N/A" when a row has no requests


def parse_stats_csv(text: str) -> list[Row]:
    """The rows of a ``*_stats.csv`` (the ``Aggregated`` row included, type ``""``)."""
    rows = []
    for record in csv.DictReader(text.splitlines()):
        rows.append(
            Row(
                type=record.get("Type", "") or "",
                name=record["Name"],
                count=int(_number(record["Request Count"])),
                failures=int(_number(record["Failure Count"])),
                avg_ms=round(_number(record["Average Response Time"]), 1),
                **{key: _number(record[column]) for key, column in PERCENTILES.items()},
            )
        )
    return rows


def parse_failures_csv(text: str) -> list[dict[str, Any]]:
    """The rows of a ``*_failures.csv``: method, name, error, occurrences."""
    out = []
    for record in csv.DictReader(text.splitlines()):
        out.append(
            {
                "method": record.get("Method", ""),
                "name": record.get("Name", ""),
                "error": (record.get("Error", "") or "")[:200],
                "occurrences": int(_number(record.get("Occurrences", "0"))),
            }
        )
    return out


def summarize(rows: list[Row], measure_s: float) -> dict[str, Any]:
    """Throughput, latency and errors of one measured window of ``measure_s`` seconds."""
    if measure_s <= 0:
        raise ValueError("the measured window must be longer than zero")
    flows = {r.name: r for r in rows if r.type == FLOW}
    requests = [r for r in rows if r.type not in (FLOW, "") and r.name != "Aggregated"]
    total = sum(r.count for r in requests)
    failed = sum(r.failures for r in requests)
    return {
        "flows_per_s": {name: round((r.count - r.failures) / measure_s, 1) for name, r in flows.items()},
        "flow_failures": {name: r.failures for name, r in flows.items()},
        "flow_latency_ms": {name: _latency(r) for name, r in flows.items()},
        "requests_per_s": round((total - failed) / measure_s, 1),
        "requests": total,
        "errors": failed,
        "error_rate": round(failed / total, 4) if total else 0.0,
        "latency_ms": {r.name: _latency(r) for r in requests},
    }


def _latency(row: Row) -> dict[str, float]:
    return {"p50": row.p50, "p95": row.p95, "p99": row.p99, "max": row.max, "avg": row.avg_ms, "count": row.count}


def load_run(prefix: str | Path) -> dict[str, Any]:
    """Summarize the files a run wrote under ``prefix`` (``_stats.csv``, ``_failures.csv``, ``_window.json``)."""
    base = str(prefix)
    window = json.loads(Path(base + "_window.json").read_text())
    rows = parse_stats_csv(Path(base + "_stats.csv").read_text())
    failures_path = Path(base + "_failures.csv")
    failures = parse_failures_csv(failures_path.read_text()) if failures_path.exists() else []
    summary = summarize(rows, float(window["measure_s"]))
    summary["window"] = window
    summary["failures"] = sorted(failures, key=lambda f: -f["occurrences"])[:10]
    return summary


def rows_as_dicts(rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as plain dicts (for JSON)."""
    return [asdict(r) for r in rows]
