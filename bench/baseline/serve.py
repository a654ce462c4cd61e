"""Serve the baseline with gunicorn, or create its merchant.

    python -m bench.baseline.serve --mode sync --port 8300           # 2 x cores + 1 sync workers
    python -m bench.baseline.serve --mode threads --port 8300        # gthread workers
    python -m bench.baseline.serve merchant --dsn postgresql://...   # prints {"merchant_id", "api_key"}

Sync workers answer one request at a time each and close the connection after it (gunicorn's
sync worker has no keep-alive); gthread workers keep connections alive and run ``--threads``
requests at once per process, each thread with its own gateway session, the pool shared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import sys

import psycopg

from bench.baseline.service import new_id

CORES = os.cpu_count() or 1


def gunicorn_argv(mode: str, port: int, workers: int | None, threads: int) -> list[str]:
    """The gunicorn command line for ``mode`` (``sync`` or ``threads``)."""
    argv = [
        sys.executable, "-m", "gunicorn", "bench.baseline.app:application",
        "--bind", f"127.0.0.1:{port}",
        "--backlog", "2048",
        "--timeout", "120",
        "--graceful-timeout", "5",
        "--log-level", "warning",
    ]  # fmt: skip
    if mode == "sync":
        argv += ["--worker-class", "sync", "--workers", str(workers or 2 * CORES + 1)]
    else:
        argv += [
            "--worker-class", "gthread", "--workers", str(workers or CORES),
            "--threads", str(threads), "--keep-alive", "75", "--worker-connections", "2000",
        ]  # fmt: skip
    return argv


def pool_max(mode: str, threads: int) -> int:
    """Connections per worker: one busy request per sync worker; gthread shares a pool among threads
    (transactions are short and no connection is held across a gateway call)."""
    return 2 if mode == "sync" else max(2, min(threads, 24))


def create_merchant(dsn: str, name: str = "Baseline Pharmacy") -> dict[str, str]:
    """A merchant and its API key in the engine's tables (the key stored as its SHA-256)."""
    merchant_id = new_id("mer")
    api_key = "sk_test_" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO merchants (id, name, sandbox) VALUES (%s, %s, false)", (merchant_id, name))
        conn.execute(
            "INSERT INTO api_keys (id, merchant_id, key_hash, key_prefix) VALUES (%s, %s, %s, %s)",
            (new_id("key"), merchant_id, hashlib.sha256(api_key.encode()).digest(), api_key[:12]),
        )
    return {"merchant_id": merchant_id, "api_key": api_key}


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["merchant"]:
        parser = argparse.ArgumentParser(prog="bench.baseline.serve merchant")
        parser.add_argument("--dsn", default=os.environ.get("BASELINE_DATABASE_URL") or os.environ.get("DATABASE_URL"))
        parsed = parser.parse_args(args[1:])
        print(json.dumps(create_merchant(parsed.dsn)))
        return
    parser = argparse.ArgumentParser(prog="bench.baseline.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("sync", "threads"), default="sync")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=32)
    parsed = parser.parse_args(args)
    os.environ.setdefault("BASELINE_POOL_MAX", str(pool_max(parsed.mode, parsed.threads)))
    command = gunicorn_argv(parsed.mode, parsed.port, parsed.workers, parsed.threads)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
