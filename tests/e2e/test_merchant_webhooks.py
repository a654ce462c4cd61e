"""Outgoing merchant webhooks over real HTTP: every delivery verified by the official
``standardwebhooks`` package, retries keep one webhook-id, secret rotation overlap, the
endpoints API and the events API (including their bad inputs)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio
import standardwebhooks

from api.app import create_app, served_app
from engine.bootstrap import Engine
from engine.config import Settings
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxSettings
from tests.support.hook_receiver import HookReceiver
from tests.support.servers import free_port, serve_asgi
from tests.support.stack import ADMIN_TOKEN, Services, engine_settings, fresh_database

pytestmark = pytest.mark.e2e
PAN = "4242424242424242"


@dataclass
class HookStack:
    api_url: str
    receiver: HookReceiver
    receiver_url: str
    engine: Engine
    settings: Settings

    async def merchant(self) -> httpx.AsyncClient:
        async with httpx.AsyncClient(base_url=self.api_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as a:
            created = await a.post("/v1/admin/merchants", json={"name": "Hooks Pharmacy"})
        assert created.status_code == 201, created.text
        key = created.json()["api_key"]
        return httpx.AsyncClient(base_url=self.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest_asyncio.fixture(scope="module")
async def hooks(svc: Services) -> AsyncIterator[HookStack]:
    """An engine of its own (own database; fast retry schedule), a sandbox and a receiver."""
    async with fresh_database(svc, "engine_hooks") as own:
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
        settings = engine_settings(
            own,
            port=api_port,
            sandbox_url=sandbox_url,
            webhook_retry_schedule=(0.0, 0.2, 0.3, 0.3, 0.3),
            webhook_poll=0.05,
            webhook_timeout=2.0,
        )
        app = create_app(settings)
        receiver = HookReceiver()
        async with (
            serve_asgi(sandbox, sandbox_port),
            serve_asgi(receiver) as receiver_url,
            serve_asgi(served_app(app, settings), api_port) as api_url,
        ):
            yield HookStack(api_url, receiver, receiver_url, app.state.engine, settings)


async def _endpoint(http: httpx.AsyncClient, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = await http.post("/v1/webhook_endpoints", json={"url": url, "enabled_events": events or ["*"]})
    assert response.status_code == 201, response.text
    return response.json()


async def _paid(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post(
        "/v1/payments",
        json={
            "amount": 12345,
            "currency": "INR",
            "gateway": "razorpay",
            "confirm": True,
            "payment_method": {
                "type": "card",
                "card": {"number": PAN, "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            },
        },
    )
    assert response.status_code in (200, 201), response.text
    assert response.json()["status"] == "succeeded"
    return response.json()


def _verified(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The official verifier must accept the delivery (raises otherwise)."""
    return standardwebhooks.Webhook(secret).verify(body, headers)  # type: ignore[no-any-return]


