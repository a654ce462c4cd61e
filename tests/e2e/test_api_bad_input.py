"""Bad input gets a clear 4xx error in the DESIGN.md §4 shape, and changes nothing.

Every request here carries a fresh ``Idempotency-Key`` (except where the key itself is the bad
input), so "nothing written" also proves that a rejected request stores no idempotency record.
State is compared row by row (payments, attempts, refunds, idempotency keys, events, customers)
for the merchant before and after each rejected request.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from engine.money import MAX_AMOUNT_MINOR
from tests.support.stack import ADMIN_TOKEN

PAN = "4111111111111111"
AMEX = "378282246310005"
TODAY = datetime.now(UTC)
EXP_YEAR = TODAY.year + 4
ERROR_KEYS = {"type", "code", "message", "param", "decline_code", "payment_id"}
LEAKS = ("Traceback", "asyncpg", "SELECT ", "INSERT ", "UPDATE ", 'File "', "psycopg", "Exception")
NO_BODY = object()

# What "nothing written" compares: the money-relevant columns only. Late sandbox webhooks for the
# setup payment, a reconciler or an outbox relay may touch version / updated_at / sync counters /
# delivery stamps in the background; none of those is a write by the rejected request.
_SNAPSHOT = {
    "payments": "id, status, amount, amount_capturable, amount_received, amount_refunded",
    "payment_attempts": "id, status, amount_captured",
    "refunds": "id, status, amount",
    "idempotency_keys": "key, state, response_status",
    "events": "id, type",
    "customers": "id",
}


def card(number: str = PAN, **fields: Any) -> dict[str, Any]:
    return {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": "123", **fields}}


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the check digit that makes it Luhn-valid."""
    for check in "0123456789":
        digits = [int(c) for c in prefix + check][::-1]
        total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
        if total % 10 == 0:
            return prefix + check
    raise AssertionError("unreachable")


async def snapshot(pool: Any, merchant_id: str) -> dict[str, list[tuple]]:
    state = {}
    for table, columns in _SNAPSHOT.items():
        rows = await pool.fetch(f"SELECT {columns} FROM {table} WHERE merchant_id = $1 ORDER BY 1", merchant_id)
        state[table] = [tuple(r) for r in rows]
    return state


async def merchant_count(pool: Any) -> int:
    return await pool.fetchval("SELECT count(*) FROM merchants")


def new_key() -> str:
    return "key-" + uuid.uuid4().hex


async def send(
    http: httpx.AsyncClient, method: str, path: str, body: Any = NO_BODY, headers: dict | None = None
) -> httpx.Response:
    """Send ``body`` (raw bytes, or anything JSON-encodable) with a fresh Idempotency-Key."""
    if body is NO_BODY:
        content = None
    elif isinstance(body, bytes):
        content = body
    else:
        content = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json"}
    if method == "POST":
        all_headers["Idempotency-Key"] = new_key()
    all_headers.update(headers or {})
    return await http.request(method, path, content=content, headers=all_headers)


def assert_error(
    response: httpx.Response,
    status: int,
    *,
    type_: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    param_prefix: str | None = None,
    secret: str | None = None,
) -> dict[str, Any]:
    """The response is ``status`` with ``{"error": {type, code, message, param?}}`` and no leak."""
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code} {response.text[:500]}"
    assert response.status_code == status, where
    assert response.headers.get("content-type", "").startswith("application/json"), where
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["error"], where
    error = body["error"]
    assert error["type"] == type_, where
    assert isinstance(error.get("code"), str) and error["code"], where
    assert isinstance(error.get("message"), str) and error["message"].strip(), where
    assert set(error) <= ERROR_KEYS, where
    if param is not None:
        assert error.get("param") == param, where
    if param_prefix is not None:
        assert str(error.get("param", "")).startswith(param_prefix), where
    if code is not None:
        assert error["code"] == code, where
    for leak in LEAKS:
        assert leak not in response.text, where
    if secret:
        assert secret not in response.text, where
    return error


# --- objects in a given state ---------------------------------------------------------------


