"""An engine and a sandbox of a test module's own, served in process with tuned settings.

For tests that need limits the session's engine must not have (a small ``MAX_INFLIGHT``, a tiny
pool, a rate limit, a bulkhead): a fresh database (no other engine's worker takes its rows), its
own sandbox (its faults touch nobody else), the same ``RequestIdMiddleware`` the CLI serves.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from api.app import create_app, served_app
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings
from tests.conftest import Stack
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import Services, engine_settings, fresh_database


@contextlib.asynccontextmanager
async def tuned_stack(
    svc: Services, prefix: str, sandbox: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[Stack]:
    """Sandbox (``sandbox``: SandboxSettings overrides) + engine (settings ``overrides`` applied,
    reconciler off) over real HTTP."""
    async with fresh_database(svc, prefix) as db:
        api_port, sandbox_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox_app = create_sandbox(
            SandboxSettings(
                public_url=sandbox_url,
                webhook_url=f"http://127.0.0.1:{api_port}/v1/webhooks/{{gateway}}/{{merchant_id}}",
                upi_delay_s=0.3,
                hang_s=6.0,
                webhook_retry_delays_s=(0.2, 0.5),
                **(sandbox or {}),
            )
        )
        overrides.setdefault("reconcile_interval", 0.0)
        settings = engine_settings(db, port=api_port, sandbox_url=sandbox_url, **overrides)
        app = create_app(settings)
        served = served_app(app, settings)
        async with serve_asgi(sandbox_app, sandbox_port), serve_asgi(served, api_port) as api_url:
            yield Stack(api_url=api_url, sandbox_url=sandbox_url, engine=app.state.engine)
