"""Payment-method selection over real HTTP: publishable keys, client secrets, the methods list,
and the publishable key's scope (exactly two endpoints, of the payment whose secret it shows)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from api.app import create_app

INR = {"amount": 49900, "currency": "INR", "return_url": "https://shop.example/done", "metadata": {"order": "o1"}}
CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
SECRET_RE = re.compile(r"^pay_[A-Za-z0-9]+_secret_[A-Za-z0-9_-]{32}$")


@dataclass
class Keys:
    id: str
    sk: httpx.AsyncClient
    pk: httpx.AsyncClient
    publishable: str


@pytest_asyncio.fixture
async def keys(stack):
    merchant_id, secret, publishable = await stack.new_merchant_keys("Keys Pharmacy")
    async with stack.client(secret) as sk, stack.client(publishable) as pk:
        yield Keys(merchant_id, sk, pk, publishable)


async def _payment(keys: Keys, **extra) -> dict:
    response = await keys.sk.post("/v1/payments", json={**INR, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_merchant_creation_returns_a_publishable_key_stored_only_hashed(stack, keys):
    assert keys.publishable.startswith("pk_test_") and len(keys.publishable) > 30
    rows = await stack.engine.db.pool.fetch("SELECT kind, key_prefix FROM api_keys WHERE merchant_id = $1", keys.id)
    assert sorted(r["kind"] for r in rows) == ["publishable", "secret"]
    dump = await stack.engine.db.pool.fetchval("SELECT string_agg(t::text, ' ') FROM api_keys t")
    assert keys.publishable not in dump


async def test_a_client_secret_is_returned_on_create_and_get_and_stored_nowhere_in_clear(stack, keys):
    key = {"Idempotency-Key": "cs-" + uuid.uuid4().hex}
    created = await keys.sk.post("/v1/payments", json=INR, headers=key)
    assert created.status_code == 201, created.text
    payment = created.json()
    secret = payment["client_secret"]
    assert SECRET_RE.match(secret) and secret.startswith(payment["id"] + "_secret_")
    # The idempotent replay answers the same bytes, secret included.
    replay = await keys.sk.post("/v1/payments", json=INR, headers=key)
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == created.content
    assert (await keys.sk.get(f"/v1/payments/{payment['id']}")).json()["client_secret"] == secret
    listed = (await keys.sk.get("/v1/payments")).json()["data"]
    assert [p["id"] for p in listed] == [payment["id"]] and "client_secret" not in listed[0]
    # Confirmed with a card: the confirm answer and the events carry no secret either.
    confirmed = await keys.sk.post(f"/v1/payments/{payment['id']}/confirm", json={"payment_method": CARD})
    assert confirmed.status_code == 200 and "client_secret" not in confirmed.json()
    pool = stack.engine.db.pool
    for table in ("payments", "events", "idempotency_keys", "payment_client_secrets", "payment_attempts", "work_items"):
        dump = await pool.fetchval(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t")
        assert secret not in dump and secret.split("_secret_")[1] not in dump, table


async def test_create_and_confirm_in_one_call_returns_its_client_secret_on_replay_too(keys):
    key = {"Idempotency-Key": "cc-" + uuid.uuid4().hex}
    body = {**INR, "confirm": True, "payment_method": CARD}
    first = await keys.sk.post("/v1/payments", json=body, headers=key)
    assert first.status_code == 201 and SECRET_RE.match(first.json()["client_secret"]), first.text
    again = await keys.sk.post("/v1/payments", json=body, headers=key)
    assert again.content == first.content


async def test_payment_methods_lists_what_the_routed_gateways_take(keys):
    payment = await _payment(keys)
    listed = await keys.pk.get(
        f"/v1/payments/{payment['id']}/payment_methods", params={"client_secret": payment["client_secret"]}
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["object"] == "list"
    assert [m["type"] for m in body["data"]] == ["card", "upi", "netbanking", "wallet"]
    assert "visa" in body["data"][0]["brands"] and {"code": "HDFC", "name": "HDFC Bank"} in body["data"][2]["banks"]
    # Only Razorpay takes USD: cards only; the secret key needs no client secret.
    usd = await _payment(keys, currency="USD")
    only_cards = await keys.sk.get(f"/v1/payments/{usd['id']}/payment_methods")
    assert [m["type"] for m in only_cards.json()["data"]] == ["card"]
    # Routing to Paytm alone: its one wallet.
    await keys.sk.put("/v1/merchant/routing", json={"gateways": ["paytm"]})
    paytm = await keys.sk.get(f"/v1/payments/{payment['id']}/payment_methods")
    assert {"type": "wallet", "providers": ["paytm"]} in paytm.json()["data"]


async def test_each_listed_method_confirms_past_routing(keys):
    template = await _payment(keys)
    methods = (await keys.sk.get(f"/v1/payments/{template['id']}/payment_methods")).json()["data"]
    inputs = {
        "card": CARD,
        "upi": {"type": "upi", "upi": {"vpa": "success@upi"}},
        "netbanking": {"type": "netbanking", "netbanking": {"bank_code": methods[2]["banks"][-1]["code"]}},
        "wallet": {"type": "wallet", "wallet": {"provider": methods[3]["providers"][0]}},
    }
    for method in methods:
        payment = await _payment(keys)
        answer = await keys.pk.post(
            f"/v1/payments/{payment['id']}/confirm",
            json={"payment_method": inputs[method["type"]], "client_secret": payment["client_secret"]},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] in ("succeeded", "processing", "requires_action"), answer.text


async def test_a_bank_no_routed_gateway_lists_is_refused_before_anything_happens(keys):
    payment = await _payment(keys)
    answer = await keys.sk.post(
        f"/v1/payments/{payment['id']}/confirm",
        json={"payment_method": {"type": "netbanking", "netbanking": {"bank_code": "ZZZZ"}}},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == "payment_method.netbanking.bank_code"
    assert (await keys.sk.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_payment_method"


async def test_a_browser_confirm_sees_only_the_checkout_fields(keys):
    payment = await _payment(keys)
    answer = await keys.pk.post(
        f"/v1/payments/{payment['id']}/confirm",
        json={"payment_method": CARD, "client_secret": payment["client_secret"]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "succeeded" and body["payment_method"]["last4"] == "1111"
    assert not {"metadata", "merchant_order_id", "customer_id", "routing", "client_secret"} & set(body)


@pytest.mark.parametrize(
    ("extra", "status", "param"),
    [({"gateway": "paytm"}, 403, "gateway"), ({"return_url": "https://evil.example/"}, 403, "return_url")],
)
async def test_a_browser_cannot_choose_the_gateway_or_the_return_url(keys, extra, status, param):
    payment = await _payment(keys)
    answer = await keys.pk.post(
        f"/v1/payments/{payment['id']}/confirm",
        json={"payment_method": CARD, "client_secret": payment["client_secret"], **extra},
    )
    assert (answer.status_code, answer.json()["error"]["param"]) == (status, param)
    assert (await keys.sk.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_payment_method"


async def test_a_wrong_or_missing_client_secret_gets_nothing(stack, keys):
    payment = await _payment(keys)
    other = await _payment(keys)
    _, _, stranger_pk = await stack.new_merchant_keys("Stranger")
    secret = payment["client_secret"]
    wrong = [
        (keys.publishable, None, 400),
        (keys.publishable, "", 400),
        (keys.publishable, other["client_secret"], 404),  # another payment's
        (keys.publishable, secret[:-1] + ("A" if secret[-1] != "A" else "B"), 404),
        (keys.publishable, secret + "x" * 200, 404),
        (keys.publishable, "pay_x_secret_\u00e9", 404),
        (stranger_pk, secret, 404),  # another merchant's publishable key
        ("pk_test_forged" + "A" * 30, secret, 401),
    ]
    for pk, client_secret, status in wrong:
        async with stack.client(pk) as http:
            params = {"client_secret": client_secret} if client_secret is not None else {}
            listed = await http.get(f"/v1/payments/{payment['id']}/payment_methods", params=params)
            body = {"payment_method": CARD, **({"client_secret": client_secret} if client_secret else {})}
            confirmed = await http.post(f"/v1/payments/{payment['id']}/confirm", json=body)
        for answer in (listed, confirmed):
            if status == 404 and answer.status_code == 400:
                assert answer.json()["error"]["param"] == "client_secret"  # over the body's bound
                continue
            assert answer.status_code == status, (client_secret, answer.text)
            assert payment["id"] not in answer.text or status == 404
            assert "amount" not in answer.text
    assert (await keys.sk.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_payment_method"


def _concrete(path: str, payment_id: str) -> str:
    return re.sub(r"\{payment_id:str\}", payment_id, re.sub(r"\{(?!payment_id)[a-z_]+:[a-z]+\}", "x_1", path))


# Routes without an API key at all: probes, docs, the gateways' inbound calls, the checkout page.
_OPEN = re.compile(r"^/(healthz|readyz|metrics|schema.*|v1/webhooks/.*|v1/callbacks/.*|checkout/.*)$")


async def test_a_publishable_key_opens_only_payment_methods_and_confirm(stack, keys):
    payment = await _payment(keys)
    app = create_app(stack.engine.settings)  # its routes only: never started
    allowed, refused = [], []
    for route in app.routes:
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method in ("HEAD", "OPTIONS"):
                    continue
                auth = handler.opt.get("auth")
                if auth is None:
                    assert _OPEN.match(route.path), f"{route.path} has no auth and is not a known open route"
                    continue
                path = _concrete(route.path, payment["id"])
                params = {"client_secret": payment["client_secret"]}
                answer = await keys.pk.request(method, path, params=params, json={})
                if handler.opt.get("publishable"):
                    allowed.append((method, route.path))
                    continue
                refused.append((method, route.path))
                assert answer.status_code in (401, 403), (method, path, answer.text)
                assert answer.json()["error"]["type"] in ("authentication_error", "permission_error")
    assert sorted(allowed) == [("GET", "/v1/payments/{payment_id:str}/payment_methods"),
                               ("POST", "/v1/payments/{payment_id:str}/confirm")]  # fmt: skip
    assert len(refused) > 20
    # Nothing was changed by all that.
    assert (await keys.sk.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_payment_method"
