"""Per-application sandbox state: settings, faults, webhooks, background tasks, ledger, gateway stores.

One :class:`SandboxContext` lives in ``app.state.sandbox``; route handlers and middleware reach
it through :func:`context_of`, so several sandbox apps can run side by side (tests do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.config import SandboxSettings
from sandbox.faults import FaultRegistry
from sandbox.ledger import Ledger
from sandbox.webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from litestar import Request, Response, Router


class BackgroundTasks:
    """Tracks fire-and-forget tasks (webhook delivery, delayed UPI outcomes) so shutdown can cancel them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until no task runs (or the timeout passes); True when idle."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and (left := deadline - time.monotonic()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)
        return not self._tasks

    def expire(self, after_s: float, reject: Callable[[], None]) -> None:
        """Call ``reject`` after ``after_s`` seconds (never when 0): an authentication page nobody
        decided fails, as a real gateway's session times out (``reject`` is a no-op once decided)."""
        if after_s > 0:
            self.spawn(_later(after_s, reject))

    async def cancel_all(self) -> None:
        """Cancel every running task and wait for them to finish."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class SandboxContext:
    """Everything one sandbox application instance owns."""

    settings: SandboxSettings
    tasks: BackgroundTasks = field(default_factory=BackgroundTasks)
    faults: FaultRegistry = field(default_factory=FaultRegistry)
    webhooks: WebhookDispatcher = field(init=False)
    ledger: Ledger = field(default_factory=Ledger)
    gateways: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.webhooks = WebhookDispatcher(
            self.tasks, self.settings.webhook_retry_delays_s, self.settings.webhook_timeout_s
        )

    async def startup(self) -> None:
        """Application startup hook."""
        await self.webhooks.start()

    async def shutdown(self) -> None:
        """Application shutdown hook: stop background work, close clients."""
        await self.tasks.cancel_all()
        await self.webhooks.close()


@dataclass(frozen=True)
class GatewaySpec:
    """How a simulated gateway plugs into the sandbox app.

    ``router`` builds the gateway's Router (mounted at ``/<name>``), ``install`` creates its state
    (stored in ``ctx.gateways[name]``), ``not_found`` renders unknown URLs under its prefix.
    """

    name: str
    router: Callable[[], Router]
    install: Callable[[SandboxContext], Any]
    not_found: Callable[[Request[Any, Any, Any], Exception], Response[Any]] | None = None


def context_of(scope: Mapping[str, Any]) -> SandboxContext:
    """The sandbox context of the application serving ``scope`` (an ASGI scope or a Request)."""
    app = scope["litestar_app"]
    ctx: SandboxContext = app.state.sandbox
    return ctx


async def _later(after_s: float, call: Callable[[], None]) -> None:
    await asyncio.sleep(after_s)
    call()