async def make_payment(merchant: Any, state: str) -> str:
    """A payment of ``merchant`` in ``state`` (open, authorized, succeeded, canceled)."""
    http = merchant.http
    if state == "open":
        response = await http.post("/v1/payments", json={"amount": 50000, "currency": "INR"})
        assert response.status_code == 201, response.text
        return response.json()["id"]
    capture = "manual" if state in ("authorized", "canceled") else "automatic"
    response = await http.post(
        "/v1/payments",
        json={"amount": 50000, "currency": "INR", "confirm": True, "payment_method": card(), "capture_method": capture},
    )
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == ("requires_capture" if capture == "manual" else "succeeded"), payment
    if state == "canceled":
        canceled = await http.post(f"/v1/payments/{payment['id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled", canceled.text
    return payment["id"]


@dataclass(frozen=True)
class Case:
    """One bad request: ``{id}`` in ``path`` is a payment in state ``needs``."""

    name: str
    method: str
    path: str
    body: Any
    status: int
    param: str | None = None
    code: str | None = None
    needs: str | None = None
    param_prefix: str | None = None
    type_: str = "invalid_request_error"

    def __str__(self) -> str:
        return self.name


async def run_case(stack: Any, merchant: Any, case: Case) -> dict[str, Any]:
    path = case.path
    body = case.body
    if case.needs:
        payment_id = await make_payment(merchant, case.needs)
        path = path.format(id=payment_id)
        if isinstance(body, dict) and body.get("payment_id") == "{id}":
            body = {**body, "payment_id": payment_id}
    before = await snapshot(stack.engine.pool, merchant.id)
    response = await send(merchant.http, case.method, path, body)
    secret = None
    method = body.get("payment_method") if isinstance(body, dict) else None
    if isinstance(method, dict) and isinstance(method.get("card"), dict):
        number = method["card"].get("number")
        secret = number if isinstance(number, str) and len(number) >= 8 else None
    error = assert_error(
        response,
        case.status,
        type_=case.type_,
        param=case.param,
        code=case.code,
        param_prefix=case.param_prefix,
        secret=secret,
    )
    assert await snapshot(stack.engine.pool, merchant.id) == before, f"{case.name} wrote to the database"
    return error


# --- POST /v1/payments: the body ------------------------------------------------------------

GOOD = {"amount": 50000, "currency": "INR"}
CREATE = "/v1/payments"

CREATE_CASES = [
    Case("malformed_json", "POST", CREATE, b'{"amount": 50000, "currency": ', 400),
    Case("json_array", "POST", CREATE, b'[{"amount": 50000, "currency": "INR"}]', 400),
    Case("json_string", "POST", CREATE, b'"amount=50000&currency=INR"', 400),
    Case("json_number", "POST", CREATE, b"50000", 400),
    Case("json_null", "POST", CREATE, b"null", 400),
    Case("empty_body", "POST", CREATE, b"", 400),
    Case("unknown_field", "POST", CREATE, {**GOOD, "amount_cents": 1}, 400, "amount_cents", "parameter_unknown"),
    Case("amount_string", "POST", CREATE, {**GOOD, "amount": "100"}, 400, "amount"),
    Case("amount_fraction", "POST", CREATE, {**GOOD, "amount": 1.5}, 400, "amount"),
    Case("amount_integral_float", "POST", CREATE, {**GOOD, "amount": 100.0}, 400, "amount"),
    Case("amount_true", "POST", CREATE, {**GOOD, "amount": True}, 400, "amount"),
    Case("amount_null", "POST", CREATE, {**GOOD, "amount": None}, 400, "amount"),
    Case("amount_missing", "POST", CREATE, {"currency": "INR"}, 400, "amount", "parameter_missing"),
    Case("currency_missing", "POST", CREATE, {"amount": 50000}, 400, "currency", "parameter_missing"),
    Case("amount_zero", "POST", CREATE, {**GOOD, "amount": 0}, 400, "amount"),
    Case("amount_negative", "POST", CREATE, {**GOOD, "amount": -100}, 400, "amount"),
    Case("amount_over_limit", "POST", CREATE, {**GOOD, "amount": MAX_AMOUNT_MINOR + 1}, 400, "amount"),
    Case("amount_beyond_bigint", "POST", CREATE, {**GOOD, "amount": 10**30}, 400, "amount"),
    Case("currency_unknown_xxx", "POST", CREATE, {**GOOD, "currency": "XXX"}, 400, "currency"),
    Case("currency_two_letters", "POST", CREATE, {**GOOD, "currency": "US"}, 400, "currency"),
    Case("currency_with_digit", "POST", CREATE, {**GOOD, "currency": "inr1"}, 400, "currency"),
    Case("currency_empty", "POST", CREATE, {**GOOD, "currency": ""}, 400, "currency"),
    Case("currency_four_letters", "POST", CREATE, {**GOOD, "currency": "USDD"}, 400, "currency"),
    Case("currency_number", "POST", CREATE, {**GOOD, "currency": 356}, 400, "currency"),
    Case("currency_fullwidth", "POST", CREATE, {**GOOD, "currency": "\uff29\uff2e\uff32"}, 400, "currency"),
    Case("capture_method_unknown", "POST", CREATE, {**GOOD, "capture_method": "later"}, 400, "capture_method"),
    Case("confirm_string", "POST", CREATE, {**GOOD, "confirm": "true"}, 400, "confirm"),
    Case("metadata_list", "POST", CREATE, {**GOOD, "metadata": ["a"]}, 400, param_prefix="metadata"),
    Case("metadata_value_number", "POST", CREATE, {**GOOD, "metadata": {"k": 1}}, 400, param_prefix="metadata"),
    Case(
        "metadata_too_many_keys",
        "POST",
        CREATE,
        {**GOOD, "metadata": {f"k{i}": "v" for i in range(51)}},
        400,
        param_prefix="metadata",
    ),
    Case("return_url_javascript", "POST", CREATE, {**GOOD, "return_url": "javascript:alert(1)"}, 400, "return_url"),
    Case("gateway_unknown", "POST", CREATE, {**GOOD, "gateway": "stripe"}, 400, "gateway"),
    Case("customer_id_empty", "POST", CREATE, {**GOOD, "customer_id": ""}, 400, "customer_id"),
    Case("customer_id_unknown", "POST", CREATE, {**GOOD, "customer_id": "cus_doesnotexist"}, 404, "customer_id"),
    Case("order_id_too_long", "POST", CREATE, {**GOOD, "merchant_order_id": "o" * 65}, 400, "merchant_order_id"),
    Case("description_too_long", "POST", CREATE, {**GOOD, "description": "d" * 1001}, 400, "description"),
    Case("description_nul_byte", "POST", CREATE, {**GOOD, "description": "bad\u0000byte"}, 400, "description"),
    Case("order_id_nul_byte", "POST", CREATE, {**GOOD, "merchant_order_id": "o\u00001"}, 400, "merchant_order_id"),
    Case("metadata_nul_byte", "POST", CREATE, {**GOOD, "metadata": {"k": "v\u0000"}}, 400, param_prefix="metadata"),
    Case("method_without_confirm", "POST", CREATE, {**GOOD, "payment_method": card()}, 400, "payment_method"),
    Case("confirm_without_method", "POST", CREATE, {**GOOD, "confirm": True}, 400, "payment_method"),
]


@pytest.mark.parametrize("case", CREATE_CASES, ids=str)
async def test_create_payment_rejects_bad_body(stack, merchant, case):
    await run_case(stack, merchant, case)


# --- payment methods: POST /v1/payments (confirm: true) and POST /v1/payments/{id}/confirm --

_N = "payment_method.card.number"
_M = "payment_method.card.exp_month"
_Y = "payment_method.card.exp_year"
_C = "payment_method.card.cvc"
if TODAY.month > 1:
    _EXPIRED = ({"exp_month": TODAY.month - 1, "exp_year": TODAY.year}, _M)
else:
    _EXPIRED = ({"exp_month": 12, "exp_year": TODAY.year - 1}, _Y)

METHOD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("card_bad_luhn", card("4111111111111112"), _N),
    ("card_letters", card("4111abcd11111111"), _N),
    ("card_too_short", card("41111111111"), _N),
    ("card_too_long", card("41111111111111111111"), _N),
    ("card_with_spaces", card("4111 1111 1111 1111"), _N),
    ("card_empty_number", card(""), _N),
    ("card_number_as_int", card(int(PAN)), _N),  # type: ignore[arg-type]
    ("card_unknown_brand", card(luhn_complete("999999999999999")), _N),
    ("card_expired_this_year", card(**_EXPIRED[0]), _EXPIRED[1]),
    ("card_expired_last_year", card(exp_month=12, exp_year=TODAY.year - 1), _Y),
    ("card_month_zero", card(exp_month=0), _M),
    ("card_month_thirteen", card(exp_month=13), _M),
    ("card_month_string", card(exp_month="12"), _M),
    ("card_two_digit_year", card(exp_year=30), _Y),
    ("card_year_far_future", card(exp_year=TODAY.year + 50), _Y),
    ("cvc_two_digits", card(cvc="12"), _C),
    ("cvc_five_digits", card(cvc="12345"), _C),
    ("cvc_letters", card(cvc="12a"), _C),
    ("cvc_four_digits_visa", card(cvc="1234"), _C),
    ("cvc_three_digits_amex", card(AMEX, cvc="123"), _C),
    ("cvc_missing", {"type": "card", "card": {"number": PAN, "exp_month": 12, "exp_year": EXP_YEAR}}, _C),
    ("card_unknown_field", card(pin="1234"), "payment_method.card.pin"),
    ("card_type_without_card", {"type": "card"}, "payment_method.card"),
    ("card_type_with_upi_object", {"type": "card", "upi": {"vpa": "success@upi"}}, "payment_method.card"),
    ("method_type_unknown", {"type": "crypto"}, "payment_method.type"),
    ("method_type_missing", {"card": card()["card"]}, "payment_method.type"),
    ("vpa_no_handle", {"type": "upi", "upi": {"vpa": "nobank"}}, "payment_method.upi.vpa"),
    ("vpa_no_psp", {"type": "upi", "upi": {"vpa": "user@"}}, "payment_method.upi.vpa"),
    ("vpa_no_user", {"type": "upi", "upi": {"vpa": "@upi"}}, "payment_method.upi.vpa"),
    ("vpa_double_at", {"type": "upi", "upi": {"vpa": "user@@upi"}}, "payment_method.upi.vpa"),
    ("vpa_space", {"type": "upi", "upi": {"vpa": "us er@upi"}}, "payment_method.upi.vpa"),
    ("vpa_too_long", {"type": "upi", "upi": {"vpa": "u" * 300 + "@upi"}}, "payment_method.upi.vpa"),
    ("upi_type_without_upi", {"type": "upi"}, "payment_method.upi"),
    (
        "bank_code_lowercase",
        {"type": "netbanking", "netbanking": {"bank_code": "hdfc"}},
        "payment_method.netbanking.bank_code",
    ),
    (
        "bank_code_one_char",
        {"type": "netbanking", "netbanking": {"bank_code": "H"}},
        "payment_method.netbanking.bank_code",
    ),
    (
        "bank_code_dash",
        {"type": "netbanking", "netbanking": {"bank_code": "HDFC-BANK"}},
        "payment_method.netbanking.bank_code",
    ),
    (
        "bank_code_too_long",
        {"type": "netbanking", "netbanking": {"bank_code": "B" * 21}},
        "payment_method.netbanking.bank_code",
    ),
    ("netbanking_without_object", {"type": "netbanking"}, "payment_method.netbanking"),
    ("wallet_uppercase", {"type": "wallet", "wallet": {"provider": "PayTM"}}, "payment_method.wallet.provider"),
    ("wallet_one_char", {"type": "wallet", "wallet": {"provider": "p"}}, "payment_method.wallet.provider"),
    ("wallet_space", {"type": "wallet", "wallet": {"provider": "pay tm"}}, "payment_method.wallet.provider"),
    ("wallet_without_object", {"type": "wallet"}, "payment_method.wallet"),
]


