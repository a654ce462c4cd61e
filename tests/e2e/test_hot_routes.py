"""The hot routes (api/hot_routes.py) answer exactly as Litestar answers the same routes.

Each request is sent twice to the running stack's engine, in process: once to Litestar alone,
once through ``HotRoutes`` in front of it. Status, headers and body must match (ids, secrets and
times are new on every create, so they are compared by shape), and the hot requests must never
have reached Litestar -- otherwise the comparison would prove nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from api.hot_routes import HotRoutes, match

INR = {"amount": 49900, "currency": "INR", "return_url": "https://shop.example/done", "metadata": {"order": "o1"}}
CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
DECLINED = {**CARD, "card": {**CARD["card"], "number": "4000000000000002"}}
_VOLATILE = re.compile(
    r"\b(?:pay|att|evt|cus|re|req)_[A-Za-z0-9_-]+|\d{4}-\d\d-\d\dT[\d:.]+Z|order_[A-Za-z0-9]+|[a-z]+_[A-Za-z0-9]{14,}"
)


class Spy:
    """Litestar with a record of every request that reached it."""

    def __init__(self, app: Any) -> None:
        self.app, self.state, self.reached = app, app.state, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.reached.append((scope["method"], scope["path"]))
        await self.app(scope, receive, send)


@dataclass
class Pair:
    """The same merchant's clients: Litestar alone, and hot routes in front of it."""

    plain: httpx.AsyncClient
    hot: httpx.AsyncClient
    spy: Spy
    other_key: str
    publishable: str


@pytest_asyncio.fixture
async def pair(stack) -> AsyncIterator[Pair]:
    _, secret, publishable = await stack.new_merchant_keys("Hot Pharmacy")
    _, other_key = await stack.new_merchant("Other Pharmacy")
    spy = Spy(stack.app)
    hot_app = HotRoutes(spy, max_body_bytes=stack.engine.settings.max_body_bytes)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {secret}"}

    def client(app: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://engine", headers=headers)

    async with client(stack.app) as plain, client(hot_app) as hot:
        yield Pair(plain, hot, spy, other_key, publishable)


def _shape(text: str) -> Any:
    """The answer with its new-per-request values masked (JSON objects compare unordered: a
    payment read back from PostgreSQL's jsonb lists its card's fields in jsonb's order)."""
    try:
        return _masked(json.loads(text))
    except ValueError:
        return _VOLATILE.sub("<v>", text)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return _VOLATILE.sub("<v>", value) if isinstance(value, str) else value


async def both(pair: Pair, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, httpx.Response]:
    """Send one request each way; assert the answers match and the hot one bypassed Litestar.

    ``key``: an Idempotency-Key (one per side); ``-plain``/``-hot``: the ``{id}`` of each side."""
    key, ids = kwargs.pop("key", None), {side: kwargs.pop(side, "") for side in ("-plain", "-hot")}
    answers = []
    for client, side in ((pair.plain, "-plain"), (pair.hot, "-hot")):
        headers = dict(kwargs.get("headers") or {})
        if key is not None:
            headers["Idempotency-Key"] = key + side
        before = len(pair.spy.reached)
        url = path.replace("{id}", ids[side])
        answers.append(await client.request(method, url, **{**kwargs, "headers": headers}))
        if client is pair.hot and match(method, answers[-1].request.url.path):
            assert len(pair.spy.reached) == before, f"{method} {path} reached Litestar"
    plain, hot = answers
    assert hot.status_code == plain.status_code, (path, plain.text, hot.text)
    assert _shape(hot.text) == _shape(plain.text), (path, plain.text, hot.text)
    assert _headers(hot) == _headers(plain), (plain.headers, hot.headers)
    return plain, hot


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    # content-length follows the body, compared above by shape (an id may differ in length)
    return sorted((k, v) for k, v in response.headers.items() if k not in {"date", "server", "content-length"})


async def created(pair: Pair, **extra: Any) -> dict[str, str]:
    """One payment per side, made through each side's own create."""
    plain, hot = await both(pair, "POST", "/v1/payments", json={**INR, **extra})
    assert plain.status_code == 201
    return {"-plain": plain.json()["id"], "-hot": hot.json()["id"]}


async def test_create_confirm_and_retrieve_answer_alike(pair: Pair) -> None:
    ids = await created(pair)
    await both(pair, "GET", "/v1/payments/{id}", **ids)
    confirmed, _ = await both(pair, "POST", "/v1/payments/{id}/confirm", json={"payment_method": CARD}, **ids)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"
    got, _ = await both(pair, "GET", "/v1/payments/{id}", **ids)
    assert got.json()["client_secret"] and "4111111111111111" not in got.text
    once, _ = await both(pair, "POST", "/v1/payments", json={**INR, "confirm": True, "payment_method": CARD})
    assert once.status_code == 201 and once.json()["status"] == "succeeded"
    declined, _ = await both(pair, "POST", "/v1/payments", json={**INR, "confirm": True, "payment_method": DECLINED})
    assert declined.status_code == 402


async def test_idempotent_replays_and_key_misuse_answer_alike(pair: Pair) -> None:
    key = f"hot-{uuid.uuid4().hex}"
    first, _ = await both(pair, "POST", "/v1/payments", json=INR, key=key)
    replay, hot_replay = await both(pair, "POST", "/v1/payments", json=INR, key=key)
    assert replay.headers["idempotent-replayed"] == hot_replay.headers["idempotent-replayed"] == "true"
    assert replay.text == first.text
    reused, _ = await both(pair, "POST", "/v1/payments", json={**INR, "amount": 1}, key=key)
    assert reused.status_code == 422
    bad, _ = await both(pair, "POST", "/v1/payments", json=INR, headers={"Idempotency-Key": "x" * 300})
    assert bad.status_code == 400
    ids = await created(pair)
    confirm_key = f"hot-c-{uuid.uuid4().hex}"
    for _ in range(2):
        await both(pair, "POST", "/v1/payments/{id}/confirm", json={"payment_method": CARD}, key=confirm_key, **ids)


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b'{"amount": 100, "currency": "INR"', 400),  # malformed
        (b'{"amount": "100", "currency": "INR"}', 400),  # a string is not an amount
        (b'{"currency": "INR"}', 400),  # missing
        (b'{"amount": 100, "currency": "INR", "surprise": 1}', 400),  # unknown field
        (b'{"amount": 100, "currency": "INR", "description": "a\\u0000b"}', 400),  # NUL
        (b"   ", 400),
        (b"", 400),
        (b'{"amount": 100, "currency": "INR", "description": "' + b"x" * 70000 + b'"}', 413),
        (b'{"amount": -5, "currency": "INR"}', 400),
        (b'{"amount": 100, "currency": "INR", "confirm": true}', 400),  # no payment method
        (
            b'{"amount": 100, "currency": "INR", "payment_method": '
            + bytes(str(CARD).replace("'", '"'), "ascii")
            + b"}",
            400,
        ),
    ],
)
async def test_bad_bodies_answer_alike(pair: Pair, content: bytes, status: int) -> None:
    plain, _ = await both(pair, "POST", "/v1/payments", content=content, headers={"Content-Type": "application/json"})
    assert plain.status_code == status, plain.text
    assert "4111111111111111" not in plain.text
    ids = await created(pair)
    await both(pair, "POST", "/v1/payments/{id}/confirm", content=content, **ids)


