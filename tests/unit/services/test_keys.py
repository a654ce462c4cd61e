"""engine/services/keys.py: re-seal gateway credentials with the current master key."""

from __future__ import annotations

import os

import pytest

from engine.crypto import Sealer
from engine.services.directory import GatewayDirectory
from engine.services.keys import rotate_keys
from tests.support.memory_store import MemoryDatabase


async def _accounts(db, sealer, n, merchant="mer_1"):
    directory = GatewayDirectory(db=db, sealer=sealer, http=None)
    gateways = ["razorpay", "paytm", "payu", "juspay"]
    async with db.transaction() as uow:
        return [await directory.add_account(uow, merchant, gateways[i], {"secret": f"s{i}"}, i) for i in range(n)]


async def test_rotation_reseals_every_old_account_and_is_safe_to_repeat():
    old, new = os.urandom(32), os.urandom(32)
    db = MemoryDatabase()
    ids = await _accounts(db, Sealer(old), 3)
    rotated = Sealer(new, (old,))
    result = await rotate_keys(db, rotated, batch_size=2)
    assert (result.resealed, result.current, result.unreadable) == (3, 0, {})
    accounts = await GatewayDirectory(db=db, sealer=Sealer(new), http=None).accounts("mer_1")
    assert [a.id for a in accounts] == ids and accounts[2].credentials == {"secret": "s2"}
    again = await rotate_keys(db, rotated)
    assert (again.resealed, again.current) == (0, 3)


async def test_rows_no_configured_key_opens_are_reported_and_left_alone():
    stranger, new = os.urandom(32), os.urandom(32)
    db = MemoryDatabase()
    await _accounts(db, Sealer(stranger), 2)
    result = await rotate_keys(db, Sealer(new))
    assert result.resealed == 0 and sum(result.unreadable.values()) == 2
    assert "unreadable" in result.summary()
    with pytest.raises(ValueError):
        await rotate_keys(db, Sealer(new), batch_size=0)
