"""The SSRF guard of merchant webhooks, on an engine outside sandbox mode: a URL whose host
resolves to any loopback, private, link-local or metadata address is refused when saved, and a
delivery is refused at send time too (DNS can change after the endpoint was saved)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from api.app import create_app, served_app
from engine.bootstrap import Engine
from tests.support.hook_receiver import HookReceiver
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import ADMIN_TOKEN, Services, engine_settings, fresh_database

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture(scope="module")
async def live(svc: Services) -> AsyncIterator[tuple[str, Engine]]:
    """An engine in live mode (no sandbox), with its own database."""
    async with fresh_database(svc, "engine_ssrf") as own:
        port = free_port()
        settings = engine_settings(
            own, port=port, sandbox_url="http://127.0.0.1:9", sandbox=False, webhook_poll=0.05, webhook_timeout=1.0
        )
        app = create_app(settings)
        async with serve_asgi(served_app(app, settings), port) as url:
            yield url, app.state.engine


async def _client(url: str) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as admin:
        created = await admin.post("/v1/admin/merchants", json={"name": "Live Pharmacy"})
    assert created.status_code == 201, created.text
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {created.json()['api_key']}"})


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
        "https://2130706433/",  # 127.0.0.1 spelt as one number
        "https://no-such-host.invalid/hook",
    ],
)
async def test_private_targets_are_refused(live: tuple[str, Engine], target: str) -> None:
    async with await _client(live[0]) as http:
        response = await http.post("/v1/webhook_endpoints", json={"url": target, "enabled_events": ["*"]})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == "url"
        assert (await http.get("/v1/webhook_endpoints")).json()["data"] == []


async def test_a_public_address_is_accepted(live: tuple[str, Engine]) -> None:
    async with await _client(live[0]) as http:
        # A literal public address resolves to itself: no DNS needed on the test machine.
        response = await http.post(
            "/v1/webhook_endpoints", json={"url": "https://93.184.215.14/hook", "enabled_events": ["payment.created"]}
        )
        assert response.status_code == 201, response.text
        # Moving it to a private address later is refused too.
        moved = await http.post(f"/v1/webhook_endpoints/{response.json()['id']}", json={"url": "http://10.1.2.3/"})
        assert moved.status_code == 400 and moved.json()["error"]["param"] == "url"


async def test_delivery_time_check_refuses_an_address_that_became_private(live: tuple[str, Engine]) -> None:
    url, engine = live
    receiver = HookReceiver()
    async with serve_asgi(receiver) as receiver_url, await _client(url) as http:
        created = await http.post(
            "/v1/webhook_endpoints", json={"url": "https://93.184.215.14/hook", "enabled_events": ["payment.created"]}
        )
        endpoint_id = created.json()["id"]
        # As if its DNS name now answered with a loopback address: the stored URL points there.
        await engine.pool.execute("UPDATE webhook_endpoints SET url = $2 WHERE id = $1", endpoint_id, receiver_url)
        assert (await http.post("/v1/payments", json={"amount": 100, "currency": "INR"})).status_code in (200, 201)
        async with asyncio.timeout(10):
            while not (page := (await http.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries")).json())["data"]:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        attempt = page["data"][0]
        assert attempt["status_code"] is None and attempt["error"].startswith("refused")
        assert receiver.deliveries == []
