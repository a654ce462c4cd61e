"""Idempotency-Key semantics (DESIGN.md §4): replay, mismatch, in flight, scope, concurrency.

A retry with the same key and body replays the first response byte for byte with
``Idempotent-Replayed: true``; another body or endpoint is 422 ``idempotency_error``; a retry while
the first request runs is 409; requests rejected before any work store nothing; card data never
reaches an idempotency record. Gateway side effects are counted on the sandbox (Razorpay orders
carry ``notes.merchant_id`` and our attempt id as ``receipt``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

PAN = "4111111111111111"
CVC = "739"
EXP_YEAR = datetime.now(UTC).year + 4
SANDBOX_AUTH = ("rzp_test_sandbox", "sandbox_secret")
GOOD = {"amount": 50000, "currency": "INR"}


def card(number: str = PAN) -> dict[str, Any]:
    return {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": CVC}}


def new_key() -> str:
    return "idem-" + uuid.uuid4().hex


async def post(http: httpx.AsyncClient, path: str, body: Any, key: str | None) -> httpx.Response:
    """POST exactly ``json.dumps(body)`` (so a retry sends the same bytes) under ``key``."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(path, content=json.dumps(body).encode(), headers=headers)


def replayed(response: httpx.Response) -> bool:
    return response.headers.get("idempotent-replayed") == "true"


def assert_idempotency_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "idempotency_error", error
    assert error["code"] and error["message"]
    assert not replayed(response)
    return error


async def counts(pool: Any, merchant_id: str) -> dict[str, int]:
    out = {}
    for table in ("payments", "payment_attempts", "refunds", "idempotency_keys", "events", "customers"):
        out[table] = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE merchant_id = $1", merchant_id)
    return out


async def sandbox_orders(stack: Any, merchant_id: str) -> list[dict[str, Any]]:
    """Every Razorpay order the engine opened on the sandbox for ``merchant_id``."""
    found: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=stack.sandbox_url, auth=SANDBOX_AUTH, timeout=10) as rzp:
        skip = 0
        while True:
            response = await rzp.get("/razorpay/v1/orders", params={"count": 100, "skip": skip})
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            found += [o for o in items if isinstance(o["notes"], dict) and o["notes"].get("merchant_id") == merchant_id]
            if len(items) < 100:
                return found
            skip += 100


