"""engine/services/customers.py: registration with gateways that keep customers is work rows."""

from __future__ import annotations

import msgspec
import pytest

from engine.commands import CreateCustomer
from engine.errors import NotFound
from engine.services.customers import create_customer, get_customer
from engine.services.reconciler import run_work_once
from tests.support.fake_engine import add_merchant, fake, memory
from tests.unit.services.helpers import claimed


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay", "juspay")


async def test_a_customer_is_registered_with_the_gateways_that_keep_customers(engine, merchant):
    fake(engine, "juspay").will("create_customer", "cst_juspay_1")
    claim = await claimed(engine, merchant, "cu1", path="/v1/customers")
    customer = await create_customer(engine, merchant, CreateCustomer(email="a@b.in", phone="9999999999"), claim)
    [call] = fake(engine, "juspay").sent("create_customer")
    assert call.args == (customer.id, "a@b.in", "9999999999", None)
    assert fake(engine, "razorpay").calls == []  # razorpay keeps no customers
    stored = await engine.db.customers.get(customer.id, merchant)
    assert stored.gateway_refs == {"juspay": "cst_juspay_1"}
    [work] = memory(engine).tables.work.values()
    assert (work.kind, work.state, work.customer_id) == ("register_customer", "done", customer.id)
    row = await engine.db.idempotency.get(merchant, "cu1")
    assert msgspec.json.decode(row.response_body)["id"] == customer.id


@pytest.mark.parametrize("answer", [None, ConnectionError("down")])
async def test_a_failed_registration_is_retried_later_and_the_customer_still_exists(engine, merchant, answer):
    fake(engine, "juspay").will("create_customer", answer)
    customer = await create_customer(engine, merchant, CreateCustomer(name="Asha"), None)
    assert (await get_customer(engine, merchant, customer.id)).gateway_refs == {}
    [work] = memory(engine).tables.work.values()
    assert (work.state, work.last_error, work.held_until) == ("pending", "not_registered", None)
    assert await run_work_once(engine) == 0  # not due yet
    memory(engine).clock.advance(6)
    fake(engine, "juspay").will("create_customer", "cst_2")
    assert await run_work_once(engine) == 1
    assert (await get_customer(engine, merchant, customer.id)).gateway_refs == {"juspay": "cst_2"}
    assert memory(engine).tables.work[work.id].state == "done"
    assert fake(engine, "juspay").count("create_customer") == 2


async def test_reading_a_customer_never_writes_or_calls_a_gateway(engine, merchant):
    fake(engine, "juspay").will("create_customer", None)
    customer = await create_customer(engine, merchant, CreateCustomer(name="Ravi"), None)
    before = {name: dict(getattr(memory(engine).tables, name)) for name in ("customers", "work", "events")}
    calls = len(fake(engine, "juspay").calls)
    assert (await get_customer(engine, merchant, customer.id)).name == "Ravi"
    after = {name: dict(getattr(memory(engine).tables, name)) for name in ("customers", "work", "events")}
    assert after == before and len(fake(engine, "juspay").calls) == calls
    other = await add_merchant(engine, "razorpay")
    with pytest.raises(NotFound):
        await get_customer(engine, other, customer.id)


async def test_without_such_gateways_no_work_is_written(engine):
    merchant = await add_merchant(engine, "razorpay")
    await create_customer(engine, merchant, CreateCustomer(), None)
    assert memory(engine).tables.work == {}