async def test_every_delivery_verifies_with_the_official_package(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/verify", ["payment.succeeded", "payment.created"])
        assert endpoint["secret"].startswith("whsec_") and endpoint["id"].startswith("we_")
        assert endpoint["object"] == "webhook_endpoint" and endpoint["status"] == "enabled"
        payment = await _paid(http)
        got = await hooks.receiver.wait_for("/verify", 2)
        events = [_verified(endpoint["secret"], h, b) for h, b in got]
        assert [e["type"] for e in events] == ["payment.created", "payment.succeeded"]
        for (headers, _), event in zip(got, events, strict=True):
            assert headers["webhook-id"] == event["id"] and event["id"].startswith("evt_")
            assert headers["webhook-signature"].startswith("v1,")
            assert event["object"] == "event" and isinstance(event["created"], int)
            assert event["data"]["object"]["id"] == payment["id"]
            assert "client_secret" not in event["data"]["object"]
        assert events[1]["data"]["object"]["status"] == "succeeded"
        # A tampered body is refused by the same verifier: the check above can fail.
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            _verified(endpoint["secret"], got[0][0], got[0][1].replace(b"12345", b"99999"))
        # The events API serves the same objects, newest first; GET by id too.
        listed = (await http.get("/v1/events", params={"limit": 100})).json()
        assert listed["object"] == "list"
        by_id = {e["id"]: e for e in listed["data"]}
        for event in events:
            assert by_id[event["id"]] == event
            assert (await http.get(f"/v1/events/{event['id']}")).json() == event
        # The secret is never shown again.
        shown = (await http.get(f"/v1/webhook_endpoints/{endpoint['id']}")).json()
        assert "secret" not in shown
        assert all("secret" not in e for e in (await http.get("/v1/webhook_endpoints")).json()["data"])


async def test_a_failing_receiver_gets_the_event_again_with_one_webhook_id(hooks: HookStack) -> None:
    hooks.receiver.script.extend([])  # the path below is scripted through its own statuses
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/flaky", ["payment.created"])
        hooks.receiver.script[:] = [500, 503]
        created = await http.post("/v1/payments", json={"amount": 500, "currency": "INR"})
        assert created.status_code in (200, 201), created.text
        got = await hooks.receiver.wait_for("/flaky", 3)
        assert len({h["webhook-id"] for h, _ in got}) == 1
        assert len({b for _, b in got}) == 1
        for headers, body in got:
            _verified(endpoint["secret"], headers, body)
        attempts = await _wait_attempts(http, endpoint["id"], 3)
        assert [a["status_code"] for a in attempts] == [200, 503, 500]  # newest first
        assert attempts[1]["error"] == "HTTP 503" and attempts[0]["error"] is None
        assert all(a["duration_ms"] >= 0 for a in attempts)
        assert len(attempts[2]["response_body"].encode()) <= 1024  # the receiver answered 5000 bytes
        deliveries = f"/v1/webhook_endpoints/{endpoint['id']}/deliveries"
        back = (await http.get(deliveries, params={"limit": 1, "ending_before": attempts[2]["id"]})).json()
        assert [a["id"] for a in back["data"]] == [attempts[1]["id"]] and back["has_more"] is True
        both = await http.get(deliveries, params={"starting_after": attempts[0]["id"], "ending_before": "wha_1"})
        assert both.status_code == 400 and both.json()["error"]["param"] == "ending_before"
        # Redelivering sends it once more, with the same webhook-id.
        event_id = got[0][0]["webhook-id"]
        redo = await http.post(f"/v1/events/{event_id}/redeliver")
        assert redo.status_code == 200 and redo.json()["deliveries_scheduled"] == 1
        again = await hooks.receiver.wait_for("/flaky", 4)
        assert again[3][0]["webhook-id"] == event_id


async def _status_is(http: httpx.AsyncClient, endpoint_id: str, status: str) -> bool:
    return bool((await http.get(f"/v1/webhook_endpoints/{endpoint_id}")).json()["status"] == status)


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll an observable condition (the engine's own loop has no event to wait on)."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 -- polling another process's state over HTTP
            await asyncio.sleep(0.05)


async def _wait_attempts(http: httpx.AsyncClient, endpoint_id: str, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            page = (await http.get(f"/v1/webhook_endpoints/{endpoint_id}/deliveries")).json()
            if len(page["data"]) >= count:
                return page["data"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def test_rotation_signs_with_both_secrets_during_the_overlap(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/rotate", ["payment.created"])
        rotated = await http.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret.startswith("whsec_") and new_secret != endpoint["secret"]
        await http.post("/v1/payments", json={"amount": 700, "currency": "INR"})
        [(headers, body)] = await hooks.receiver.wait_for("/rotate", 1)
        assert len(headers["webhook-signature"].split(" ")) == 2
        _verified(endpoint["secret"], headers, body)
        _verified(new_secret, headers, body)
        with pytest.raises(standardwebhooks.WebhookVerificationError):
            _verified("whsec_" + "A" * 44, headers, body)


async def test_disabled_and_unsubscribed_endpoints_get_nothing(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        off = await _endpoint(http, f"{hooks.receiver_url}/off", ["payment.created"])
        other = await _endpoint(http, f"{hooks.receiver_url}/other", ["refund.succeeded"])
        marker = await _endpoint(http, f"{hooks.receiver_url}/marker", ["payment.created"])
        updated = await http.post(f"/v1/webhook_endpoints/{off['id']}", json={"status": "disabled"})
        assert updated.status_code == 200 and updated.json()["status"] == "disabled"
        await http.post("/v1/payments", json={"amount": 900, "currency": "INR"})
        # The marker endpoint shares the relay pass: once it has its delivery, the others were decided.
        await hooks.receiver.wait_for("/marker", 1)
        assert (await _wait_attempts(http, marker["id"], 1))[0]["status_code"] == 200
        assert hooks.receiver.at("/off") == [] and hooks.receiver.at("/other") == []
        deleted = await http.delete(f"/v1/webhook_endpoints/{other['id']}")
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True
        assert (await http.get(f"/v1/webhook_endpoints/{other['id']}")).status_code == 404


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/dead", ["payment.created"])
        hooks.receiver.script[:] = []
        # Rows of the engine's own: the streak started long ago (as if 5 days of failures).
        await hooks.engine.pool.execute(
            "UPDATE webhook_endpoints SET failing_since = now() - interval '6 days' WHERE id = $1", endpoint["id"]
        )
        hooks.receiver.default = 500
        try:
            await http.post("/v1/payments", json={"amount": 901, "currency": "INR"})
            await _until(lambda: _status_is(http, endpoint["id"], "disabled"))
        finally:
            hooks.receiver.default = 200
        events = (await http.get("/v1/events", params={"type": "webhook_endpoint.disabled"})).json()["data"]
        assert [e["data"]["object"]["id"] for e in events] == [endpoint["id"]]
        assert "secret" not in json.dumps(events)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "ftp://example.com/hook", "enabled_events": ["*"]}, "url"),
        ({"url": "not a url", "enabled_events": ["*"]}, "url"),
        ({"url": "http://", "enabled_events": ["*"]}, "url"),
        ({"url": "http://user:pw@example.com/", "enabled_events": ["*"]}, "url"),
        ({"url": "https://example.com/" + "a" * 2100, "enabled_events": ["*"]}, "url"),
        ({"url": "https://example.com/hook", "enabled_events": ["payment.exploded"]}, "enabled_events"),
        ({"url": "https://example.com/hook", "enabled_events": ["attempt.failed"]}, "enabled_events"),
        ({"url": "https://example.com/hook", "enabled_events": ["*", "payment.succeeded"]}, "enabled_events"),
        ({"url": "https://example.com/hook", "enabled_events": []}, "enabled_events"),
        ({"url": "https://example.com/hook"}, "enabled_events"),
        ({"enabled_events": ["*"]}, "url"),
        ({"url": "https://example.com/hook", "enabled_events": ["*"], "secret": "whsec_mine"}, "secret"),
        ({"url": "https://example.com/hook", "enabled_events": "payment.succeeded"}, "enabled_events"),
    ],
)
async def test_bad_endpoint_input_is_refused_and_stores_nothing(
    hooks: HookStack, body: dict[str, Any], param: str
) -> None:
    async with await hooks.merchant() as http:
        response = await http.post("/v1/webhook_endpoints", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert param in (error.get("param") or "") or param in error["message"]
        assert (await http.get("/v1/webhook_endpoints")).json()["data"] == []


async def test_another_merchants_endpoint_and_event_answer_404(hooks: HookStack) -> None:
    async with await hooks.merchant() as owner, await hooks.merchant() as other:
        endpoint = await _endpoint(owner, f"{hooks.receiver_url}/owned", ["payment.created"])
        await owner.post("/v1/payments", json={"amount": 800, "currency": "INR"})
        event_id = (await owner.get("/v1/events")).json()["data"][0]["id"]
        eid = endpoint["id"]
        for method, path, body in [
            ("GET", f"/v1/webhook_endpoints/{eid}", None),
            ("POST", f"/v1/webhook_endpoints/{eid}", {"status": "disabled"}),
            ("DELETE", f"/v1/webhook_endpoints/{eid}", None),
            ("POST", f"/v1/webhook_endpoints/{eid}/rotate_secret", None),
            ("GET", f"/v1/webhook_endpoints/{eid}/deliveries", None),
            ("GET", f"/v1/events/{event_id}", None),
            ("POST", f"/v1/events/{event_id}/redeliver", None),
            ("GET", "/v1/webhook_endpoints/we_doesnotexist0000", None),
            ("GET", "/v1/events/evt_doesnotexist00000", None),
            ("GET", "/v1/webhook_endpoints/we_%27%3B%20DROP%20TABLE%20events--", None),
            ("POST", "/v1/webhook_endpoints/" + "w" * 300 + "/rotate_secret", None),
            ("GET", "/v1/events/evt_%E2%98%83", None),
        ]:
            response = await other.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "resource_missing"
        assert (await other.get("/v1/events", params={"starting_after": event_id})).status_code == 404
        assert (await other.get("/v1/events")).json()["data"] == []
        assert (await other.get("/v1/webhook_endpoints")).json()["data"] == []
        # Untouched: still enabled, still the original secret's endpoint.
        assert (await owner.get(f"/v1/webhook_endpoints/{eid}")).json()["status"] == "enabled"


async def test_bad_update_and_list_parameters(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/params", ["payment.created"])
        eid = endpoint["id"]
        for body in ({"status": "paused"}, {"enabled_events": ["nope"]}, {"url": "gopher://x"}, {"colour": "red"}):
            response = await http.post(f"/v1/webhook_endpoints/{eid}", json=body)
            assert response.status_code == 400, (body, response.text)
        assert (await http.get(f"/v1/webhook_endpoints/{eid}")).json() == {
            k: v for k, v in endpoint.items() if k != "secret"
        }
        for params in ({"limit": 0}, {"limit": 101}, {"type": "payment.exploded"}, {"limit": "many"}):
            assert (await http.get("/v1/events", params=params)).status_code == 400, params
        both = {"starting_after": "evt_a", "ending_before": "evt_b"}
        assert (await http.get("/v1/events", params=both)).status_code in (400, 404)
        assert (await http.get(f"/v1/webhook_endpoints/{eid}/deliveries", params={"limit": 0})).status_code == 400


async def test_events_pagination_and_type_filter(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        for amount in (101, 102, 103):
            await http.post("/v1/payments", json={"amount": amount, "currency": "INR"})
        first = (await http.get("/v1/events", params={"limit": 2, "type": "payment.created"})).json()
        assert first["has_more"] is True
        amounts = [e["data"]["object"]["amount"] for e in first["data"]]
        assert amounts == [103, 102]
        rest = (await http.get("/v1/events", params={"limit": 2, "starting_after": first["data"][-1]["id"]})).json()
        assert [e["data"]["object"]["amount"] for e in rest["data"]] == [101] and rest["has_more"] is False
        back = (await http.get("/v1/events", params={"limit": 1, "ending_before": rest["data"][0]["id"]})).json()
        assert [e["data"]["object"]["amount"] for e in back["data"]] == [102] and back["has_more"] is True
        assert all(e["type"] == "payment.created" for e in first["data"])


async def test_two_engines_on_one_database_deliver_each_event_once(hooks: HookStack) -> None:
    """Both processes' workers relay and send (SKIP LOCKED): every event arrives exactly once."""
    port = free_port()
    second_settings = msgspec.structs.replace(hooks.settings, port=port)
    second = create_app(second_settings)
    async with serve_asgi(served_app(second, second_settings), port), await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/twice", ["payment.created"])
        for amount in range(1, 21):
            assert (await http.post("/v1/payments", json={"amount": amount, "currency": "INR"})).status_code == 201
        await hooks.receiver.wait_for("/twice", 20)

        async def all_done() -> bool:
            open_rows = await hooks.engine.pool.fetchval(
                "SELECT count(*) FROM work_items WHERE endpoint_id = $1 AND state = 'pending'", endpoint["id"]
            )
            return open_rows == 0

        await _until(all_done)
        attempts = await hooks.engine.pool.fetchval(
            "SELECT count(*) FROM webhook_attempts WHERE endpoint_id = $1", endpoint["id"]
        )
    got = hooks.receiver.at("/twice")
    assert attempts == 20 and len(got) == 20
    assert len({h["webhook-id"] for h, _ in got}) == 20


async def test_a_hostile_answer_body_is_cut_and_stored_safely(hooks: HookStack) -> None:
    """Binary, NUL bytes, invalid UTF-8, 8 KB: the 2xx still counts once, 1 KB at most is kept."""
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/hostile", ["payment.created"])
        hooks.receiver.reply = b"\x00\xff\xfe<script>" * 800
        try:
            await http.post("/v1/payments", json={"amount": 333, "currency": "INR"})
            [attempt] = await _wait_attempts(http, endpoint["id"], 1)
        finally:
            hooks.receiver.reply = None
        assert attempt["status_code"] == 200 and attempt["error"] is None
        assert "\x00" not in attempt["response_body"] and len(attempt["response_body"].encode()) <= 1024
        assert len(hooks.receiver.at("/hostile")) == 1


async def test_a_receiver_slower_than_the_timeout_counts_as_failed_and_is_retried(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/slow", ["payment.created"])
        hooks.receiver.script[:] = [0]  # the first answer never comes (WEBHOOK_TIMEOUT_S is 2 here)
        try:
            await http.post("/v1/payments", json={"amount": 444, "currency": "INR"})
            got = await hooks.receiver.wait_for("/slow", 2)
            attempts = await _wait_attempts(http, endpoint["id"], 2)
        finally:
            hooks.receiver.release.set()
        assert [a["error"] for a in attempts] == [None, "timeout"]
        assert attempts[1]["duration_ms"] >= 1900
        assert got[0][0]["webhook-id"] == got[1][0]["webhook-id"]


async def test_a_secret_no_configured_key_opens_is_a_recorded_failure(hooks: HookStack) -> None:
    async with await hooks.merchant() as http:
        endpoint = await _endpoint(http, f"{hooks.receiver_url}/retired", ["payment.created"])
        # As if its master key had been retired from ENGINE_ENCRYPTION_KEYS.
        await hooks.engine.pool.execute(
            "UPDATE webhook_endpoints SET secret_key_id = 'k2_retired0000' WHERE id = $1", endpoint["id"]
        )
        await http.post("/v1/payments", json={"amount": 555, "currency": "INR"})
        [attempt, *_] = await _wait_attempts(http, endpoint["id"], 1)
        assert attempt["error"].startswith("signing secret unavailable") and attempt["status_code"] is None
        assert hooks.receiver.at("/retired") == []
        assert "k2_" not in attempt["error"] and "whsec_" not in attempt["error"]