@pytest.mark.parametrize(("name", "method", "param"), METHOD_CASES, ids=[c[0] for c in METHOD_CASES])
async def test_create_and_confirm_rejects_bad_payment_method(stack, merchant, name, method, param):
    body = {**GOOD, "confirm": True, "payment_method": method}
    await run_case(stack, merchant, Case(name, "POST", CREATE, body, 400, param))


@pytest.mark.parametrize(("name", "method", "param"), METHOD_CASES, ids=[c[0] for c in METHOD_CASES])
async def test_confirm_rejects_bad_payment_method(stack, merchant, name, method, param):
    case = Case(name, "POST", "/v1/payments/{id}/confirm", {"payment_method": method}, 400, param, needs="open")
    await run_case(stack, merchant, case)


async def test_rejected_card_number_is_not_echoed_anywhere_in_the_error(stack, merchant):
    number = "4111111111111112"  # fails Luhn only
    response = await send(merchant.http, "POST", CREATE, {**GOOD, "confirm": True, "payment_method": card(number)})
    error = assert_error(response, 400, param=_N, code="incorrect_number", secret=number)
    assert number[-4:] + '"' not in response.text and "411111" not in error["message"]


# --- the other endpoints' bodies --------------------------------------------------------------

CONFIRM = "/v1/payments/{id}/confirm"
CAPTURE = "/v1/payments/{id}/capture"
CANCEL = "/v1/payments/{id}/cancel"
REFUNDS = "/v1/refunds"
CUSTOMERS = "/v1/customers"