async def sandbox_orders_for_attempt(stack: Any, attempt_id: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.sandbox_url, auth=SANDBOX_AUTH, timeout=10) as rzp:
        response = await rzp.get("/razorpay/v1/orders", params={"receipt": attempt_id, "count": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def make_payment(merchant: Any, state: str) -> str:
    if state == "open":
        response = await merchant.http.post("/v1/payments", json=GOOD)
        assert response.status_code == 201, response.text
        return response.json()["id"]
    capture = "manual" if state == "authorized" else "automatic"
    body = {**GOOD, "confirm": True, "payment_method": card(), "capture_method": capture}
    response = await merchant.http.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == ("requires_capture" if state == "authorized" else "succeeded")
    return response.json()["id"]


# --- replays --------------------------------------------------------------------------------

# name -> (state of the payment to set up, path, body, first status)
OPERATIONS = {
    "create": (None, "/v1/payments", GOOD, 201),
    "create_and_confirm": (None, "/v1/payments", {**GOOD, "confirm": True, "payment_method": card()}, 201),
    "confirm": ("open", "/v1/payments/{id}/confirm", {"payment_method": card()}, 200),
    "capture": ("authorized", "/v1/payments/{id}/capture", {"amount": 50000}, 200),
    "cancel": ("authorized", "/v1/payments/{id}/cancel", {}, 200),
    "refund": ("succeeded", "/v1/refunds", {"payment_id": "{id}", "amount": 1000}, 200),
    "customer": (None, "/v1/customers", {"name": "Asha", "email": "asha@example.com"}, 201),
}


def _resolve(path: str, body: dict[str, Any], payment_id: str | None) -> tuple[str, dict[str, Any]]:
    if payment_id is None:
        return path, body
    return path.format(id=payment_id), {k: (payment_id if v == "{id}" else v) for k, v in body.items()}


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_same_key_and_body_replays_first_response_byte_for_byte(stack, merchant, operation):
    needs, path, body, status = OPERATIONS[operation]
    payment_id = await make_payment(merchant, needs) if needs else None
    path, body = _resolve(path, body, payment_id)
    key = new_key()

    first = await post(merchant.http, path, body, key)
    assert first.status_code == status, first.text
    assert not replayed(first)
    after_first = await counts(stack.engine.pool, merchant.id)
    orders_after_first = len(await sandbox_orders(stack, merchant.id))

    for _ in range(3):
        again = await post(merchant.http, path, body, key)
        assert again.status_code == first.status_code
        assert again.content == first.content
        assert replayed(again)
        assert again.headers["content-type"].startswith("application/json")

    assert await counts(stack.engine.pool, merchant.id) == after_first
    assert len(await sandbox_orders(stack, merchant.id)) == orders_after_first


@pytest.mark.parametrize("via", ["create_and_confirm", "confirm"])
async def test_replayed_decline_is_the_same_402(stack, merchant, via):
    key = new_key()
    if via == "confirm":
        path, body = (
            f"/v1/payments/{await make_payment(merchant, 'open')}/confirm",
            {"payment_method": card("4000000000000002")},
        )
    else:
        path, body = "/v1/payments", {**GOOD, "confirm": True, "payment_method": card("4000000000000002")}
    first = await post(merchant.http, path, body, key)
    assert first.status_code == 402, first.text
    assert first.json()["error"]["type"] == "card_error"
    assert first.json()["error"]["decline_code"] == "card_declined"
    before = await counts(stack.engine.pool, merchant.id)
    orders = len(await sandbox_orders(stack, merchant.id))

    again = await post(merchant.http, path, body, key)
    assert (again.status_code, again.content) == (402, first.content)
    assert replayed(again)
    assert await counts(stack.engine.pool, merchant.id) == before
    assert before["payment_attempts"] == 1
    assert len(await sandbox_orders(stack, merchant.id)) == orders == 1


# --- mismatches -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        {**GOOD, "amount": 50001},
        {**GOOD, "currency": "USD"},
        {**GOOD, "description": "now with a description"},
        {**GOOD, "confirm": True, "payment_method": card()},
    ],
    ids=["amount", "currency", "extra_field", "now_confirming"],
)
async def test_same_key_with_a_different_body_is_422_and_keeps_the_first_result(stack, merchant, changed):
    key = new_key()
    first = await post(merchant.http, "/v1/payments", GOOD, key)
    assert first.status_code == 201, first.text
    before = await counts(stack.engine.pool, merchant.id)

    mismatch = await post(merchant.http, "/v1/payments", changed, key)
    assert_idempotency_error(mismatch, 422)
    assert await counts(stack.engine.pool, merchant.id) == before
    assert await sandbox_orders(stack, merchant.id) == []

    original = await post(merchant.http, "/v1/payments", GOOD, key)
    assert (original.status_code, original.content) == (201, first.content) and replayed(original)


async def test_same_key_with_a_different_body_on_confirm_is_422(stack, merchant):
    payment_id = await make_payment(merchant, "open")
    key = new_key()
    first = await post(merchant.http, f"/v1/payments/{payment_id}/confirm", {"payment_method": card()}, key)
    assert first.status_code == 200, first.text
    before = await counts(stack.engine.pool, merchant.id)
    other = await post(
        merchant.http, f"/v1/payments/{payment_id}/confirm", {"payment_method": card("4242424242424242")}, key
    )
    assert_idempotency_error(other, 422)
    assert await counts(stack.engine.pool, merchant.id) == before


async def test_same_key_on_a_different_endpoint_is_422(stack, merchant):
    key = new_key()
    first = await post(merchant.http, "/v1/payments", GOOD, key)
    assert first.status_code == 201, first.text
    before = await counts(stack.engine.pool, merchant.id)

    as_customer = await post(merchant.http, "/v1/customers", {"name": "Asha"}, key)
    assert_idempotency_error(as_customer, 422)
    as_confirm = await post(
        merchant.http, f"/v1/payments/{first.json()['id']}/confirm", {"payment_method": card()}, key
    )
    assert_idempotency_error(as_confirm, 422)
    assert await counts(stack.engine.pool, merchant.id) == before
    assert (await merchant.http.get(f"/v1/payments/{first.json()['id']}")).json()["status"] == "requires_payment_method"


