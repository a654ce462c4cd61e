"""A small closed-loop HTTP/1.1 load generator (used when ``wrk`` is not installed).

Many keep-alive connections, each sending one request and waiting for its response, for a fixed
duration after a warm-up. Requests are pre-rendered bytes; a header can be made unique per
request (``Idempotency-Key``). Run it in its own process so it does not share the server's CPU
accounting::

    python -m bench.ceiling.loadgen --url http://127.0.0.1:8100/ceiling \
        --body '{"amount":1000,"currency":"INR"}' --duration 10 --connections 64

It prints one JSON object: requests, non-2xx, errors, rps, latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Stats:
    """What one run measured (only responses completed inside the measured window count)."""

    ok: int = 0
    non_2xx: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)


def render(method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[bytes, bytes]:
    """The request bytes split around the spot where a per-request header goes."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    head = ("\r\n".join(lines) + "\r\n").encode()
    return head, b"\r\n" + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"connection: close" not in lower
    idx = lower.find(b"content-length:")
    if idx >= 0:
        end = lower.index(b"\r\n", idx)
        await reader.readexactly(int(lower[idx + 15 : end]))
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, keep_alive


async def _connection(
    n: int, url: str, head: bytes, tail: bytes, unique: str, start: float, stop: float, stats: Stats
) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    prefix = f"{unique}: lg-{uuid.uuid4().hex[:12]}-{n}-".encode() if unique else b""
    i = 0
    writer = None
    while time.perf_counter() < stop:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            i += 1
            request = head + prefix + str(i).encode() + tail if unique else head + tail
            t0 = time.perf_counter()
            writer.write(request)
            status, keep_alive = await _read_response(reader)
            t1 = time.perf_counter()
            if t1 >= start and t1 <= stop:
                if 200 <= status < 300:
                    stats.ok += 1
                else:
                    stats.non_2xx += 1
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                stats.latencies.append(t1 - t0)
            if not keep_alive:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            stats.errors += 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def run(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    duration: float,
    connections: int,
    warmup: float = 1.0,
    unique_header: str = "",
    method: str = "POST",
) -> dict[str, object]:
    """Drive ``url`` for ``warmup + duration`` seconds; return the measured window's figures."""
    head, tail = render(method, url, headers, body)
    if unique_header:
        tail = b"\r\n" + tail  # the unique header line ends before the blank line
    stats = Stats()
    start = time.perf_counter() + warmup
    stop = start + duration
    await asyncio.gather(
        *(_connection(n, url, head, tail, unique_header, start, stop, stats) for n in range(connections))
    )
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else 0.0

    total = stats.ok + stats.non_2xx
    return {
        "tool": "builtin",
        "url": url,
        "duration_s": duration,
        "connections": connections,
        "requests": total,
        "non_2xx": stats.non_2xx,
        "errors": stats.errors,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "rps": round(stats.ok / duration, 1),
        "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": pct(1.0)},
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: print one JSON result object on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="POST")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--unique-header", default="", help="a header given a unique value per request")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    headers = {"Content-Type": "application/json"}
    for item in args.header:
        name, _, value = item.partition(":")
        headers[name.strip()] = value.strip()
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run
    result = run_loop(
        run(
            args.url,
            args.body.encode(),
            headers,
            duration=args.duration,
            connections=args.connections,
            warmup=args.warmup,
            unique_header=args.unique_header,
            method=args.method,
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
