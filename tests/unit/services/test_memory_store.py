"""The in-memory store keeps the real store's shape and the guarantees services rely on."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest

from engine.errors import Conflict
from engine.model import Attempt, Payment
from engine.store.idempotency import IdempotencyKeys
from engine.store.merchants import Customers, GatewayAccounts, Merchants, WebhookReceipts
from engine.store.payments import Attempts, Events, Payments
from engine.store.phases import Phases, StaleWrite
from engine.store.refunds import Refunds
from engine.store.uow import Database, UnitOfWork
from engine.store.work import Work
from tests.support.memory_store import ConcurrentWrite, MemoryDatabase


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


REAL = {
    "accounts": GatewayAccounts, "attempts": Attempts, "customers": Customers, "events": Events,
    "idempotency": IdempotencyKeys, "merchants": Merchants, "payments": Payments, "phases": Phases,
    "refunds": Refunds, "webhooks": WebhookReceipts, "work": Work,
}  # fmt: skip


def test_every_repository_and_method_exists_with_the_real_signature():
    db = MemoryDatabase()
    assert set(REAL) == set(UnitOfWork.__slots__)
    for name, real in REAL.items():
        for method, fn in inspect.getmembers(real, inspect.iscoroutinefunction):
            if method.startswith("_"):
                continue
            mine = getattr(getattr(db, name), method)
            assert not getattr(mine, "unsupported", False), f"{name}.{method} is not implemented"
            assert _params(mine) == _params(fn)[1:], f"{name}.{method}"
    for method in ("transaction", "ping", "close"):
        assert _params(getattr(db, method)) == _params(getattr(Database, method))[1:]


def _payment(**kw) -> Payment:
    now = datetime.now(UTC)
    fields = {"id": "pay_1", "merchant_id": "mer_1", "amount": 100, "currency": "INR",
              "status": "requires_payment_method", "capture_method": "automatic", "created_at": now,
              "updated_at": now} | kw  # fmt: skip
    return Payment(**fields)


async def test_a_transaction_that_raises_writes_nothing():
    db = MemoryDatabase()
    with pytest.raises(RuntimeError):
        async with db.transaction() as uow:
            await uow.payments.insert(_payment(), {})
            assert await uow.payments.get("pay_1", "mer_1") is not None
            assert await db.payments.get("pay_1", "mer_1") is None  # not visible outside yet
            raise RuntimeError("boom")
    assert await db.payments.get("pay_1", "mer_1") is None
    assert db.tables.events == {}
    async with db.transaction() as uow:
        await uow.payments.insert(_payment(), {})
    assert (await db.payments.get("pay_1", "mer_1")).version == 1
    assert [e["type"] for e in await db.events.of_object("mer_1", "pay_1")] == ["payment.created"]


async def test_merchant_order_id_is_unique_per_merchant():
    db = MemoryDatabase()
    await db.payments.insert(_payment(merchant_order_id="o-1"), {})
    with pytest.raises(Conflict):
        await db.payments.insert(_payment(id="pay_2", merchant_order_id="o-1"), {})
    await db.payments.insert(_payment(id="pay_3", merchant_id="mer_2", merchant_order_id="o-1"), {})


async def test_status_moves_follow_the_transition_table_and_versions_guard_updates():
    db = MemoryDatabase()
    await db.payments.insert(_payment(), {})
    p = await db.payments.get("pay_1", "mer_1")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.payments.update(msgspec.structs.replace(p, status="succeeded", amount_received=100))
    moved = await db.payments.update(msgspec.structs.replace(p, status="canceled"))
    assert moved.version == 2
    with pytest.raises(RuntimeError):  # a lost update: written from version 1
        await db.payments.update(p)


async def test_write_settlement_is_guarded_by_the_versions_read():
    db = MemoryDatabase()
    await db.payments.insert(_payment(), {})
    p = await db.payments.get("pay_1", "mer_1")
    now = datetime.now(UTC)
    after = msgspec.structs.replace(p, status="processing", updated_at=now)
    attempt = Attempt(id="att_1", payment_id="pay_1", merchant_id="mer_1", gateway="razorpay",
                      gateway_account_id=None, status="pending", amount=100, method_type="card",
                      created_at=now, updated_at=now)  # fmt: skip
    assert await db.phases.start_attempt(p, after, attempt, ["requires_payment_method"], {}, None) == "started"
    assert await db.phases.start_attempt(p, after, attempt, ["requires_payment_method"], {}, None) == "stale"
    p2, a2 = await db.phases.read_for_settle("att_1", "mer_1")
    done = msgspec.structs.replace(a2, status="captured", amount_captured=100)
    paid = msgspec.structs.replace(p2, status="succeeded", amount_received=100)
    with pytest.raises(StaleWrite):  # the payment was read at version 1, it is at 2
        await db.phases.write_settlement(p, a2, paid, done, [], now)
    assert (await db.attempts.get("att_1", "mer_1")).status == "pending"
    await db.phases.write_settlement(p2, a2, paid, done, [], now, close_captures=True)
    with pytest.raises(StaleWrite):  # the attempt moved on since a2 was read
        await db.phases.write_settlement(p2, a2, None, done, [], now)
    assert isinstance(StaleWrite("x"), asyncpg.SerializationError)


async def test_a_transaction_over_rows_changed_meanwhile_is_refused_not_merged():
    db = MemoryDatabase()
    await db.payments.insert(_payment(), {})
    p = await db.payments.get("pay_1", "mer_1")
    with pytest.raises(ConcurrentWrite):
        async with db.transaction() as uow:
            await uow.payments.update(msgspec.structs.replace(p, description="mine"))
            await db.payments.update(msgspec.structs.replace(p, status="canceled"))
    assert (await db.payments.get("pay_1", "mer_1")).status == "canceled"


async def test_work_leases_and_claims_only_due_unleased_rows():
    db = MemoryDatabase()
    leased = await db.work.add_capture("mer_1", "pay_1", "att_1", 100, 60)
    assert leased is not None and leased.tries == 1
    assert await db.work.add_capture("mer_1", "pay_1", "att_1", 100, 60) is None  # one open per attempt
    assert await db.work.claim_due(10, 60) == []
    assert await db.work.lease_for_payment("mer_1", "pay_1", 60) is None  # a live holder has it
    db.clock.advance(61)
    [claimed] = await db.work.claim_due(10, 60)
    assert claimed.tries == 2
    later = await db.work.retry_later(claimed, [5, 15], "pending")
    assert later.held_until is None and later.run_at is not None
    assert await db.work.claim_due(10, 60) == []  # not due yet
    db.clock.advance(16)
    assert [w.id for w in await db.work.claim_due(10, 60)] == [claimed.id]


async def test_refund_reservations_never_exceed_what_was_captured():
    db = MemoryDatabase()
    await db.payments.insert(_payment(), {})
    stored = db.tables.payments["pay_1"]
    db.tables.payments["pay_1"] = msgspec.structs.replace(stored, status="succeeded", amount_received=100)
    assert (await db.refunds.reserve("pay_1", "mer_1", 60)).amount_refunded == 60
    assert await db.refunds.reserve("pay_1", "mer_1", 41) is None
    await db.refunds.release("pay_1", "mer_1", 60)
    assert (await db.refunds.reserve("pay_1", "mer_1", 100)).amount_refunded == 100


async def test_an_unscripted_gateway_call_is_recorded_and_never_looks_sent(engine):
    from engine.errors import ConnectorBug
    from engine.gateways.base import AttemptRef
    from engine.services.charging import call_connector
    from tests.support.fake_engine import fake

    connector = fake(engine, "razorpay")
    with pytest.raises(ConnectorBug):  # raised before "sending": the engine sees a bug, not an unknown
        await call_connector(connector.sync, AttemptRef("att_1"))
    assert [c.operation for c in connector.unexpected] == ["sync"]
    connector.unexpected.clear()  # (the fixture fails any test that leaves one)
    connector.will("sync", ConnectionResetError())  # raised after sending: an unknown outcome
    result = await call_connector(connector.sync, AttemptRef("att_1"))
    assert result.outcome == "unknown" and connector.count("sync") == 2 and connector.pending() == {}


def test_the_fake_connector_speaks_the_whole_connector_contract():
    from engine.gateways.base import CustomerConnector
    from tests.support.fake_connector import FakeConnector

    for name, fn in inspect.getmembers(CustomerConnector, inspect.isfunction):
        if not name.startswith("_"):
            mine = getattr(FakeConnector, name)
            assert [p.name for p in inspect.signature(mine).parameters.values()] == [
                p.name for p in inspect.signature(fn).parameters.values()
            ], name
            assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(fn), name