async def test_same_key_on_another_payments_confirm_is_422(stack, merchant):
    first_id, second_id = await make_payment(merchant, "open"), await make_payment(merchant, "open")
    key = new_key()
    first = await post(merchant.http, f"/v1/payments/{first_id}/confirm", {"payment_method": card()}, key)
    assert first.status_code == 200, first.text
    other = await post(merchant.http, f"/v1/payments/{second_id}/confirm", {"payment_method": card()}, key)
    assert_idempotency_error(other, 422)
    assert (await merchant.http.get(f"/v1/payments/{second_id}")).json()["status"] == "requires_payment_method"


async def test_reordered_but_equal_json_is_the_same_request(merchant):
    """reliability-catalog I2: the fingerprint is over the parameters, not their spelling."""
    key = new_key()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    first = await merchant.http.post("/v1/payments", content=b'{"amount": 50000, "currency": "INR"}', headers=headers)
    assert first.status_code == 201, first.text
    again = await merchant.http.post("/v1/payments", content=b'{"currency":"INR","amount":50000}', headers=headers)
    assert (again.status_code, again.content) == (201, first.content), again.text
    assert replayed(again)


# --- scope and retention --------------------------------------------------------------------


async def test_key_is_scoped_per_merchant(stack, merchant):
    other_id, other_key = await stack.new_merchant("Other Pharmacy")
    key = new_key()
    mine = await post(merchant.http, "/v1/payments", GOOD, key)
    async with stack.client(other_key) as other:
        theirs = await post(other, "/v1/payments", GOOD, key)
        assert theirs.status_code == 201, theirs.text
        assert not replayed(theirs)
        assert theirs.json()["id"] != mine.json()["id"]
        # and each merchant's retry replays its own first response
        theirs_again = await post(other, "/v1/payments", GOOD, key)
        assert theirs_again.content == theirs.content and replayed(theirs_again)
    mine_again = await post(merchant.http, "/v1/payments", GOOD, key)
    assert mine_again.content == mine.content and replayed(mine_again)
    assert (await counts(stack.engine.pool, merchant.id))["payments"] == 1
    assert (await counts(stack.engine.pool, other_id))["payments"] == 1


async def test_key_with_another_merchants_body_is_independent(stack, merchant):
    """Merchant B's different body under A's key is not a 422: B never sees A's record."""
    _, other_key = await stack.new_merchant("Other Pharmacy")
    key = new_key()
    assert (await post(merchant.http, "/v1/payments", GOOD, key)).status_code == 201
    async with stack.client(other_key) as other:
        theirs = await post(other, "/v1/payments", {**GOOD, "amount": 777}, key)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["amount"] == 777 and not replayed(theirs)


async def test_key_is_kept_at_least_24_hours(stack, merchant):
    key = new_key()
    assert (await post(merchant.http, "/v1/payments", GOOD, key)).status_code == 201
    row = await stack.engine.pool.fetchrow(
        "SELECT created_at, expires_at FROM idempotency_keys WHERE merchant_id = $1 AND key = $2", merchant.id, key
    )
    assert row["expires_at"] - row["created_at"] >= timedelta(hours=24)


# --- rejected requests store nothing --------------------------------------------------------


async def test_validation_rejection_stores_nothing_and_the_key_works_with_a_fixed_body(stack, merchant):
    key = new_key()
    bad = await post(merchant.http, "/v1/payments", {**GOOD, "amount": 0}, key)
    assert bad.status_code == 400, bad.text
    assert (await counts(stack.engine.pool, merchant.id))["idempotency_keys"] == 0
    fixed = await post(merchant.http, "/v1/payments", GOOD, key)
    assert fixed.status_code == 201, fixed.text
    assert not replayed(fixed)