ENDPOINT_CASES = [
    Case("confirm_malformed_json", "POST", CONFIRM, b'{"payment_method": {', 400, needs="open"),
    Case("confirm_json_array", "POST", CONFIRM, b"[]", 400, needs="open"),
    Case("confirm_json_string", "POST", CONFIRM, b'"card"', 400, needs="open"),
    Case(
        "confirm_unknown_field",
        "POST",
        CONFIRM,
        {"payment_method": card(), "amount": 1},
        400,
        "amount",
        "parameter_unknown",
        "open",
    ),
    Case("confirm_method_is_string", "POST", CONFIRM, {"payment_method": "card"}, 400, "payment_method", needs="open"),
    Case("confirm_without_method", "POST", CONFIRM, {}, 400, "payment_method", needs="open"),
    Case(
        "confirm_bad_return_url",
        "POST",
        CONFIRM,
        {"payment_method": card(), "return_url": "ftp://x"},
        400,
        "return_url",
        needs="open",
    ),
    Case(
        "confirm_unknown_gateway",
        "POST",
        CONFIRM,
        {"payment_method": card(), "gateway": "stripe"},
        400,
        "gateway",
        needs="open",
    ),
    Case("capture_malformed_json", "POST", CAPTURE, b'{"amount": ', 400, needs="authorized"),
    Case("capture_json_array", "POST", CAPTURE, b"[1]", 400, needs="authorized"),
    Case(
        "capture_unknown_field", "POST", CAPTURE, {"amount_to_capture": 1}, 400, "amount_to_capture", needs="authorized"
    ),
    Case("capture_amount_string", "POST", CAPTURE, {"amount": "100"}, 400, "amount", needs="authorized"),
    Case("capture_amount_fraction", "POST", CAPTURE, {"amount": 1.5}, 400, "amount", needs="authorized"),
    Case("capture_amount_true", "POST", CAPTURE, {"amount": True}, 400, "amount", needs="authorized"),
    Case("capture_amount_zero", "POST", CAPTURE, {"amount": 0}, 400, "amount", needs="authorized"),
    Case("capture_amount_negative", "POST", CAPTURE, {"amount": -1}, 400, "amount", needs="authorized"),
    Case("capture_more_than_authorized", "POST", CAPTURE, {"amount": 50001}, 400, "amount", needs="authorized"),
    Case("cancel_malformed_json", "POST", CANCEL, b"{", 400, needs="authorized"),
    Case("cancel_json_array", "POST", CANCEL, b"[]", 400, needs="authorized"),
    Case("cancel_unknown_field", "POST", CANCEL, {"reason": "duplicate"}, 400, "reason", needs="authorized"),
    Case(
        "cancel_unknown_reason",
        "POST",
        CANCEL,
        {"cancellation_reason": "because"},
        400,
        "cancellation_reason",
        needs="authorized",
    ),
    Case("refund_malformed_json", "POST", REFUNDS, b'{"payment_id": "', 400),
    Case("refund_json_array", "POST", REFUNDS, b'["pay_x"]', 400),
    Case("refund_json_string", "POST", REFUNDS, b'"pay_x"', 400),
    Case("refund_missing_payment_id", "POST", REFUNDS, {"amount": 100}, 400, "payment_id", "parameter_missing"),
    Case("refund_payment_id_number", "POST", REFUNDS, {"payment_id": 123}, 400, "payment_id"),
    Case(
        "refund_unknown_field", "POST", REFUNDS, {"payment_id": "{id}", "charge": "x"}, 400, "charge", needs="succeeded"
    ),
    Case(
        "refund_amount_string",
        "POST",
        REFUNDS,
        {"payment_id": "{id}", "amount": "100"},
        400,
        "amount",
        needs="succeeded",
    ),
    Case(
        "refund_amount_fraction",
        "POST",
        REFUNDS,
        {"payment_id": "{id}", "amount": 1.5},
        400,
        "amount",
        needs="succeeded",
    ),
    Case(
        "refund_amount_true", "POST", REFUNDS, {"payment_id": "{id}", "amount": True}, 400, "amount", needs="succeeded"
    ),
    Case("refund_amount_zero", "POST", REFUNDS, {"payment_id": "{id}", "amount": 0}, 400, "amount", needs="succeeded"),
    Case(
        "refund_amount_negative",
        "POST",
        REFUNDS,
        {"payment_id": "{id}", "amount": -1},
        400,
        "amount",
        needs="succeeded",
    ),
    Case(
        "refund_unknown_reason",
        "POST",
        REFUNDS,
        {"payment_id": "{id}", "reason": "angry"},
        400,
        "reason",
        needs="succeeded",
    ),
    Case("customer_malformed_json", "POST", CUSTOMERS, b'{"email": ', 400),
    Case("customer_json_array", "POST", CUSTOMERS, b"[]", 400),
    Case("customer_json_string", "POST", CUSTOMERS, b'"bob"', 400),
    Case("customer_unknown_field", "POST", CUSTOMERS, {"name": "Bob", "ssn": "x"}, 400, "ssn", "parameter_unknown"),
    Case("customer_bad_email", "POST", CUSTOMERS, {"email": "not-an-email"}, 400, "email"),
    Case("customer_email_number", "POST", CUSTOMERS, {"email": 42}, 400, "email"),
    Case("customer_bad_phone", "POST", CUSTOMERS, {"phone": "call me"}, 400, "phone"),
    Case("customer_short_phone", "POST", CUSTOMERS, {"phone": "12"}, 400, "phone"),
    Case("customer_empty_name", "POST", CUSTOMERS, {"name": ""}, 400, "name"),
    Case("customer_long_name", "POST", CUSTOMERS, {"name": "n" * 201}, 400, "name"),
    Case("customer_metadata_list", "POST", CUSTOMERS, {"metadata": [1]}, 400, param_prefix="metadata"),
    Case("customer_name_nul_byte", "POST", CUSTOMERS, {"name": "Bob\u0000"}, 400, "name"),
]


