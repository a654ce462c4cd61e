"""Key rotation re-seals webhook endpoint secrets too (current and previous), so a retired
master key can go without breaking signing; rows no configured key opens are reported and left
alone."""

from __future__ import annotations

import os
import secrets

import pytest

from engine.crypto import Sealer
from engine.ids import new_id
from engine.services.webhook_endpoints import open_secret, reseal_secrets
from engine.store.db import create_pool
from engine.store.uow import Database
from tests.support.stack import Services, fresh_database

pytestmark = pytest.mark.integration


def _ctx(endpoint_id: str) -> bytes:
    return b"webhook_endpoint:" + endpoint_id.encode()


class _Opener:
    """Just enough of an Engine for ``open_secret``."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer


async def test_rotation_reseals_endpoint_secrets(svc: Services) -> None:
    old_master, new_master, lost_master = os.urandom(32), os.urandom(32), os.urandom(32)
    old, lost = Sealer(old_master), Sealer(lost_master)
    rotating, after = Sealer(new_master, (old_master,)), Sealer(new_master)
    async with fresh_database(svc, "engine_hookkeys") as own:
        pool = await create_pool(own.database_url, min_size=1, max_size=2)
        try:
            db = Database(pool)
            merchant = "mer_" + secrets.token_hex(8)
            await pool.execute("INSERT INTO merchants (id, name) VALUES ($1, 'Keys')", merchant)
            ids = [new_id("we") for _ in range(3)]
            for eid in ids:
                await db.endpoints.insert(
                    eid, merchant, "https://x.example/", None, ["*"], old.seal(f"whsec_{eid}", _ctx(eid)), old.key_id
                )
            first = ids[0]
            await db.endpoints.rotate(
                first,
                merchant,
                old.seal("whsec_next", _ctx(first)),
                old.key_id,
                old.seal(f"whsec_{first}", _ctx(first)),
                3600,
            )
            stray = new_id("we")
            await db.endpoints.insert(
                stray, merchant, "https://x.example/", None, ["*"], lost.seal("whsec_lost", _ctx(stray)), lost.key_id
            )

            resealed, unreadable = await reseal_secrets(db, rotating, batch_size=2)
            assert resealed == 3 and dict(unreadable) == {lost.key_id: 1}
            # Readable with the new master alone: the old one can be retired.
            for eid in ids:
                endpoint = await db.endpoints.get(eid, merchant)
                assert endpoint is not None and endpoint.secret_key_id == after.key_id
                expected = "whsec_next" if eid == first else f"whsec_{eid}"
                assert open_secret(_Opener(after), eid, endpoint.secret_sealed, endpoint.secret_key_id) == expected
            rotated = await db.endpoints.get(first, merchant)
            assert rotated is not None and rotated.previous_sealed is not None
            assert rotated.previous_key_id == after.key_id
            assert open_secret(_Opener(after), first, rotated.previous_sealed, after.key_id) == f"whsec_{first}"
            # A second run has nothing left but the unreadable row.
            again, still = await reseal_secrets(db, rotating, batch_size=2)
            assert again == 0 and dict(still) == {lost.key_id: 1}
        finally:
            await pool.close()
