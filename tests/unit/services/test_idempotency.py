"""engine/services/idempotency.py: claim, replay, 422, 409, takeover, release, checkpoints."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from api.render import OK
from engine.errors import IdempotencyError, ValidationError
from engine.services import idempotency
from engine.services.idempotency import Claim, RecoveryPoint, Replay, check_key, fingerprint
from tests.support.fake_engine import add_merchant, memory
from tests.unit.services.helpers import a_claim, a_payment


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, "razorpay")


def test_keys_are_1_to_255_printable_ascii():
    assert check_key("order-1001") == "order-1001"
    for bad in ("", "x" * 256, "ключ", "a\nb"):
        with pytest.raises(ValidationError):
            check_key(bad)


def test_the_fingerprint_is_keyed_and_covers_method_path_and_body():
    secret = b"s" * 32
    base = fingerprint(secret, "POST", "/v1/payments", b"{}")
    assert base != fingerprint(b"t" * 32, "POST", "/v1/payments", b"{}")
    assert base != fingerprint(secret, "POST", "/v1/refunds", b"{}")
    assert base != fingerprint(secret, "POST", "/v1/payments", b'{"a":1}')
    assert b"4111" not in base


async def test_a_fresh_key_is_claimed_in_flight(engine, merchant):
    claim = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    assert isinstance(claim, Claim) and claim.recovery_point is RecoveryPoint.STARTED
    row = await engine.db.idempotency.get(merchant, "k")
    assert (row.state, row.recovery_point) == ("in_flight", "started")


async def test_the_same_request_while_the_first_runs_is_409(engine, merchant):
    await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    with pytest.raises(IdempotencyError) as busy:
        await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    assert (busy.value.status, busy.value.code) == (409, "idempotency_key_in_use")


async def test_a_completed_key_replays_its_stored_bytes(engine, merchant):
    claim = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    payment = await a_payment(engine, merchant)
    await idempotency.remember(engine.db, claim, payment)
    replay = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    assert replay == Replay(*OK(payment))
    assert msgspec.json.decode(replay.body)["id"] == payment.id


@pytest.mark.parametrize("change", [{"body": b'{"amount":2}'}, {"path": "/v1/refunds"}])
async def test_the_same_key_for_another_request_is_422(engine, merchant, change):
    await idempotency.claim(engine, a_claim(engine, merchant, "k", body=b'{"amount":1}'))
    with pytest.raises(IdempotencyError) as reused:
        await idempotency.claim(engine, a_claim(engine, merchant, "k", **{"body": b'{"amount":1}', **change}))
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")


async def test_keys_are_scoped_by_merchant(engine, merchant):
    other = await add_merchant(engine, "razorpay")
    await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    assert isinstance(await idempotency.claim(engine, a_claim(engine, other, "k", body=b"other")), Claim)


async def test_a_key_held_past_the_lock_timeout_is_taken_over_once_at_its_recovery_point(engine, merchant):
    first = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    async with engine.db.transaction() as uow:
        await idempotency.checkpoint(uow, first, RecoveryPoint.CHARGE_STARTED, "pay_123")
    memory(engine).clock.advance(engine.settings.idempotency_lock_timeout - 1)
    with pytest.raises(IdempotencyError):  # the checkpoint renewed the lock: still alive
        await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    memory(engine).clock.advance(2)
    results = await asyncio.gather(
        *(idempotency.claim(engine, a_claim(engine, merchant, "k")) for _ in range(3)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Claim)]
    assert len(winners) == 1 and winners[0].resumes(RecoveryPoint.CHARGE_STARTED) == "pay_123"
    assert all(isinstance(r, IdempotencyError) and r.status == 409 for r in results if r is not winners[0])


async def test_an_unlocked_key_is_resumable_at_once(engine, merchant):
    first = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    await idempotency.unlock(engine, first)
    assert isinstance(await idempotency.claim(engine, a_claim(engine, merchant, "k")), Claim)


async def test_release_forgets_only_a_key_that_did_nothing(engine, merchant):
    first = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    assert await idempotency.release(engine, first)
    again = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    async with engine.db.transaction() as uow:
        await idempotency.checkpoint(uow, again, RecoveryPoint.REFUND_CREATED, "re_1")
    assert not await idempotency.release(engine, again)  # resumable: kept
    assert (await engine.db.idempotency.get(merchant, "k")).object_id == "re_1"


async def test_a_checkpoint_in_a_rolled_back_phase_is_not_recorded(engine, merchant):
    claim = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    with pytest.raises(RuntimeError):
        async with engine.db.transaction() as uow:
            await idempotency.checkpoint(uow, claim, RecoveryPoint.REFUND_CREATED, "re_1")
            raise RuntimeError("the phase failed")
    assert (await engine.db.idempotency.get(merchant, "k")).recovery_point == "started"


async def test_an_expired_key_is_claimed_afresh(engine, merchant):
    first = await idempotency.claim(engine, a_claim(engine, merchant, "k"))
    await idempotency.remember(engine.db, first, await a_payment(engine, merchant))
    memory(engine).clock.advance(engine.settings.idempotency_ttl_hours * 3600 + 1)
    fresh = await idempotency.claim(engine, a_claim(engine, merchant, "k", body=b"another body"))
    assert isinstance(fresh, Claim)
    assert (await engine.db.idempotency.get(merchant, "k")).state == "in_flight"


async def test_a_key_stored_under_an_older_fingerprint_key_is_the_same_request(engine, merchant):
    old_secret = b"o" * 32
    stored = a_claim(engine, merchant, "k")
    old = msgspec.structs.replace(stored, fingerprint=fingerprint(old_secret, "POST", "/v1/payments", b"{}"))
    await idempotency.claim(engine, old)
    await idempotency.remember(engine.db, old, await a_payment(engine, merchant))
    rotated = msgspec.structs.replace(stored, also_known_as=(old.fingerprint,))
    assert isinstance(await idempotency.claim(engine, rotated), Replay)
    with pytest.raises(IdempotencyError):
        await idempotency.claim(engine, stored)  # without the older key it is not recognised


async def test_without_a_key_nothing_is_stored(engine, merchant):
    await idempotency.remember(engine.db, None, await a_payment(engine, merchant))
    assert idempotency.rendered(None, await a_payment(engine, merchant)) is None
    assert memory(engine).tables.keys == {}
