"""Expired idempotency keys are purged; live ones stay."""

from __future__ import annotations

from engine.services.housekeeping import purge_expired_keys


async def test_purge_removes_only_expired_keys(stack):
    merchant_id, _ = await stack.new_merchant()
    pool = stack.engine.pool
    insert = """INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at)
                VALUES ($1, $2, 'POST', '/v1/payments', '\\x00', 'in_flight', now() + $3 * interval '1 hour')"""
    await pool.execute(insert, merchant_id, "old", -2)
    await pool.execute(insert, merchant_id, "fresh", 20)
    assert await purge_expired_keys(stack.engine) >= 1
    keys = {r["key"] for r in await pool.fetch("SELECT key FROM idempotency_keys WHERE merchant_id = $1", merchant_id)}
    assert keys == {"fresh"}
