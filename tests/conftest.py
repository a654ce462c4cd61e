"""Fixtures shared by the integration and e2e suites (see tests/support/stack.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from litestar import Litestar

from api.app import create_app, served_app
from engine.bootstrap import Engine
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import ADMIN_TOKEN, Services, engine_settings, services


@pytest_asyncio.fixture(scope="session")
async def svc() -> AsyncIterator[Services]:
    """A fresh migrated database and Redis for the whole session."""
    async with services() as resolved:
        yield resolved


@dataclass
class Stack:
    """The running engine and sandbox, both over real HTTP."""

    api_url: str
    sandbox_url: str
    engine: Engine
    app: Litestar | None = None  # the framework app behind the served stack (no middleware)

    def client(self, api_key: str | None = None, **kwargs: object) -> httpx.AsyncClient:
        """An HTTP client for the API, authenticated as a merchant when ``api_key`` is given."""
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return httpx.AsyncClient(base_url=self.api_url, headers=headers, timeout=30, **kwargs)

    async def new_merchant(self, name: str = "Test Pharmacy") -> tuple[str, str]:
        """Create a merchant through the admin API; returns (merchant id, api key)."""
        merchant_id, api_key, _ = await self.new_merchant_keys(name)
        return merchant_id, api_key

    async def new_merchant_keys(self, name: str = "Test Pharmacy") -> tuple[str, str, str]:
        """Create a merchant through the admin API; returns (id, secret key, publishable key)."""
        async with self.client(ADMIN_TOKEN) as admin:
            response = await admin.post("/v1/admin/merchants", json={"name": name})
        assert response.status_code == 201, response.text
        data = response.json()
        return data["merchant"]["id"], data["api_key"], data["publishable_key"]


@pytest_asyncio.fixture(scope="session")
async def stack(svc: Services) -> AsyncIterator[Stack]:
    """Engine + sandbox served on loopback ports; webhooks flow from the sandbox to the engine."""
    api_port, sandbox_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = create_sandbox(
        SandboxSettings(
            public_url=sandbox_url,
            webhook_url=f"http://127.0.0.1:{api_port}/v1/webhooks/{{gateway}}/{{merchant_id}}",
            upi_delay_s=0.3,
            hang_s=6.0,
            webhook_retry_delays_s=(0.2, 0.5),
        )
    )
    settings = engine_settings(svc, port=api_port, sandbox_url=sandbox_url)
    app = create_app(settings)
    async with serve_asgi(sandbox, sandbox_port), serve_asgi(served_app(app, settings), api_port) as api_url:
        yield Stack(api_url=api_url, sandbox_url=sandbox_url, engine=app.state.engine, app=app)


@dataclass
class Merchant:
    """A merchant of the running stack and a client authenticated as it."""

    id: str
    api_key: str
    http: httpx.AsyncClient


@pytest_asyncio.fixture
async def merchant(stack: Stack) -> AsyncIterator[Merchant]:
    """A fresh merchant (with its sandbox Razorpay account) per test."""
    merchant_id, api_key = await stack.new_merchant()
    async with stack.client(api_key) as http:
        yield Merchant(merchant_id, api_key, http)
