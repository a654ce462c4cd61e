"""Shared e2e fixtures: a tiny webhook receiver served over real HTTP, and ``http``, a fresh
merchant's client on the module's own ``procs`` (a :class:`ProcessStack` the module defines)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest_asyncio

from tests.support.procs import ProcessStack
from tests.support.servers import serve_asgi


@dataclass
class ReceivedWebhook:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """Records every POST; ``fail_first[path_suffix] = n`` answers 500 to the first n hits of a path."""

    base_url: str = ""
    calls: list[ReceivedWebhook] = field(default_factory=list)
    fail_first: dict[str, int] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.calls.append(ReceivedWebhook(scope["path"], headers, body))
        self.arrived.set()
        key = scope["path"].rsplit("/", 1)[-1]
        status = 200
        if self.fail_first.get(key, 0) > 0:
            self.fail_first[key] -= 1
            status = 500
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def for_path_suffix(self, suffix: str) -> list[ReceivedWebhook]:
        """Calls whose path ends with ``/<suffix>``."""
        return [call for call in self.calls if call.path.endswith(f"/{suffix}")]

    async def wait_for(self, suffix: str, count: int, within: float = 5.0) -> list[ReceivedWebhook]:
        """Wait (at most ``within`` seconds) until ``count`` calls arrived for ``suffix``; returns them."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while len(self.for_path_suffix(suffix)) < count:
                    self.arrived.clear()
                    await self.arrived.wait()
        return self.for_path_suffix(suffix)


@pytest_asyncio.fixture(scope="module")
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on a free port (module-wide)."""
    receiver = WebhookReceiver()
    async with serve_asgi(receiver) as base_url:
        receiver.base_url = base_url
        yield receiver


@pytest_asyncio.fixture
async def http(procs: ProcessStack) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh merchant's client on the module's ``procs``; the sandbox starts without faults.

    Only for modules that define a ``procs`` fixture (the crash tests): it is theirs to build,
    with each module's own database and timeouts.
    """
    await procs.clear_sandbox_faults()
    _, api_key = await procs.new_merchant()
    async with procs.client(api_key) as client:
        yield client
