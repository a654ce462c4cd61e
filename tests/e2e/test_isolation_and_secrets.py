"""Merchant isolation, cursor pagination, secrecy of card data and keys, inbound webhook auth.

Another merchant's object answers exactly like an object that does not exist (404) and is left
untouched; PAN, CVC and API keys never appear in responses, events, attempts or logs; errors
never leak internals; a webhook is applied only with a valid signature, and only once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from engine.logs import JsonFormatter

PAN = "4242424242424242"
DECLINE_PAN = "4000000000000002"
CVC = "739"
EXP_YEAR = datetime.now(UTC).year + 4
GOOD = {"amount": 50000, "currency": "INR"}
WEBHOOK_SECRET = "sandbox_webhook_secret"
UNKNOWN_PAY = "pay_" + "0" * 24
FORBIDDEN_IN_ERRORS = (
    "traceback",
    "asyncpg",
    "select ",
    "insert into",
    "update payments",
    "postgres",
    "psycopg",
    'file "',
    ".py",
    "/work/",
    "sk_test_",
)
_SNAPSHOT = {
    "payments": "id, status, amount, amount_capturable, amount_received, amount_refunded",
    "payment_attempts": "id, status, amount_captured",
    "refunds": "id, status, amount",
    "idempotency_keys": "key, state, response_status",
    "events": "id, type",
    "customers": "id",
}


def card(number: str = PAN) -> dict[str, Any]:
    return {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": CVC}}


async def snapshot(pool: Any, merchant_id: str) -> dict[str, list[tuple]]:
    state = {}
    for table, columns in _SNAPSHOT.items():
        rows = await pool.fetch(f"SELECT {columns} FROM {table} WHERE merchant_id = $1 ORDER BY 1", merchant_id)
        state[table] = [tuple(r) for r in rows]
    return state


def assert_not_found(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 404, f"{response.request.url.path}: {response.status_code} {response.text}"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "resource_missing", error
    return error


# --- another merchant's objects -------------------------------------------------------------


@dataclass
class Victim:
    """Merchant A and its objects, which merchant B must not see or touch."""

    id: str
    api_key: str
    succeeded: str
    authorized: str
    open: str
    refund: str
    customer: str


@pytest_asyncio.fixture(scope="module")
async def victim(stack) -> Victim:
    merchant_id, api_key = await stack.new_merchant("Victim Pharmacy")
    async with stack.client(api_key) as http:
        customer = (await http.post("/v1/customers", json={"name": "Asha", "email": "asha@example.com"})).json()["id"]
        succeeded = await http.post("/v1/payments", json={**GOOD, "confirm": True, "payment_method": card()})
        authorized = await http.post(
            "/v1/payments", json={**GOOD, "confirm": True, "payment_method": card(), "capture_method": "manual"}
        )
        opened = await http.post("/v1/payments", json={**GOOD, "customer_id": customer})
        assert succeeded.json()["status"] == "succeeded", succeeded.text
        assert authorized.json()["status"] == "requires_capture", authorized.text
        refund = await http.post("/v1/refunds", json={"payment_id": succeeded.json()["id"], "amount": 1000})
        assert refund.status_code == 200, refund.text
    return Victim(
        merchant_id,
        api_key,
        succeeded.json()["id"],
        authorized.json()["id"],
        opened.json()["id"],
        refund.json()["id"],
        customer,
    )


# name -> (method, path template, body template); {x} is filled from the victim (or an unknown id)
FOREIGN_ACCESS = {
    "get_payment": ("GET", "/v1/payments/{succeeded}", None),
    "confirm": ("POST", "/v1/payments/{open}/confirm", {"payment_method": card()}),
    "capture": ("POST", "/v1/payments/{authorized}/capture", {}),
    "cancel_authorized": ("POST", "/v1/payments/{authorized}/cancel", {}),
    "cancel_open": ("POST", "/v1/payments/{open}/cancel", {}),
    "sync": ("POST", "/v1/payments/{succeeded}/sync", {}),
    "refund": ("POST", "/v1/refunds", {"payment_id": "{succeeded}", "amount": 100}),
    "get_refund": ("GET", "/v1/refunds/{refund}", None),
    "get_customer": ("GET", "/v1/customers/{customer}", None),
    "list_after_foreign_cursor": ("GET", "/v1/payments?starting_after={succeeded}", None),
}
UNKNOWN = {
    "succeeded": UNKNOWN_PAY,
    "open": UNKNOWN_PAY,
    "authorized": UNKNOWN_PAY,
    "refund": "re_" + "0" * 24,
    "customer": "cus_" + "0" * 24,
}


def _fill(template: Any, ids: dict[str, str]) -> Any:
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: _fill(v, ids) for k, v in template.items()}
    return template


@pytest.mark.parametrize("access", list(FOREIGN_ACCESS))
async def test_another_merchants_object_answers_404_like_a_missing_one(stack, merchant, victim, access):
    method, path, body = FOREIGN_ACCESS[access]
    ids = {k: getattr(victim, k) for k in UNKNOWN}
    victim_before = await snapshot(stack.engine.pool, victim.id)
    mine_before = await snapshot(stack.engine.pool, merchant.id)

    headers = {"Idempotency-Key": "iso-" + uuid.uuid4().hex} if method == "POST" else {}
    foreign = await merchant.http.request(method, _fill(path, ids), json=_fill(body, ids), headers=headers)
    headers = {"Idempotency-Key": "iso-" + uuid.uuid4().hex} if method == "POST" else {}
    missing = await merchant.http.request(method, _fill(path, UNKNOWN), json=_fill(body, UNKNOWN), headers=headers)

    foreign_error, missing_error = assert_not_found(foreign), assert_not_found(missing)
    assert {k: v for k, v in foreign_error.items() if k != "message"} == {
        k: v for k, v in missing_error.items() if k != "message"
    }
    assert await snapshot(stack.engine.pool, victim.id) == victim_before
    assert await snapshot(stack.engine.pool, merchant.id) == mine_before


async def test_another_merchants_customer_cannot_be_attached_to_a_payment(stack, merchant, victim):
    before = await snapshot(stack.engine.pool, merchant.id)
    response = await merchant.http.post(
        "/v1/payments", json={**GOOD, "customer_id": victim.customer}, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] == "customer_id"
    assert await snapshot(stack.engine.pool, merchant.id) == before
    linked = await stack.engine.pool.fetchval(
        "SELECT count(*) FROM payments WHERE customer_id = $1 AND merchant_id <> $2", victim.customer, victim.id
    )
    assert linked == 0


async def test_another_merchants_idempotency_key_replays_nothing(stack, merchant, victim):
    key = "shared-" + uuid.uuid4().hex
    async with stack.client(victim.api_key) as http:
        theirs = await http.post("/v1/payments", json=GOOD, headers={"Idempotency-Key": key})
    mine = await merchant.http.post("/v1/payments", json=GOOD, headers={"Idempotency-Key": key})
    assert mine.status_code == 201 and mine.headers.get("idempotent-replayed") != "true"
    assert mine.json()["id"] != theirs.json()["id"]


async def test_list_shows_only_the_merchants_own_payments(stack, merchant, victim):
    own = [(await merchant.http.post("/v1/payments", json=GOOD)).json()["id"] for _ in range(3)]
    for query in ("", "?limit=100", "?status=requires_payment_method", "?status=succeeded"):
        page = (await merchant.http.get(f"/v1/payments{query}")).json()
        ids = {p["id"] for p in page["data"]}
        assert ids <= set(own), query
        assert not ids & {victim.succeeded, victim.authorized, victim.open}, query
    assert {p["id"] for p in (await merchant.http.get("/v1/payments?limit=100")).json()["data"]} == set(own)


async def test_cursor_pagination_is_newest_first_and_complete(stack, merchant):
    created = []
    for amount in (101, 102, 103, 104, 105):
        response = await merchant.http.post("/v1/payments", json={"amount": amount, "currency": "INR"})
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    newest_first = created[::-1]

    pages, cursor = [], None
    while True:
        query = "limit=2" + (f"&starting_after={cursor}" if cursor else "")
        response = await merchant.http.get(f"/v1/payments?{query}")
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["object"] == "list"
        pages.append(([p["id"] for p in page["data"]], page["has_more"]))
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
        assert len(pages) < 10
    assert pages == [
        (newest_first[0:2], True),
        (newest_first[2:4], True),
        (newest_first[4:5], False),
    ]
    everything = (await merchant.http.get("/v1/payments?limit=100")).json()
    assert [p["id"] for p in everything["data"]] == newest_first and everything["has_more"] is False
    stamps = [p["created_at"] for p in everything["data"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_status_filter_and_cursor_combine(stack, merchant):
    done = []
    for _ in range(3):
        response = await merchant.http.post("/v1/payments", json={**GOOD, "confirm": True, "payment_method": card()})
        assert response.status_code == 201, response.text
        done.append(response.json()["id"])
        await merchant.http.post("/v1/payments", json=GOOD)  # an open one in between
    first = (await merchant.http.get("/v1/payments?status=succeeded&limit=2")).json()
    assert [p["id"] for p in first["data"]] == done[::-1][:2] and first["has_more"] is True
    second = (await merchant.http.get(f"/v1/payments?status=succeeded&limit=2&starting_after={done[1]}")).json()
    assert [p["id"] for p in second["data"]] == [done[0]] and second["has_more"] is False


# --- secrets --------------------------------------------------------------------------------


def _find_secrets(text: str, api_key: str) -> list[str]:
    found = []
    for pan in (PAN, DECLINE_PAN, "5555555555554444"):
        if pan in text or " ".join(pan[i : i + 4] for i in range(0, 16, 4)) in text:
            found.append(f"PAN {pan[-4:]}")
    if re.search(rf"(?i)(cvc|cvv|security.code)\W{{0,6}}{CVC}\b", text) or f'"{CVC}"' in text:
        found.append("CVC")
    if api_key in text or api_key[8:] in text:
        found.append("API key")
    return found


def test_secret_detector_detects():
    assert _find_secrets(f"x {PAN} y", "sk_test_abc") == [f"PAN {PAN[-4:]}"]
    assert _find_secrets(f'{{"cvc": "{CVC}"}}', "sk_test_abc") == ["CVC"]
    assert _find_secrets("Bearer sk_test_abcdefgh", "sk_test_abcdefgh") == ["API key"]
    assert _find_secrets('{"last4": "4242", "created_at": "2026-01-01T00:00:00.739123Z"}', "sk_test_abc") == []


async def test_card_data_and_api_key_appear_in_no_response_event_attempt_or_log(stack, merchant, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    http = merchant.http
    texts: list[str] = []

    def key() -> dict[str, str]:
        return {"Idempotency-Key": "sec-" + uuid.uuid4().hex}

    ok = await http.post("/v1/payments", json={**GOOD, "confirm": True, "payment_method": card()}, headers=key())
    assert ok.status_code == 201, ok.text
    assert ok.json()["payment_method"]["last4"] == PAN[-4:]
    declined = await http.post(
        "/v1/payments", json={**GOOD, "confirm": True, "payment_method": card(DECLINE_PAN)}, headers=key()
    )
    assert declined.status_code == 402, declined.text
    open_id = (await http.post("/v1/payments", json=GOOD)).json()["id"]
    confirmed = await http.post(
        f"/v1/payments/{open_id}/confirm", json={"payment_method": card("5555555555554444")}, headers=key()
    )
    assert confirmed.status_code == 200, confirmed.text
    invalid = await http.post(
        "/v1/payments", json={**GOOD, "confirm": True, "payment_method": card(PAN[:-1] + "3")}, headers=key()
    )
    assert invalid.status_code == 400
    refund = await http.post("/v1/refunds", json={"payment_id": ok.json()["id"]}, headers=key())
    assert refund.status_code == 200, refund.text
    texts += [r.text for r in (ok, declined, confirmed, invalid, refund)]
    for payment_id in (ok.json()["id"], declined.json()["error"]["payment_id"], open_id):
        texts.append((await http.get(f"/v1/payments/{payment_id}")).text)
    texts.append((await http.get("/v1/payments?limit=100")).text)
    texts.append((await http.get(f"/v1/refunds/{refund.json()['id']}")).text)

    for text in texts:
        assert _find_secrets(text, merchant.api_key) == [], text[:300]

    pool = stack.engine.pool
    for table in ("events", "payment_attempts", "payments", "refunds", "idempotency_keys"):
        rows = await pool.fetch(f"SELECT t::text AS row FROM {table} t WHERE merchant_id = $1", merchant.id)
        assert rows, table
        for row in rows:
            assert _find_secrets(row["row"], merchant.api_key) == [], f"{table}: {row['row'][:300]}"
    keys = await pool.fetch("SELECT t::text AS row FROM api_keys t WHERE merchant_id = $1", merchant.id)
    assert keys and all(merchant.api_key not in r["row"] and merchant.api_key[8:] not in r["row"] for r in keys)

    formatter = JsonFormatter()
    records = [r for r in caplog.records if not r.name.startswith("sandbox")]
    assert records, "nothing was logged: the check below would prove nothing"
    log_text = "\n".join(formatter.format(r) for r in records)
    assert _find_secrets(log_text, merchant.api_key) == []
    captured = capsys.readouterr()
    assert _find_secrets(captured.out + captured.err, merchant.api_key) == []


BAD_REQUESTS = [
    ("GET", "/v1/payments/pay_%00x", None, None),
    ("GET", "/v1/payments/pay_'%3B%20DROP%20TABLE%20payments%3B--", None, None),
    ("GET", "/v1/payments/" + "p" * 5000, None, None),
    ("GET", "/v1/customers/cus_%00", None, None),
    ("POST", "/v1/payments", b'{"amount": 1, "currency": "INR", "description": "\\u0000"}', None),
    ("POST", "/v1/payments", b'{"amount": 1, "currency": "INR", "metadata": {"k": "\\u0000"}}', None),
    ("POST", "/v1/payments", b'{"amount": 1, "currency": "INR", "merchant_order_id": "\\u0000"}', None),
    ("POST", "/v1/customers", b'{"name": "\\u0000"}', None),
    ("POST", "/v1/payments", b'{"amount": 99999999999999999999999999999, "currency": "INR"}', None),
    ("POST", "/v1/payments", b'{"amount": 1e400, "currency": "INR"}', None),
    ("POST", "/v1/payments", b"\xff\xfe\x00garbage", None),
    ("POST", "/v1/payments", b"amount=1&currency=INR", "application/x-www-form-urlencoded"),
    ("POST", "/v1/refunds", b'{"payment_id": "pay_\\u0000"}', None),
    ("GET", "/v1/payments?limit=99999999999999999999999", None, None),
    ("GET", "/v1/payments?starting_after=%00", None, None),
    ("PUT", "/v1/payments", b"{}", None),
    ("GET", "/v1/../../etc/passwd", None, None),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    BAD_REQUESTS,
    ids=[f"{i}-{m} {p[:30]}" for i, (m, p, _, _) in enumerate(BAD_REQUESTS)],
)
async def test_errors_never_leak_internals(merchant, method, path, body, content_type):
    headers = {"Content-Type": content_type or "application/json"}
    response = await merchant.http.request(method, path, content=body, headers=headers)
    assert 400 <= response.status_code < 500, f"{response.status_code} {response.text}"
    error = response.json()["error"]
    assert error["type"] and error["code"] and error["message"]
    lowered = response.text.lower()
    for leak in FORBIDDEN_IN_ERRORS:
        assert leak not in lowered, (leak, response.text)
    assert merchant.api_key not in response.text


# --- inbound webhooks -----------------------------------------------------------------------


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def captured_event(attempt: Any, payment: dict[str, Any], merchant_id: str) -> dict[str, Any]:
    now = int(time.time())
    entity = {
        "id": attempt["gateway_reference"],
        "entity": "payment",
        "amount": payment["amount"],
        "currency": payment["currency"],
        "status": "captured",
        "order_id": attempt["gateway_order_id"],
        "method": "netbanking",
        "captured": True,
        "amount_refunded": 0,
        "bank": "HDFC",
        "notes": {"merchant_id": merchant_id, "payment_id": payment["id"], "attempt_id": attempt["id"]},
        "created_at": now,
    }
    return {
        "entity": "event",
        "account_id": "acc_sandbox",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {"payment": {"entity": entity}},
        "created_at": now,
    }


async def pending_redirect_payment(stack: Any, merchant: Any) -> tuple[dict[str, Any], Any]:
    """A netbanking payment waiting on the bank page (nothing resolves it but us)."""
    body = {
        **GOOD,
        "confirm": True,
        "gateway": "razorpay",
        "payment_method": {"type": "netbanking", "netbanking": {"bank_code": "HDFC"}},
    }
    response = await merchant.http.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "requires_action", payment
    attempt = await stack.engine.pool.fetchrow(
        "SELECT id, gateway_reference, gateway_order_id FROM payment_attempts WHERE payment_id = $1", payment["id"]
    )
    assert attempt["gateway_reference"] and attempt["gateway_order_id"], dict(attempt)
    return payment, attempt


async def deliver(stack: Any, merchant_id: str, body: bytes, signature: str | None, event_id: str) -> httpx.Response:
    headers = {"Content-Type": "application/json", "x-razorpay-event-id": event_id}
    if signature is not None:
        headers["X-Razorpay-Signature"] = signature
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=10) as gateway:
        return await gateway.post(f"/v1/webhooks/razorpay/{merchant_id}", content=body, headers=headers)


async def receipts(pool: Any, merchant_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM webhook_receipts WHERE merchant_id = $1", merchant_id)


def _tampered(kind: str, event: dict[str, Any]) -> tuple[bytes, str | None]:
    body = json.dumps(event).encode()
    if kind == "flipped_signature":
        good = sign(body)
        return body, good[:-1] + ("0" if good[-1] != "0" else "1")
    if kind == "flipped_body_byte":
        signature = sign(body)
        return body.replace(b'"captured"', b'"capturex"', 1), signature
    if kind == "missing_signature":
        return body, None
    if kind == "wrong_secret":
        return body, sign(body, "not_the_webhook_secret")
    if kind == "signed_reserialized_json":
        return body, sign(json.dumps(event, separators=(",", ":"), sort_keys=True).encode())
    if kind == "signature_uppercase_garbage":
        return body, "Z" * 64
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "flipped_signature",
        "flipped_body_byte",
        "missing_signature",
        "wrong_secret",
        "signed_reserialized_json",
        "signature_uppercase_garbage",
    ],
)
async def test_webhook_with_a_bad_signature_is_400_and_changes_nothing(stack, merchant, kind):
    payment, attempt = await pending_redirect_payment(stack, merchant)
    before = await snapshot(stack.engine.pool, merchant.id)
    receipts_before = await receipts(stack.engine.pool, merchant.id)

    body, signature = _tampered(kind, captured_event(attempt, payment, merchant.id))
    response = await deliver(stack, merchant.id, body, signature, "evt_" + uuid.uuid4().hex[:14])

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"], error
    assert WEBHOOK_SECRET not in response.text
    assert await snapshot(stack.engine.pool, merchant.id) == before
    assert await receipts(stack.engine.pool, merchant.id) == receipts_before
    assert (await merchant.http.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_action"


async def test_valid_webhook_is_applied_once_however_often_it_arrives(stack, merchant):
    payment, attempt = await pending_redirect_payment(stack, merchant)
    body = json.dumps(captured_event(attempt, payment, merchant.id)).encode()
    event_id = "evt_" + uuid.uuid4().hex[:14]

    version_sql = "SELECT version, updated_at FROM payments WHERE id = $1"
    first = await deliver(stack, merchant.id, body, sign(body), event_id)
    assert first.status_code == 200, first.text
    settled = (await merchant.http.get(f"/v1/payments/{payment['id']}")).json()
    assert settled["status"] == "succeeded" and settled["amount_received"] == payment["amount"], settled
    after_first = await snapshot(stack.engine.pool, merchant.id)
    version_after_first = tuple(await stack.engine.pool.fetchrow(version_sql, payment["id"]))
    assert [t for _, t in after_first["events"]].count("payment.succeeded") == 1, after_first["events"]
    receipts_after_first = await receipts(stack.engine.pool, merchant.id)

    same = await deliver(stack, merchant.id, body, sign(body), event_id)
    assert same.status_code == 200, same.text
    assert await snapshot(stack.engine.pool, merchant.id) == after_first
    assert await receipts(stack.engine.pool, merchant.id) == receipts_after_first
    assert tuple(await stack.engine.pool.fetchrow(version_sql, payment["id"])) == version_after_first

    # a redelivery under a new delivery id carries no new information: no state change, no event
    redelivered = await deliver(stack, merchant.id, body, sign(body), "evt_" + uuid.uuid4().hex[:14])
    assert redelivered.status_code == 200, redelivered.text
    assert await snapshot(stack.engine.pool, merchant.id) == after_first
    assert tuple(await stack.engine.pool.fetchrow(version_sql, payment["id"])) == version_after_first


async def test_late_out_of_order_webhook_changes_nothing(stack, merchant):
    """payment.authorized arriving after payment.captured: no step back, no event, no rewrite."""
    payment, attempt = await pending_redirect_payment(stack, merchant)
    captured = json.dumps(captured_event(attempt, payment, merchant.id)).encode()
    assert (
        await deliver(stack, merchant.id, captured, sign(captured), "evt_" + uuid.uuid4().hex[:14])
    ).status_code == 200
    version_sql = "SELECT version, updated_at FROM payments WHERE id = $1"
    before = await snapshot(stack.engine.pool, merchant.id)
    version_before = tuple(await stack.engine.pool.fetchrow(version_sql, payment["id"]))

    late = captured_event(attempt, payment, merchant.id)
    late["event"] = "payment.authorized"
    late["payload"]["payment"]["entity"].update(status="authorized", captured=False)
    body = json.dumps(late).encode()
    response = await deliver(stack, merchant.id, body, sign(body), "evt_" + uuid.uuid4().hex[:14])

    assert response.status_code == 200, response.text
    shown = (await merchant.http.get(f"/v1/payments/{payment['id']}")).json()
    assert (shown["status"], shown["amount_received"]) == ("succeeded", payment["amount"])
    assert await snapshot(stack.engine.pool, merchant.id) == before
    assert tuple(await stack.engine.pool.fetchrow(version_sql, payment["id"])) == version_before


async def test_webhook_sent_to_another_merchants_endpoint_does_not_touch_the_payment(stack, merchant):
    payment, attempt = await pending_redirect_payment(stack, merchant)
    other_id, _ = await stack.new_merchant("Other Pharmacy")
    before = await snapshot(stack.engine.pool, merchant.id)
    body = json.dumps(captured_event(attempt, payment, merchant.id)).encode()

    response = await deliver(stack, other_id, body, sign(body), "evt_" + uuid.uuid4().hex[:14])
    assert response.status_code in (200, 400, 404), response.text
    assert await snapshot(stack.engine.pool, merchant.id) == before
    assert await snapshot(stack.engine.pool, other_id) == {t: [] for t in _SNAPSHOT}
    assert (await merchant.http.get(f"/v1/payments/{payment['id']}")).json()["status"] == "requires_action"


async def test_webhook_for_an_unknown_merchant_is_rejected(stack):
    body = b'{"entity":"event","event":"payment.captured","payload":{}}'
    response = await deliver(stack, "mer_doesnotexist000", body, sign(body), "evt_x")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"]
