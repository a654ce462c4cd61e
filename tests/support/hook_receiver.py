"""A merchant's webhook receiver for tests: records every delivery, answers as scripted."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HookReceiver:
    """ASGI app: records (path, headers, body) of each POST; ``script`` holds the statuses of the
    next answers (then ``default``); a scripted 0 holds the answer until ``release`` is set (a
    receiver that hangs). ``arrived`` is set on every delivery, for waiting."""

    default: int = 200
    script: list[int] = field(default_factory=list)
    deliveries: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    reply: bytes | None = None  # the body of every answer, when set

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.deliveries.append((scope["path"], headers, body))
        self.arrived.set()
        status = self.script.pop(0) if self.script else self.default
        if status == 0:
            await self.release.wait()
            status = 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send(
            {
                "type": "http.response.body",
                "body": self.reply if self.reply is not None else b"x" * 5000 if status >= 500 else b"ok",
            }
        )

    def at(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        """The deliveries to ``path``."""
        return [(h, b) for p, h, b in self.deliveries if p == path]

    async def wait_for(self, path: str, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        """Wait until ``path`` has had ``count`` deliveries."""
        async with asyncio.timeout(timeout):
            while True:
                self.arrived.clear()
                if len(self.at(path)) >= count:
                    break
                await self.arrived.wait()
        return self.at(path)
