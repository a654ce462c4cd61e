"""engine/services/housekeeping.py: expired idempotency keys are purged (after an hour's grace)."""

from __future__ import annotations

from engine.services import idempotency
from engine.services.housekeeping import purge_expired_keys
from tests.support.fake_engine import add_merchant, memory
from tests.unit.services.helpers import a_claim


async def test_only_keys_past_expiry_plus_grace_are_purged(engine):
    merchant = await add_merchant(engine, "razorpay")
    await idempotency.claim(engine, a_claim(engine, merchant, "old"))
    memory(engine).clock.advance(engine.settings.idempotency_ttl_hours * 3600 + 1800)
    await idempotency.claim(engine, a_claim(engine, merchant, "new"))
    assert await purge_expired_keys(engine) == 0  # expired, but within the hour of grace
    memory(engine).clock.advance(1801)
    assert await purge_expired_keys(engine) == 1
    assert list(memory(engine).tables.keys) == [(merchant, "new")]