@pytest.mark.parametrize("case", ENDPOINT_CASES, ids=str)
async def test_endpoint_rejects_bad_body(stack, merchant, case):
    await run_case(stack, merchant, case)


ADMIN_CASES = [
    ("malformed_json", b'{"name": ', None),
    ("json_array", b'[{"name": "x"}]', None),
    ("json_string", b'"x"', None),
    ("missing_name", {}, "name"),
    ("empty_name", {"name": ""}, "name"),
    ("blank_name", {"name": "   "}, "name"),
    ("long_name", {"name": "n" * 201}, "name"),
    ("name_number", {"name": 42}, "name"),
    ("unknown_field", {"name": "x", "sandbox": False}, "sandbox"),
]


@pytest.mark.parametrize(("name", "body", "param"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
async def test_admin_create_merchant_rejects_bad_body(stack, name, body, param):
    before = await merchant_count(stack.engine.pool)
    async with stack.client(ADMIN_TOKEN) as admin:
        response = await send(admin, "POST", "/v1/admin/merchants", body)
    assert_error(response, 400, param=param)
    assert await merchant_count(stack.engine.pool) == before


# --- oversized bodies -----------------------------------------------------------------------

BIG = {"metadata": {f"k{i}": "v" * 500 for i in range(50)}, "description": "d" * 50_000}  # > 64 KiB as JSON


@pytest.mark.parametrize(
    ("path", "needs", "body"),
    [
        (CREATE, None, {**GOOD, **BIG}),
        (CONFIRM, "open", {"payment_method": card(holder_name="x" * 70_000)}),
        (CAPTURE, "authorized", {"amount": 1, "pad": "x" * 70_000}),
        (REFUNDS, None, {"payment_id": "p" * 70_000}),
        (CUSTOMERS, None, {"name": "x", "metadata": BIG["metadata"], "email": "a" * 70_000}),
    ],
    ids=["create", "confirm", "capture", "refund", "customer"],
)
async def test_oversized_body_is_413_in_error_shape(stack, merchant, path, needs, body):
    raw = json.dumps(body).encode()
    assert len(raw) > 64 * 1024
    if needs:
        path = path.format(id=await make_payment(merchant, needs))
    before = await snapshot(stack.engine.pool, merchant.id)
    response = await send(merchant.http, "POST", path, raw)
    assert_error(response, 413, code="body_too_large", secret=PAN)
    assert await snapshot(stack.engine.pool, merchant.id) == before


async def test_oversized_chunked_body_without_length_is_413(stack, merchant):
    raw = json.dumps({**GOOD, **BIG}).encode()

    async def chunks():
        for i in range(0, len(raw), 8192):
            yield raw[i : i + 8192]

    before = await snapshot(stack.engine.pool, merchant.id)
    response = await merchant.http.post(
        CREATE, content=chunks(), headers={"Content-Type": "application/json", "Idempotency-Key": new_key()}
    )
    assert_error(response, 413, code="body_too_large")
    assert await snapshot(stack.engine.pool, merchant.id) == before


async def test_oversized_admin_body_is_413(stack):
    before = await merchant_count(stack.engine.pool)
    async with stack.client(ADMIN_TOKEN) as admin:
        response = await send(admin, "POST", "/v1/admin/merchants", {"name": "x" * 70_000})
    assert_error(response, 413, code="body_too_large")
    assert await merchant_count(stack.engine.pool) == before


# --- the Idempotency-Key header itself ------------------------------------------------------

BAD_KEYS = {
    "empty": b"",
    "256_chars": b"k" * 256,
    "tab": b"abc\tdef",
    "non_ascii": "clé-ünïcode".encode(),
}
KEY_ENDPOINTS = {
    "create": (CREATE, None, GOOD),
    "create_confirm": (CREATE, None, {**GOOD, "confirm": True, "payment_method": card()}),
    "confirm": (CONFIRM, "open", {"payment_method": card()}),
    "capture": (CAPTURE, "authorized", {}),
    "refund": (REFUNDS, "succeeded", {"payment_id": "{id}", "amount": 100}),
    "customer": (CUSTOMERS, None, {"name": "Bob"}),
}


@pytest.mark.parametrize("endpoint", list(KEY_ENDPOINTS))
@pytest.mark.parametrize("key", list(BAD_KEYS))
async def test_malformed_idempotency_key_is_400_and_stores_nothing(stack, merchant, endpoint, key):
    path, needs, body = KEY_ENDPOINTS[endpoint]
    if needs:
        payment_id = await make_payment(merchant, needs)
        path = path.format(id=payment_id)
        body = {k: (payment_id if v == "{id}" else v) for k, v in body.items()}
    before = await snapshot(stack.engine.pool, merchant.id)
    response = await merchant.http.post(
        path,
        content=json.dumps(body).encode(),
        headers=[("Content-Type", "application/json"), ("Idempotency-Key", BAD_KEYS[key])],
    )
    assert_error(response, 400, param="Idempotency-Key", secret=PAN)
    assert await snapshot(stack.engine.pool, merchant.id) == before


async def test_idempotency_key_of_255_printable_chars_is_accepted(stack, merchant):
    key = ("Az09-_.~!" * 40)[:255]
    response = await merchant.http.post(CREATE, json=GOOD, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    rows = await stack.engine.pool.fetch("SELECT key FROM idempotency_keys WHERE merchant_id = $1", merchant.id)
    assert [r["key"] for r in rows] == [key]


# --- unknown objects ------------------------------------------------------------------------

UNKNOWN_PAY = "pay_" + "0" * 24
NOT_FOUND_CASES = [
    Case("get_payment", "GET", f"/v1/payments/{UNKNOWN_PAY}", NO_BODY, 404, code="resource_missing"),
    Case(
        "confirm",
        "POST",
        f"/v1/payments/{UNKNOWN_PAY}/confirm",
        {"payment_method": card()},
        404,
        code="resource_missing",
    ),
    Case("capture", "POST", f"/v1/payments/{UNKNOWN_PAY}/capture", {}, 404, code="resource_missing"),
    Case("cancel", "POST", f"/v1/payments/{UNKNOWN_PAY}/cancel", {}, 404, code="resource_missing"),
    Case("sync", "POST", f"/v1/payments/{UNKNOWN_PAY}/sync", {}, 404, code="resource_missing"),
    Case("get_refund", "GET", "/v1/refunds/re_" + "0" * 24, NO_BODY, 404, code="resource_missing"),
    Case("get_customer", "GET", "/v1/customers/cus_" + "0" * 24, NO_BODY, 404, code="resource_missing"),
    Case("refund_unknown_payment", "POST", REFUNDS, {"payment_id": UNKNOWN_PAY}, 404, "payment_id", "resource_missing"),
    Case("payment_id_sql_injection", "GET", "/v1/payments/pay_'%20OR%20'1'='1", NO_BODY, 404),
    Case("payment_id_very_long", "GET", "/v1/payments/pay_" + "x" * 2000, NO_BODY, 404),
    Case("payment_id_nul_byte", "GET", "/v1/payments/pay_%00abc", NO_BODY, 404),
    Case("confirm_id_nul_byte", "POST", "/v1/payments/pay_%00abc/confirm", {"payment_method": card()}, 404),
    Case("customer_id_nul_byte", "GET", "/v1/customers/cus_%00abc", NO_BODY, 404),
    Case("refund_id_nul_byte", "GET", "/v1/refunds/re_%00abc", NO_BODY, 404),
    Case("refund_payment_id_nul_byte", "POST", REFUNDS, {"payment_id": "pay_\u0000x"}, 400, "payment_id"),
]


@pytest.mark.parametrize("case", NOT_FOUND_CASES, ids=str)
async def test_unknown_object_is_404(stack, merchant, case):
    await run_case(stack, merchant, case)


# --- illegal transitions --------------------------------------------------------------------

TRANSITION_CASES = [
    Case("capture_canceled", "POST", CAPTURE, {}, 409, needs="canceled"),
    Case("capture_succeeded", "POST", CAPTURE, {}, 409, needs="succeeded"),
    Case("capture_unconfirmed", "POST", CAPTURE, {}, 409, needs="open"),
    Case("cancel_succeeded", "POST", CANCEL, {}, 409, needs="succeeded"),
    Case("cancel_canceled", "POST", CANCEL, {}, 409, needs="canceled"),
    Case("confirm_succeeded_again", "POST", CONFIRM, {"payment_method": card()}, 409, needs="succeeded"),
    Case("confirm_authorized_again", "POST", CONFIRM, {"payment_method": card()}, 409, needs="authorized"),
    Case("confirm_canceled", "POST", CONFIRM, {"payment_method": card()}, 409, needs="canceled"),
    Case(
        "refund_more_than_captured",
        "POST",
        REFUNDS,
        {"payment_id": "{id}", "amount": 50001},
        400,
        "amount",
        needs="succeeded",
    ),
    Case("refund_uncaptured", "POST", REFUNDS, {"payment_id": "{id}", "amount": 100}, 409, needs="authorized"),
    Case("refund_unconfirmed", "POST", REFUNDS, {"payment_id": "{id}"}, 409, needs="open"),
    Case("refund_canceled", "POST", REFUNDS, {"payment_id": "{id}"}, 409, needs="canceled"),
]


@pytest.mark.parametrize("case", TRANSITION_CASES, ids=str)
async def test_illegal_transition_is_rejected_and_changes_nothing(stack, merchant, case):
    await run_case(stack, merchant, case)


async def test_confirm_twice_second_is_409(stack, merchant):
    created = await merchant.http.post(CREATE, json=GOOD)
    payment_id = created.json()["id"]
    first = await merchant.http.post(f"/v1/payments/{payment_id}/confirm", json={"payment_method": card()})
    assert first.status_code == 200 and first.json()["status"] == "succeeded", first.text
    before = await snapshot(stack.engine.pool, merchant.id)
    second = await send(merchant.http, "POST", f"/v1/payments/{payment_id}/confirm", {"payment_method": card()})
    assert_error(second, 409, secret=PAN)
    assert await snapshot(stack.engine.pool, merchant.id) == before


async def test_refund_after_full_refund_is_rejected(stack, merchant):
    payment_id = await make_payment(merchant, "succeeded")
    full = await merchant.http.post(REFUNDS, json={"payment_id": payment_id})
    assert full.status_code == 200 and full.json()["amount"] == 50000, full.text
    before = await snapshot(stack.engine.pool, merchant.id)
    again = await send(merchant.http, "POST", REFUNDS, {"payment_id": payment_id, "amount": 1})
    assert_error(again, 400, param="amount")
    assert await snapshot(stack.engine.pool, merchant.id) == before


# --- currencies with exponent 0 and 3 ---------------------------------------------------------


@pytest.mark.parametrize(("currency", "amount"), [("JPY", 500), ("KWD", 1005), ("INR", 1)])
async def test_amount_is_taken_in_the_currencys_minor_unit(stack, merchant, currency, amount):
    response = await merchant.http.post(CREATE, json={"amount": amount, "currency": currency})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["amount"], body["currency"]) == (amount, currency)
    row = await stack.engine.pool.fetchrow("SELECT amount, currency FROM payments WHERE id = $1", body["id"])
    assert (row["amount"], row["currency"]) == (amount, currency)


@pytest.mark.parametrize("currency", ["JPY", "KWD"])
async def test_over_limit_applies_to_zero_and_three_decimal_currencies(stack, merchant, currency):
    await run_case(
        stack,
        merchant,
        Case("over", "POST", CREATE, {"amount": MAX_AMOUNT_MINOR + 1, "currency": currency}, 400, "amount"),
    )


@pytest.mark.parametrize("currency", ["JPY", "KWD"])
async def test_confirm_in_a_currency_no_gateway_accepts_is_rejected_before_anything_is_stored(
    stack, merchant, currency
):
    body = {"amount": 5000, "currency": currency, "confirm": True, "payment_method": card()}
    await run_case(stack, merchant, Case("no_gateway", "POST", CREATE, body, 400))


# --- listing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status", "param"),
    [
        ("limit=0", 400, "limit"),
        ("limit=101", 400, "limit"),
        ("limit=-1", 400, "limit"),
        ("limit=abc", 400, "limit"),
        ("limit=1.5", 400, "limit"),
        ("status=bogus", 400, "status"),
        ("status=SUCCEEDED", 400, "status"),
        (f"starting_after={UNKNOWN_PAY}", 404, "starting_after"),
        ("starting_after=" + "x" * 65, 400, "starting_after"),
    ],
    ids=lambda v: str(v),
)
async def test_list_rejects_bad_query(stack, merchant, query, status, param):
    await make_payment(merchant, "open")
    before = await snapshot(stack.engine.pool, merchant.id)
    response = await merchant.http.get(f"/v1/payments?{query}")
    assert_error(response, status, param=param)
    assert await snapshot(stack.engine.pool, merchant.id) == before


@pytest.mark.parametrize("limit", [1, 100])
async def test_list_accepts_limit_bounds(merchant, limit):
    await make_payment(merchant, "open")
    response = await merchant.http.get(f"/v1/payments?limit={limit}")
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


# --- authentication -------------------------------------------------------------------------

AUTH_ENDPOINTS = [
    ("GET", "/v1/payments", NO_BODY),
    ("POST", "/v1/payments", GOOD),
    ("GET", f"/v1/payments/{UNKNOWN_PAY}", NO_BODY),
    ("POST", f"/v1/payments/{UNKNOWN_PAY}/confirm", {"payment_method": card()}),
    ("POST", "/v1/refunds", {"payment_id": UNKNOWN_PAY}),
    ("POST", "/v1/customers", {"name": "Bob"}),
    ("GET", "/v1/customers/cus_x", NO_BODY),
]
BAD_AUTH = {
    "missing": None,
    "basic_scheme": "Basic c2tfdGVzdF94Og==",
    "token_scheme": "Token sk_test_abcdefghijklmnopqrstuvwxyz",
    "bearer_without_token": "Bearer",
    "unknown_key": "Bearer sk_test_" + "A" * 32,
    "garbage": "Bearer not-a-key-at-all",
    "live_prefix": "Bearer sk_live_" + "A" * 32,
    "admin_token_as_merchant": "ADMIN",
}


@pytest.mark.parametrize("auth", list(BAD_AUTH))
@pytest.mark.parametrize(("method", "path", "body"), AUTH_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in AUTH_ENDPOINTS])
async def test_bad_credentials_are_401(stack, merchant, auth, method, path, body):
    value = BAD_AUTH[auth]
    if value == "ADMIN":
        value = f"Bearer {ADMIN_TOKEN}"
    headers = {} if value is None else {"Authorization": value}
    keys_before = await stack.engine.pool.fetchval("SELECT count(*) FROM idempotency_keys")
    payments_before = await stack.engine.pool.fetchval("SELECT count(*) FROM payments")
    async with stack.client() as anonymous:
        response = await send(anonymous, method, path, body, headers)
    assert_error(response, 401, type_="authentication_error", secret=ADMIN_TOKEN)
    assert await stack.engine.pool.fetchval("SELECT count(*) FROM idempotency_keys") == keys_before
    assert await stack.engine.pool.fetchval("SELECT count(*) FROM payments") == payments_before