async def test_credentials_and_other_merchants_answer_alike(pair: Pair) -> None:
    ids = await created(pair)
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer sk_test_wrong"},
        {"Authorization": "Basic abc"},
        {"Authorization": f"Bearer {pair.other_key}"},  # another merchant's payment: 404
        {"Authorization": f"Bearer {pair.publishable}"},  # a browser key cannot create or read
    ):
        await both(pair, "GET", "/v1/payments/{id}", headers=headers, **ids)
        await both(pair, "POST", "/v1/payments", json=INR, headers=headers)
        await both(pair, "POST", "/v1/payments/{id}/confirm", json={"payment_method": CARD}, headers=headers, **ids)
    browser = {"Authorization": f"Bearer {pair.publishable}"}
    await both(pair, "POST", "/v1/payments/{id}/confirm", json={"payment_method": CARD}, headers=browser, **ids)
    await both(pair, "POST", "/v1/payments/{id}/confirm", json={"payment_method": CARD, "client_secret": "pay_x_secret_" + "y" * 32}, headers=browser, **ids)  # fmt: skip
    for path in ("/v1/payments/pay_missing", "/v1/payments/pay_%01x", "/v1/payments/pay_missing/confirm"):
        method = "POST" if path.endswith("confirm") else "GET"
        answer, _ = await both(pair, method, path, json={"payment_method": CARD} if method == "POST" else None)
        assert answer.status_code == 404


async def test_a_browser_confirm_answers_alike(pair: Pair) -> None:
    plain, hot = await both(pair, "POST", "/v1/payments", json=INR)
    ids = {"-plain": plain.json()["id"], "-hot": hot.json()["id"]}
    browser = {"Authorization": f"Bearer {pair.publishable}"}
    secrets = {"-plain": plain.json()["client_secret"], "-hot": hot.json()["client_secret"]}
    swapped = []  # each side's payment with the other payment's secret
    for side, other, client in (("-plain", "-hot", pair.plain), ("-hot", "-plain", pair.hot)):
        body = {"payment_method": CARD, "client_secret": secrets[other]}
        swapped.append(await client.post(f"/v1/payments/{ids[side]}/confirm", json=body, headers=browser))
    assert swapped[0].status_code == swapped[1].status_code == 404
    assert _shape(swapped[0].text) == _shape(swapped[1].text)
    answers = []
    for side, client in (("-plain", pair.plain), ("-hot", pair.hot)):
        body = {"payment_method": CARD, "client_secret": secrets[side]}
        answers.append(await client.post(f"/v1/payments/{ids[side]}/confirm", json=body, headers=browser))
    for answer in answers:
        assert answer.status_code == 200 and answer.json()["status"] == "succeeded"
        assert "client_secret" not in answer.json() and "gateway_reference" not in answer.json()
    assert _shape(answers[0].text) == _shape(answers[1].text)


async def test_everything_else_goes_to_litestar(pair: Pair) -> None:
    ids = await created(pair)
    before = len(pair.spy.reached)
    for method, path in (
        ("GET", "/v1/payments"),
        ("GET", "/v1/payments/"),
        ("POST", "/v1/payments/"),
        ("PUT", "/v1/payments"),
        ("DELETE", "/v1/payments/{id}"),
        ("POST", "/v1/payments/{id}/capture"),
        ("GET", "/v1/payments/{id}/payment_methods"),
        ("GET", "/v1/payments/{id}/confirm"),
    ):
        await both(pair, method, path, **ids)
    assert len(pair.spy.reached) - before == 8  # every one of them, from the hot side
    assert match("POST", "/v1/payments//confirm") is None and match("GET", "/v1/payments/a/b") is None