@pytest.mark.parametrize(
    "rejection",
    ["bad_card", "bad_vpa", "unknown_payment", "illegal_transition"],
)
async def test_rejected_confirm_stores_nothing_and_the_key_still_works(stack, merchant, rejection):
    payment_id = await make_payment(merchant, "open")
    key = new_key()
    path = f"/v1/payments/{payment_id}/confirm"
    if rejection == "bad_card":
        first = await post(merchant.http, path, {"payment_method": card("4111111111111112")}, key)
        expected = 400
    elif rejection == "bad_vpa":
        first = await post(merchant.http, path, {"payment_method": {"type": "upi", "upi": {"vpa": "nobank"}}}, key)
        expected = 400
    elif rejection == "unknown_payment":
        first = await post(merchant.http, "/v1/payments/pay_" + "0" * 24 + "/confirm", {"payment_method": card()}, key)
        expected = 404
    else:
        first = await post(merchant.http, f"/v1/payments/{payment_id}/capture", {}, key)
        expected = 409
    assert first.status_code == expected, first.text
    snapshot = await counts(stack.engine.pool, merchant.id)
    assert snapshot["idempotency_keys"] == 0 and snapshot["payment_attempts"] == 0

    retry = await post(merchant.http, path, {"payment_method": card()}, key)
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "succeeded" and not replayed(retry)


async def test_unauthenticated_request_stores_nothing_under_the_key(stack, merchant):
    key = new_key()
    async with stack.client("sk_test_" + "Z" * 32) as stranger:
        denied = await post(stranger, "/v1/payments", GOOD, key)
    assert denied.status_code == 401
    first = await post(merchant.http, "/v1/payments", GOOD, key)
    assert first.status_code == 201 and not replayed(first)


# --- concurrency ----------------------------------------------------------------------------


async def _fire(stack: Any, api_key: str, path: str, body: Any, key: str, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n + 5, max_keepalive_connections=n + 5)
    async with stack.client(api_key, limits=limits) as http:
        return list(await asyncio.gather(*(post(http, path, body, key) for _ in range(n))))


async def test_fifty_concurrent_confirming_creates_charge_once(stack, merchant):
    key = new_key()
    body = {**GOOD, "confirm": True, "gateway": "razorpay", "payment_method": card()}
    responses = await _fire(stack, merchant.api_key, "/v1/payments", body, key, 50)

    originals = [r for r in responses if r.status_code == 201 and not replayed(r)]
    assert len(originals) == 1, [(r.status_code, r.text[:120]) for r in responses]
    original = originals[0]
    assert original.json()["status"] == "succeeded"
    for response in responses:
        if response is original:
            continue
        if response.status_code == 409:
            assert_idempotency_error(response, 409)
        else:
            assert (response.status_code, response.content) == (201, original.content), response.text
            assert replayed(response)

    pool = stack.engine.pool
    assert await pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant.id) == 1
    attempts = await pool.fetch("SELECT id FROM payment_attempts WHERE merchant_id = $1", merchant.id)
    assert len(attempts) == 1
    assert len(await sandbox_orders_for_attempt(stack, attempts[0]["id"])) == 1
    assert len(await sandbox_orders(stack, merchant.id)) == 1
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys WHERE merchant_id = $1", merchant.id) == 1

    after = await post(merchant.http, "/v1/payments", body, key)
    assert (after.status_code, after.content) == (201, original.content) and replayed(after)


async def test_fifty_concurrent_creates_make_one_payment_and_identical_answers(stack, merchant):
    key = new_key()
    responses = await _fire(stack, merchant.api_key, "/v1/payments", GOOD, key, 50)
    assert {r.status_code for r in responses} == {201}, [(r.status_code, r.text[:120]) for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(not replayed(r) for r in responses) == 1
    pool = stack.engine.pool
    assert await pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant.id) == 1
    assert await pool.fetchval("SELECT count(*) FROM events WHERE merchant_id = $1", merchant.id) == 1


async def test_fifty_concurrent_confirms_of_one_payment_charge_once(stack, merchant):
    payment_id = await make_payment(merchant, "open")
    key = new_key()
    body = {"payment_method": card(), "gateway": "razorpay"}
    responses = await _fire(stack, merchant.api_key, f"/v1/payments/{payment_id}/confirm", body, key, 50)
    originals = [r for r in responses if r.status_code == 200 and not replayed(r)]
    assert len(originals) == 1, [(r.status_code, r.text[:120]) for r in responses]
    for response in responses:
        if response is not originals[0]:
            if response.status_code == 409:
                assert_idempotency_error(response, 409)
            else:
                assert response.content == originals[0].content and replayed(response)
    assert (
        await stack.engine.pool.fetchval("SELECT count(*) FROM payment_attempts WHERE payment_id = $1", payment_id) == 1
    )
    assert len(await sandbox_orders(stack, merchant.id)) == 1


