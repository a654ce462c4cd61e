"""``python -m bench.hot_routes_ab [ROUNDS]``: what the hot routes save, measured in one process.

The engine's Litestar app is driven in process (plain ASGI calls, no sockets on the API side)
against real PostgreSQL and Redis (``DATABASE_URL``/``REDIS_URL``, else the embedded ones) and
the sandbox in a child process. Each round runs a batch of 20 concurrent checkouts (create with
a key, confirm with a card, get) through Litestar alone, and a batch through ``HotRoutes`` in
front of it, alternating which goes first; the process CPU time of each batch is added to its
side. Alternating batches a few seconds long keeps a shared machine's drifting speed out of the
ratio, which whole benchmark runs minutes apart cannot (README "Performance").
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import msgspec

from api.app import create_app
from api.hot_routes import HotRoutes
from tests.support.servers import free_port
from tests.support.stack import ADMIN_TOKEN, engine_settings, services

BATCH = 20
BODY = b'{"amount": 49900, "currency": "INR", "metadata": {"order": "o1"}}'
CARD = b'{"payment_method": {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}}'  # noqa: E501


async def call(app: Any, method: str, path: str, body: bytes = b"", headers: tuple = ()) -> dict[str, Any]:
    """One ASGI request to ``app``; its status and body."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
        "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
        "headers": [(b"host", b"engine"), (b"content-length", str(len(body)).encode()), *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    out: dict[str, Any] = {}

    async def receive() -> MutableMapping[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the request never disconnects
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] = message.get("body", b"")

    await app(scope, receive, send)
    return out


async def _started(app: Any) -> tuple[asyncio.Task[None], asyncio.Queue[dict[str, str]]]:
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    return task, inbox


async def _checkouts(app: Any, auth: tuple, tag: str) -> None:
    async def one(i: int) -> None:
        made = await call(app, "POST", "/v1/payments", BODY, (*auth, (b"idempotency-key", f"c{tag}{i}".encode())))
        payment_id = msgspec.json.decode(made["body"])["id"]
        key = (b"idempotency-key", f"f{tag}{i}".encode())
        confirmed = await call(app, "POST", f"/v1/payments/{payment_id}/confirm", CARD, (*auth, key))
        assert confirmed["status"] == 200, confirmed
        assert (await call(app, "GET", f"/v1/payments/{payment_id}", b"", auth))["status"] == 200

    await asyncio.gather(*(one(i) for i in range(BATCH)))


async def measure(sandbox_url: str, rounds: int) -> dict[str, float]:
    """Alternate batches; CPU seconds spent per side."""
    async with services() as svc:
        app = create_app(engine_settings(svc, port=free_port(), sandbox_url=sandbox_url))
        task, inbox = await _started(app)
        admin = ((b"authorization", f"Bearer {ADMIN_TOKEN}".encode()),)
        made = await call(app, "POST", "/v1/admin/merchants", b'{"name": "A/B"}', admin)
        auth = ((b"authorization", f"Bearer {msgspec.json.decode(made['body'])['api_key']}".encode()),)
        sides = [("litestar", app), ("hot routes", HotRoutes(app, max_body_bytes=65536))]
        spent = {name: 0.0 for name, _ in sides}
        for round_ in range(rounds):
            for name, side in sides if round_ % 2 == 0 else sides[::-1]:
                started = time.process_time()
                await _checkouts(side, auth, f"{round_}{name}")
                spent[name] += time.process_time() - started
        await inbox.put({"type": "lifespan.shutdown"})
        await task
    return spent


def main(rounds: int) -> None:
    """Start the sandbox, measure, print CPU per checkout for each side and their ratio."""
    import uvloop

    port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"http://127.0.0.1:{port}/healthz") and time.monotonic() < deadline:
            time.sleep(0.2)
        spent = uvloop.run(measure(f"http://127.0.0.1:{port}", rounds))
    finally:
        sandbox.terminate()
    count = rounds * BATCH
    for name, cpu in spent.items():
        print(f"{name:10s} {1000 * cpu / count:.2f} ms CPU per checkout ({count} checkouts)")
    print(f"hot routes / litestar: {spent['hot routes'] / spent['litestar']:.2f}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
