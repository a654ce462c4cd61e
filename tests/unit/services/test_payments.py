"""engine/services/payments.py: create (with and without a key), read, list."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from engine.commands import CreatePayment
from engine.errors import Conflict, IdempotencyError, NotFound, ValidationError
from engine.model import Payment
from engine.services import idempotency
from engine.services.payments import create_for_confirm, create_payment, get_payment, list_payments, new_payment
from engine.views import PaymentObject
from tests.support.fake_engine import add_merchant, memory
from tests.unit.services.helpers import a_claim, a_payment, claimed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


def test_new_payment_validates_and_normalises():
    p = new_payment("mer_x", CreatePayment(amount=100, currency="inr"))
    assert (p.currency, p.status, p.amount_received) == ("INR", "requires_payment_method", 0)
    with pytest.raises(ValidationError):
        new_payment("mer_x", CreatePayment(amount=0, currency="INR"))


async def test_create_stores_the_payment_and_its_event(engine, merchant):
    stored = await a_payment(engine, merchant, 1234, merchant_order_id="o-1")
    assert await get_payment(engine, merchant, stored.id) == stored
    [event] = await engine.db.events.of_object(merchant, stored.id)
    assert event["type"] == "payment.created" and event["data"]["amount"] == 1234


async def test_a_reused_merchant_order_id_is_a_conflict_and_stores_nothing(engine, merchant):
    await a_payment(engine, merchant, merchant_order_id="o-1")
    with pytest.raises(Conflict):
        await a_payment(engine, merchant, merchant_order_id="o-1")
    assert len(memory(engine).tables.payments) == 1


async def test_an_unknown_customer_is_not_found(engine, merchant):
    with pytest.raises(NotFound):
        await a_payment(engine, merchant, customer_id="cus_nope")


async def test_create_with_a_key_stores_the_response_in_the_same_statement(engine, merchant):
    claim = a_claim(engine, merchant, "k1", created=True)
    p = new_payment(merchant, CreatePayment(amount=500, currency="INR"))
    assert await create_payment(engine, p, claim) == await get_payment(engine, merchant, p.id)
    row = await engine.db.idempotency.get(merchant, "k1")
    assert row.state == "done" and row.response_status == 201
    assert msgspec.json.decode(row.response_body, type=PaymentObject).id == p.id


async def test_the_same_key_and_body_replays_the_first_payment_and_creates_nothing(engine, merchant):
    first = new_payment(merchant, CreatePayment(amount=500, currency="INR"))
    await create_payment(engine, first, a_claim(engine, merchant, "k1", created=True))
    again = new_payment(merchant, CreatePayment(amount=500, currency="INR"))
    replay = await create_payment(engine, again, a_claim(engine, merchant, "k1", created=True))
    assert isinstance(replay, idempotency.Replay) and replay.status == 201
    assert msgspec.json.decode(replay.body)["id"] == first.id
    assert list(memory(engine).tables.payments) == [first.id]


async def test_the_same_key_with_another_body_is_422_and_creates_nothing(engine, merchant):
    await create_payment(engine, new_payment(merchant, CreatePayment(amount=500, currency="INR")),
                         a_claim(engine, merchant, "k1", body=b'{"amount":500}', created=True))  # fmt: skip
    with pytest.raises(IdempotencyError) as caught:
        await create_payment(engine, new_payment(merchant, CreatePayment(amount=600, currency="INR")),
                             a_claim(engine, merchant, "k1", body=b'{"amount":600}', created=True))  # fmt: skip
    assert caught.value.status == 422
    assert len(memory(engine).tables.payments) == 1


async def test_create_for_confirm_names_the_payment_as_the_keys_recovery_point(engine, merchant):
    claim = await claimed(engine, merchant, "k2")
    p = new_payment(merchant, CreatePayment(amount=700, currency="INR"))
    assert await create_for_confirm(engine, p, claim) == p.id
    row = await engine.db.idempotency.get(merchant, "k2")
    assert (row.state, row.recovery_point, row.object_id) == ("in_flight", "payment_created", p.id)


async def test_get_is_scoped_by_merchant_and_rejects_implausible_ids(engine, merchant):
    other = await add_merchant(engine, "razorpay")
    p = await a_payment(engine, merchant)
    with pytest.raises(NotFound):
        await get_payment(engine, other, p.id)
    with pytest.raises(NotFound):
        await get_payment(engine, merchant, "pay_' OR 1=1 --")


async def test_list_pages_newest_first_with_a_cursor_and_a_status_filter(engine, merchant):
    made = []
    for i in range(5):  # distinct creation times: equal ones would order by the random ids
        p = new_payment(merchant, CreatePayment(amount=100 + i, currency="INR"))
        p = msgspec.structs.replace(p, created_at=p.created_at + timedelta(seconds=i))
        made.append(await create_payment(engine, p, None))
    page = await list_payments(engine, merchant, limit=2, starting_after=None, status=None)
    assert [p.id for p in page.data] == [made[4].id, made[3].id] and page.has_more
    rest = await list_payments(engine, merchant, limit=10, starting_after=made[3].id, status=None)
    assert [p.id for p in rest.data] == [m.id for m in reversed(made[:3])] and not rest.has_more
    none = await list_payments(engine, merchant, limit=10, starting_after=None, status="succeeded")
    assert none.data == []
    with pytest.raises(ValidationError):
        await list_payments(engine, merchant, limit=101, starting_after=None, status=None)
    with pytest.raises(ValidationError):
        await list_payments(engine, merchant, limit=1, starting_after=None, status="bogus")
    with pytest.raises(NotFound):
        await list_payments(engine, merchant, limit=1, starting_after="pay_missing", status=None)


async def test_get_returns_a_copy_callers_cannot_change_the_store_through(engine, merchant):
    p = await a_payment(engine, merchant)
    got = await get_payment(engine, merchant, p.id)
    got.status = "succeeded"
    assert (await get_payment(engine, merchant, p.id)).status == "requires_payment_method"
    assert isinstance(got, Payment)
