"""The gateway sandbox as the benchmark runs it: set latency, no access log, bounded memory.

    python -m bench.runner.sandbox --port 8001 --latency-ms 100 --webhooks off

Webhooks off (the head-to-head, and the default): the sandbox signs its webhooks as usual but
does not send them, because the synchronous answer already settles a card payment and neither
system should pay for processing them in that comparison. On (the engine's richer mix, where UPI
payments are settled by webhook): they go to ``--webhook-url``. ``POST /_bench/webhooks``
``{"on": true|false}`` switches between the two while it runs. Either way the delivery log is
bounded, so a long run does not grow the sandbox's memory without end.
"""

from __future__ import annotations

import argparse
import collections
import json
from typing import Any

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxSettings

LOG_LIMIT = 2_000


class WebhookSwitch:
    """ASGI wrapper: answers ``POST /_bench/webhooks`` itself, passes everything else on."""

    def __init__(self, app: Any, hooks: Any, on: bool) -> None:
        """Wrap ``app`` whose webhook dispatcher is ``hooks``."""
        self.app, self.hooks, self._emit = app, hooks, hooks.emit
        self.switch(on)

    def switch(self, on: bool) -> None:
        """Send webhooks (``on``) or drop them."""
        self.hooks.emit = self._emit if on else (lambda batch: None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Dispatch one ASGI scope."""
        if scope["type"] == "http" and scope["path"] == "/_bench/webhooks" and scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.switch(bool(json.loads(body or b"{}").get("on")))
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


def build(port: int, latency_ms: int, webhooks: bool, webhook_url: str, upi_delay_s: float) -> Any:
    """The sandbox app configured for a benchmark run."""
    settings = SandboxSettings(
        public_url=f"http://127.0.0.1:{port}",
        webhook_url=webhook_url,
        latency_ms=latency_ms,
        upi_delay_s=upi_delay_s,
        webhook_retry_delays_s=(0.5, 1.0),
    )
    app = create_app(settings)
    hooks = app.state.sandbox.webhooks
    hooks.log = collections.deque(maxlen=LOG_LIMIT)
    return WebhookSwitch(app, hooks, webhooks)


def main(argv: list[str] | None = None) -> None:
    """Serve with uvicorn (uvloop + httptools, like the engine), access log off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--webhooks", choices=("on", "off"), default="off")
    parser.add_argument("--webhook-url", default="http://127.0.0.1:8000/v1/webhooks/{gateway}/{merchant_id}")
    parser.add_argument("--upi-delay-s", type=float, default=1.0)
    args = parser.parse_args(argv)
    app = build(args.port, args.latency_ms, args.webhooks == "on", args.webhook_url, args.upi_delay_s)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,  # as the engine serves: nothing reads the client address
        log_level="warning",
        backlog=4096,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