async def _clear_faults(stack: Any) -> None:
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=10) as sandbox:
        response = await sandbox.delete("/_sandbox/faults")
    assert response.status_code == 200, response.text


async def _wait_in_flight(pool: Any, merchant_id: str, key: str, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        state = await pool.fetchval(
            "SELECT state FROM idempotency_keys WHERE merchant_id = $1 AND key = $2", merchant_id, key
        )
        if state == "in_flight":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the first request never claimed its key")


@pytest.mark.parametrize("via", ["create_and_confirm", "confirm"])
async def test_request_while_the_first_is_in_flight_is_409_then_replays(stack, merchant, via):
    if via == "confirm":
        path, body = (
            f"/v1/payments/{await make_payment(merchant, 'open')}/confirm",
            {"payment_method": card(), "gateway": "razorpay"},
        )
        status = 200
    else:
        path, body = "/v1/payments", {**GOOD, "confirm": True, "gateway": "razorpay", "payment_method": card()}
        status = 201
    key = new_key()
    async with httpx.AsyncClient(base_url=stack.sandbox_url, timeout=10) as sandbox:
        fault = await sandbox.post(
            "/_sandbox/faults",
            json={"gateway": "razorpay", "fault": "latency", "latency_ms": 1500, "path_contains": "/payments/create"},
        )
    assert fault.status_code == 201, fault.text
    try:
        first = asyncio.create_task(post(merchant.http, path, body, key))
        await _wait_in_flight(stack.engine.pool, merchant.id, key)
        async with stack.client(merchant.api_key) as second_client:
            second = await post(second_client, path, body, key)
        assert_idempotency_error(second, 409)
        done = await first
    finally:
        await _clear_faults(stack)
    assert done.status_code == status, done.text
    assert not replayed(done)
    retry = await post(merchant.http, path, body, key)
    assert (retry.status_code, retry.content) == (status, done.content) and replayed(retry)
    assert (await counts(stack.engine.pool, merchant.id))["payment_attempts"] == 1


# --- what an idempotency record holds -------------------------------------------------------


async def test_idempotency_records_hold_no_card_number_or_cvc(stack, merchant):
    key_create, key_confirm, key_decline = new_key(), new_key(), new_key()
    created = await post(merchant.http, "/v1/payments", {**GOOD, "confirm": True, "payment_method": card()}, key_create)
    assert created.status_code == 201, created.text
    open_id = await make_payment(merchant, "open")
    confirmed = await post(
        merchant.http, f"/v1/payments/{open_id}/confirm", {"payment_method": card("5555555555554444")}, key_confirm
    )
    assert confirmed.status_code == 200, confirmed.text
    declined = await post(
        merchant.http,
        "/v1/payments",
        {**GOOD, "confirm": True, "payment_method": card("4000000000000002")},
        key_decline,
    )
    assert declined.status_code == 402, declined.text

    rows = await stack.engine.pool.fetch("SELECT * FROM idempotency_keys WHERE merchant_id = $1", merchant.id)
    assert len(rows) == 3
    for row in rows:
        assert row["state"] == "done"
        # Stored without the payment's client secret (api/browser.py splices it into the answer).
        sent = {re.sub(rb',"client_secret":"[^"]+"}$', b"}", r.content) for r in (created, confirmed, declined)}
        assert bytes(row["response_body"]) in sent
        assert b"_secret_" not in bytes(row["response_body"])
        for column, value in dict(row).items():
            raw = value if isinstance(value, bytes) else str(value).encode()
            for secret in (PAN, "5555555555554444", "4000000000000002"):
                assert secret.encode() not in raw, f"card number in idempotency_keys.{column}"
            assert b'"cvc"' not in raw and b"cvv" not in raw.lower() and f'"{CVC}"'.encode() not in raw, column
    # The fingerprint is keyed: a plain hash of the request would let anyone with the table
    # brute-force card numbers (PCI DSS 3.5.1.1).
    row = next(r for r in rows if r["key"] == key_create)
    body = json.dumps({**GOOD, "confirm": True, "payment_method": card()}).encode()
    fingerprint = bytes(row["fingerprint"])
    for plain in (body, b"POST /v1/payments\n" + body, b"POST /v1/payments " + body):
        assert fingerprint not in (hashlib.sha256(plain).digest(), hashlib.sha256(plain).hexdigest().encode())