async def test_revoked_key_is_401_and_stores_nothing(stack):
    merchant_id, api_key = await stack.new_merchant("Revoked Pharmacy")
    await stack.engine.pool.execute("UPDATE api_keys SET revoked_at = now() WHERE merchant_id = $1", merchant_id)
    async with stack.client(api_key) as http:
        listed = await http.get("/v1/payments")
        created = await send(http, "POST", CREATE, GOOD)
    assert_error(listed, 401, type_="authentication_error", secret=api_key)
    assert_error(created, 401, type_="authentication_error", secret=api_key)
    assert await snapshot(stack.engine.pool, merchant_id) == {table: [] for table in _SNAPSHOT}


async def test_auth_is_checked_before_the_body(stack):
    async with stack.client() as anonymous:
        response = await send(anonymous, "POST", CREATE, b"{not json")
    assert_error(response, 401, type_="authentication_error")


@pytest.mark.parametrize(
    ("auth", "status", "type_"),
    [
        (None, 401, "authentication_error"),
        ("Bearer wrong-admin-token", 401, "authentication_error"),
        ("Basic " + "YWRtaW46YWRtaW4=", 401, "authentication_error"),
        ("MERCHANT", 403, "permission_error"),
    ],
    ids=["missing", "wrong_token", "basic_scheme", "merchant_key"],
)
async def test_admin_endpoint_refuses_non_admins(stack, merchant, auth, status, type_):
    headers = {} if auth is None else {"Authorization": f"Bearer {merchant.api_key}" if auth == "MERCHANT" else auth}
    before = await merchant_count(stack.engine.pool)
    async with stack.client() as anonymous:
        response = await send(anonymous, "POST", "/v1/admin/merchants", {"name": "Intruder"}, headers)
    assert_error(response, status, type_=type_, secret=merchant.api_key)
    assert await merchant_count(stack.engine.pool) == before


async def test_unknown_route_and_method_answer_in_error_shape(merchant):
    missing = await merchant.http.get("/v1/paymentz")
    assert_error(missing, 404)
    wrong_method = await merchant.http.delete("/v1/payments")
    assert_error(wrong_method, 405)
