"""engine/services/merchants.py: create (key shown once, stored hashed), authenticate (cached)."""

from __future__ import annotations

import pytest

from engine.errors import AuthenticationFailed, ValidationError
from engine.services.merchants import SANDBOX_ACCOUNTS, authenticate, create_merchant, hash_key
from tests.support.fake_engine import make_engine, memory


async def test_create_returns_the_merchant_and_a_key_stored_only_hashed(engine):
    merchant, api_key, publishable = await create_merchant(engine, "  Apollo Pharmacy  ")
    assert (merchant["object"], merchant["name"], merchant["sandbox"]) == ("merchant", "Apollo Pharmacy", False)
    assert merchant["created_at"].endswith("Z") and api_key.startswith("sk_test_")
    assert publishable.startswith("pk_test_")
    keys = memory(engine).tables.api_keys
    assert set(keys) == {hash_key(api_key), hash_key(publishable)}
    assert keys[hash_key(api_key)]["prefix"] == api_key[:12] and keys[hash_key(api_key)]["kind"] == "secret"
    assert keys[hash_key(publishable)]["kind"] == "publishable"
    assert api_key.encode() not in repr(memory(engine).tables.__dict__).encode()
    assert publishable.encode() not in repr(memory(engine).tables.__dict__).encode()
    assert await engine.gateways.accounts(merchant["id"]) == []


async def test_a_sandbox_merchant_gets_the_sandbox_accounts_sealed():
    engine = make_engine(sandbox=True, sandbox_url="http://sandbox.test")
    merchant, *_ = await create_merchant(engine, "Sandbox Pharmacy")
    accounts = await engine.gateways.accounts(merchant["id"])
    assert [a.gateway for a in accounts] == list(SANDBOX_ACCOUNTS)
    assert accounts[0].credentials["base_url"] == "http://sandbox.test/razorpay"
    sealed = [a for a, _ in memory(engine).tables.accounts.values()]
    assert all(b"sandbox_secret" not in a.credentials for a in sealed)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
async def test_a_bad_name_creates_nothing(engine, name):
    with pytest.raises(ValidationError):
        await create_merchant(engine, name)
    assert memory(engine).tables.merchants == {}


async def test_authenticate_finds_the_merchant_and_caches_it(engine):
    merchant, api_key, _ = await create_merchant(engine, "Pharmacy")
    assert await authenticate(engine, api_key) == merchant["id"]
    memory(engine).tables.api_keys.clear()  # from now on only the caches know the key
    assert await authenticate(engine, api_key) == merchant["id"]  # in process
    engine.api_key_memo.clear()
    assert await authenticate(engine, api_key) == merchant["id"]  # Redis
    assert engine.cache.client.commands == ["GET", "SET", "GET"]  # the memo answered the second time


@pytest.mark.parametrize("key", ["", "sk_live_abc", "sk_test_" + "x" * 300, "sk_test_wrong"])
async def test_a_wrong_key_is_refused(engine, key):
    await create_merchant(engine, "Pharmacy")
    with pytest.raises(AuthenticationFailed):
        await authenticate(engine, key)
