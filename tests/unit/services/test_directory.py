"""engine/services/directory.py: accounts sealed at rest, opened in memory, cached briefly."""

from __future__ import annotations

import os

import pytest

from engine.crypto import Sealer
from engine.errors import InvalidRequest
from engine.services.directory import GatewayDirectory
from tests.support.memory_store import MemoryDatabase

CREDS = {"key_id": "rzp_test_x", "key_secret": "secret-x", "webhook_secret": "wh-x", "base_url": "http://gw.test"}


@pytest.fixture
def directory():
    return GatewayDirectory(db=MemoryDatabase(), sealer=Sealer(os.urandom(32)), http=None)


async def test_credentials_are_sealed_at_rest_and_opened_in_memory(directory):
    db = directory._db
    async with db.transaction() as uow:
        account_id = await directory.add_account(uow, "mer_1", "razorpay", CREDS, 0)
    [(sealed, _)] = db.tables.accounts.values()
    assert b"secret-x" not in sealed.credentials
    [account] = await directory.accounts("mer_1")
    assert (account.id, account.credentials) == (account_id, CREDS)
    assert "secret-x" not in repr(account)
    assert await directory.account("mer_1", account_id, "razorpay") == account
    with pytest.raises(InvalidRequest):
        await directory.account("mer_1", "gwa_gone", "razorpay")
    with pytest.raises(InvalidRequest):
        async with db.transaction() as uow:
            await directory.add_account(uow, "mer_1", "stripe", {}, 1)


async def test_accounts_are_cached_until_forgotten(directory):
    db = directory._db
    async with db.transaction() as uow:
        await directory.add_account(uow, "mer_1", "razorpay", CREDS, 0)
    assert len(await directory.accounts("mer_1")) == 1
    await db.accounts.set_route("mer_1", "razorpay", 5, False)
    assert (await directory.accounts("mer_1"))[0].enabled  # cached
    assert not (await directory.accounts("mer_1", fresh=True))[0].enabled
    directory.forget("mer_1")
    assert not (await directory.accounts("mer_1"))[0].enabled


async def test_one_connector_per_account(directory):
    async with directory._db.transaction() as uow:
        await directory.add_account(uow, "mer_1", "razorpay", CREDS, 0)
    [account] = await directory.accounts("mer_1")
    connector = directory.connector(account)
    assert connector.name == "razorpay" and directory.connector(account) is connector
