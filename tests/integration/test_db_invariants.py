"""PostgreSQL enforces the money rules on its own, even when the engine's code is bypassed.

Every test writes with plain SQL on the migrated test database: what the engine guarantees in
Python (DESIGN.md §3: amount > 0, captured <= amount, refunded <= captured, one successful attempt
per payment, unique merchant_order_id per merchant, legal status transitions only, money never
shrinking) must also be refused by the database.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from engine.states import ATTEMPT_TRANSITIONS, PAYMENT_TRANSITIONS, REFUND_TRANSITIONS

_ALNUM = string.ascii_letters + string.digits


def _id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALNUM) for _ in range(20))


@pytest_asyncio.fixture(scope="module")
async def pool(svc) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(svc.database_url, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()


async def new_merchant(db: Any) -> str:
    merchant_id = _id("mer")
    await db.execute("INSERT INTO merchants (id, name) VALUES ($1, 'Invariant Pharmacy')", merchant_id)
    return merchant_id


async def new_payment(
    db: Any,
    merchant_id: str,
    *,
    amount: int = 10_000,
    status: str = "requires_payment_method",
    received: int = 0,
    refunded: int = 0,
    order_id: str | None = None,
) -> str:
    payment_id = _id("pay")
    now = datetime.now(UTC)
    await db.execute(
        """INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, amount_received,
                                 amount_refunded, merchant_order_id, created_at, updated_at)
           VALUES ($1, $2, $3, 'INR', $4, 'automatic', $5, $6, $7, $8, $8)""",
        payment_id,
        merchant_id,
        amount,
        status,
        received,
        refunded,
        order_id,
        now,
    )
    return payment_id


async def new_attempt(db: Any, merchant_id: str, payment_id: str, status: str = "pending", amount: int = 10_000) -> str:
    attempt_id = _id("att")
    await db.execute(
        """INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, status, amount, method_type)
           VALUES ($1, $2, $3, 'razorpay', $4, $5, 'card')""",
        attempt_id,
        payment_id,
        merchant_id,
        status,
        amount,
    )
    return attempt_id


async def new_refund(db: Any, merchant_id: str, payment_id: str, attempt_id: str, status: str = "pending") -> str:
    refund_id = _id("re")
    await db.execute(
        """INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status)
           VALUES ($1, $2, $3, $4, 100, 'INR', $5)""",
        refund_id,
        merchant_id,
        payment_id,
        attempt_id,
        status,
    )
    return refund_id


async def captured_payment(db: Any) -> tuple[str, str, str]:
    """(merchant, succeeded payment with 10000 received, its captured attempt)."""
    merchant_id = await new_merchant(db)
    payment_id = await new_payment(db, merchant_id, status="succeeded", received=10_000)
    attempt_id = await new_attempt(db, merchant_id, payment_id, "captured")
    return merchant_id, payment_id, attempt_id


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -1, -10_000])
async def test_payment_amount_must_be_positive(pool, amount):
    merchant_id = await new_merchant(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await new_payment(pool, merchant_id, amount=amount)
    assert await pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant_id) == 0


async def test_positive_amount_is_accepted(pool):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id, amount=1)
    assert await pool.fetchval("SELECT amount FROM payments WHERE id = $1", payment_id) == 1


@pytest.mark.parametrize("amount", [0, -5])
async def test_attempt_and_refund_amounts_must_be_positive(pool, amount):
    merchant_id, payment_id, attempt_id = await captured_payment(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await new_attempt(pool, merchant_id, payment_id, "failed", amount=amount)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            """INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status)
               VALUES ($1, $2, $3, $4, $5, 'INR', 'pending')""",
            _id("re"),
            merchant_id,
            payment_id,
            attempt_id,
            amount,
        )


async def test_amount_received_cannot_exceed_amount(pool):
    merchant_id = await new_merchant(pool)
    with pytest.raises(asyncpg.CheckViolationError) as insert:
        await new_payment(pool, merchant_id, status="succeeded", received=10_001)
    assert insert.value.constraint_name == "captured_within_amount"
    payment_id = await new_payment(pool, merchant_id, status="processing")
    with pytest.raises(asyncpg.CheckViolationError) as update:
        await pool.execute(
            "UPDATE payments SET status = 'succeeded', amount_received = 10001 WHERE id = $1", payment_id
        )
    assert update.value.constraint_name == "captured_within_amount"
    await pool.execute("UPDATE payments SET status = 'succeeded', amount_received = 10000 WHERE id = $1", payment_id)


async def test_amount_capturable_cannot_exceed_amount(pool):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute("UPDATE payments SET amount_capturable = 10001 WHERE id = $1", payment_id)
    assert error.value.constraint_name == "capturable_within_amount"


async def test_amount_refunded_cannot_exceed_amount_received(pool):
    merchant_id, payment_id, _ = await captured_payment(pool)
    await pool.execute("UPDATE payments SET amount_refunded = 10000 WHERE id = $1", payment_id)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute("UPDATE payments SET amount_refunded = 10001 WHERE id = $1", payment_id)
    assert error.value.constraint_name == "refunded_within_captured"
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE payments SET amount_refunded = -1 WHERE id = $1", payment_id)
    other = await new_payment(pool, merchant_id, status="processing")
    with pytest.raises(asyncpg.CheckViolationError) as refund_before_capture:
        await pool.execute("UPDATE payments SET amount_refunded = 1 WHERE id = $1", other)
    assert refund_before_capture.value.constraint_name == "refunded_within_captured"


async def test_amount_received_never_decreases(pool):
    _, payment_id, _ = await captured_payment(pool)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute("UPDATE payments SET amount_received = 9999 WHERE id = $1", payment_id)
    assert error.value.constraint_name == "monotonic_received"
    assert await pool.fetchval("SELECT amount_received FROM payments WHERE id = $1", payment_id) == 10_000


async def test_amount_and_currency_are_immutable(pool):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id)
    with pytest.raises(asyncpg.CheckViolationError) as amount:
        await pool.execute("UPDATE payments SET amount = 20000 WHERE id = $1", payment_id)
    assert amount.value.constraint_name == "immutable_amount"
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("UPDATE payments SET currency = 'USD' WHERE id = $1", payment_id)


async def test_attempt_cannot_capture_more_than_its_amount(pool):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id, status="processing")
    attempt_id = await new_attempt(pool, merchant_id, payment_id, "authorized")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "UPDATE payment_attempts SET status = 'captured', amount_captured = 10001 WHERE id = $1", attempt_id
        )


async def test_succeeded_payment_must_have_received_money(pool):
    merchant_id = await new_merchant(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await new_payment(pool, merchant_id, status="succeeded", received=0)


# --- uniqueness -----------------------------------------------------------------------------


async def test_one_successful_attempt_per_payment(pool):
    merchant_id, payment_id, _ = await captured_payment(pool)
    with pytest.raises(asyncpg.UniqueViolationError) as captured:
        await new_attempt(pool, merchant_id, payment_id, "captured")
    assert captured.value.constraint_name == "one_success_per_payment"
    with pytest.raises(asyncpg.UniqueViolationError):
        await new_attempt(pool, merchant_id, payment_id, "authorized")
    pending = await new_attempt(pool, merchant_id, payment_id, "pending")
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute("UPDATE payment_attempts SET status = 'authorized' WHERE id = $1", pending)
    await new_attempt(pool, merchant_id, payment_id, "failed")  # failures may be many


async def test_merchant_order_id_is_unique_per_merchant_only(pool):
    merchant_a, merchant_b = await new_merchant(pool), await new_merchant(pool)
    await new_payment(pool, merchant_a, order_id="ORD-1")
    with pytest.raises(asyncpg.UniqueViolationError) as error:
        await new_payment(pool, merchant_a, order_id="ORD-1")
    assert error.value.constraint_name == "order_id_unique"
    await new_payment(pool, merchant_b, order_id="ORD-1")
    await new_payment(pool, merchant_a, order_id=None)
    await new_payment(pool, merchant_a, order_id=None)  # no order id is not a duplicate
    count = await pool.fetchval(
        "SELECT count(*) FROM payments WHERE merchant_order_id = 'ORD-1' AND merchant_id = ANY($1)",
        [merchant_a, merchant_b],
    )
    assert count == 2


async def test_idempotency_key_is_unique_per_merchant_only(pool):
    merchant_a, merchant_b = await new_merchant(pool), await new_merchant(pool)
    insert = """INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at)
                VALUES ($1, 'k-1', 'POST', '/v1/payments', '\\x00'::bytea, 'in_flight', now() + interval '1 day')"""
    await pool.execute(insert, merchant_a)
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(insert, merchant_a)
    await pool.execute(insert, merchant_b)


# --- status transitions ---------------------------------------------------------------------

ILLEGAL_PAYMENT = [
    ("succeeded", "processing"),
    ("succeeded", "requires_payment_method"),
    ("succeeded", "canceled"),
    ("canceled", "succeeded"),
    ("canceled", "requires_payment_method"),
    ("requires_capture", "processing"),
    ("processing", "canceled"),
    ("requires_payment_method", "succeeded"),
]


@pytest.mark.parametrize(("old", "new"), ILLEGAL_PAYMENT, ids=[f"{o}->{n}" for o, n in ILLEGAL_PAYMENT])
async def test_illegal_payment_transition_is_refused(pool, old, new):
    merchant_id = await new_merchant(pool)
    received = 10_000 if old == "succeeded" else 0
    payment_id = await new_payment(pool, merchant_id, status=old, received=received)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute(
            "UPDATE payments SET status = $2, amount_received = GREATEST(amount_received, $3) WHERE id = $1",
            payment_id,
            new,
            10_000 if new == "succeeded" else 0,
        )
    assert error.value.constraint_name == "legal_status_transition"
    assert await pool.fetchval("SELECT status FROM payments WHERE id = $1", payment_id) == old


ILLEGAL_ATTEMPT = [
    ("captured", "failed"),
    ("captured", "authorized"),
    ("failed", "captured"),
    ("failed", "pending"),
    ("voided", "captured"),
    ("authorized", "failed"),
    ("authorized", "pending"),
    ("unknown", "pending"),
]


@pytest.mark.parametrize(("old", "new"), ILLEGAL_ATTEMPT, ids=[f"{o}->{n}" for o, n in ILLEGAL_ATTEMPT])
async def test_illegal_attempt_transition_is_refused(pool, old, new):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id, status="processing")
    attempt_id = await new_attempt(pool, merchant_id, payment_id, old)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute("UPDATE payment_attempts SET status = $2 WHERE id = $1", attempt_id, new)
    assert error.value.constraint_name == "legal_status_transition"
    assert await pool.fetchval("SELECT status FROM payment_attempts WHERE id = $1", attempt_id) == old


ILLEGAL_REFUND = [
    ("succeeded", "pending"),
    ("succeeded", "failed"),
    ("failed", "succeeded"),
    ("failed", "pending"),
    ("succeeded", "unknown"),
]


@pytest.mark.parametrize(("old", "new"), ILLEGAL_REFUND, ids=[f"{o}->{n}" for o, n in ILLEGAL_REFUND])
async def test_illegal_refund_transition_is_refused(pool, old, new):
    merchant_id, payment_id, attempt_id = await captured_payment(pool)
    refund_id = await new_refund(pool, merchant_id, payment_id, attempt_id, old)
    with pytest.raises(asyncpg.CheckViolationError) as error:
        await pool.execute("UPDATE refunds SET status = $2 WHERE id = $1", refund_id, new)
    assert error.value.constraint_name == "legal_status_transition"
    assert await pool.fetchval("SELECT status FROM refunds WHERE id = $1", refund_id) == old


async def test_legal_transitions_and_same_status_updates_are_allowed(pool):
    merchant_id = await new_merchant(pool)
    payment_id = await new_payment(pool, merchant_id)
    attempt_id = await new_attempt(pool, merchant_id, payment_id)
    for status in ("processing", "requires_action", "processing"):
        await pool.execute("UPDATE payments SET status = $2 WHERE id = $1", payment_id, status)
    await pool.execute("UPDATE payments SET description = 'same status, new field' WHERE id = $1", payment_id)
    for status in ("requires_action", "unknown", "authorized", "captured"):
        await pool.execute("UPDATE payment_attempts SET status = $2 WHERE id = $1", attempt_id, status)
    await pool.execute("UPDATE payments SET status = 'succeeded', amount_received = 10000 WHERE id = $1", payment_id)
    refund_id = await new_refund(pool, merchant_id, payment_id, attempt_id)
    for status in ("unknown", "pending", "succeeded"):
        await pool.execute("UPDATE refunds SET status = $2 WHERE id = $1", refund_id, status)
    row = await pool.fetchrow("SELECT status, amount_received FROM payments WHERE id = $1", payment_id)
    assert (row["status"], row["amount_received"]) == ("succeeded", 10_000)


async def test_unknown_status_values_are_refused(pool):
    merchant_id = await new_merchant(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await new_payment(pool, merchant_id, status="failed")
    payment_id = await new_payment(pool, merchant_id)
    with pytest.raises(asyncpg.CheckViolationError):
        await new_attempt(pool, merchant_id, payment_id, "succeeded")


# --- the Python tables are the SQL tables ----------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "table"),
    [("payment", PAYMENT_TRANSITIONS), ("attempt", ATTEMPT_TRANSITIONS), ("refund", REFUND_TRANSITIONS)],
)
async def test_python_transition_table_equals_status_transitions_rows(pool, entity, table):
    rows = await pool.fetch("SELECT from_status, to_status FROM status_transitions WHERE entity = $1", entity)
    in_sql = {(r["from_status"], r["to_status"]) for r in rows}
    in_python = {(str(src), str(dst)) for src, targets in table.items() for dst in targets}
    assert in_sql == in_python
    assert in_python, entity


@pytest.mark.parametrize(
    ("entity", "table", "sql_table"),
    [
        ("payment", PAYMENT_TRANSITIONS, "payments"),
        ("attempt", ATTEMPT_TRANSITIONS, "payment_attempts"),
        ("refund", REFUND_TRANSITIONS, "refunds"),
    ],
)
async def test_every_status_in_python_is_allowed_by_the_column_check(pool, entity, table, sql_table):
    definition = await pool.fetchval(
        """SELECT string_agg(pg_get_constraintdef(c.oid), ' ')
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE t.relname = $1 AND c.contype = 'c'""",
        sql_table,
    )
    for status in table:
        assert f"'{status}'" in definition, (entity, status)
