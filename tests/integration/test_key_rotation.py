"""Key rotation against the real database: old rows keep opening, rotate-keys re-seals them once.

Each test gets a database of its own on the session's server (``svc``): rotation walks every
gateway account, and other suites' engines seal theirs with keys these tests do not hold.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.bootstrap import Engine
from engine.bootstrap import rotate_keys as rotate_all
from engine.commands import CreatePayment
from engine.config import VARIABLES, Settings
from engine.crypto import Sealer, derive_keys
from engine.errors import IdempotencyError
from engine.services import client_secrets, idempotency
from engine.services.keys import rotate_keys
from engine.services.merchants import SANDBOX_ACCOUNTS, checkout_identity, create_merchant
from engine.services.payments import create_payment, new_payment
from tests.support.servers import free_port
from tests.support.stack import ROOT, Services, engine_settings, fresh_database

pytestmark = pytest.mark.integration
SANDBOX_URL = "http://127.0.0.1:9"  # never called: these tests only store and open credentials
ACCOUNTS = len(SANDBOX_ACCOUNTS)


def STORED(_result: object) -> tuple[int, bytes]:
    """Renders whatever the request ended with as the one stored response these tests expect."""
    return 201, b'{"id":"pay_x"}'


def _b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


@pytest_asyncio.fixture
async def db(svc: Services) -> AsyncIterator[Services]:
    """A fresh migrated database on the session's PostgreSQL, dropped afterwards."""
    async with fresh_database(svc, "engine_keys") as fresh:
        yield fresh


def _settings(db: Services, key: bytes, older: tuple[bytes, ...] = ()) -> Settings:
    return engine_settings(db, port=free_port(), sandbox_url=SANDBOX_URL, encryption_key=key, encryption_keys=older)


async def _merchants(settings: Settings, count: int) -> dict[str, dict[str, dict[str, str]]]:
    """Create merchants (with sandbox accounts); their credentials by merchant and account id."""
    engine = await Engine.start(settings)
    try:
        ids = [(await create_merchant(engine, f"Keys {i}"))[0]["id"] for i in range(count)]
        return {m: await _credentials(engine, m) for m in ids}
    finally:
        await engine.close()


async def _credentials(engine: Engine, merchant_id: str) -> dict[str, dict[str, str]]:
    return {a.id: dict(a.credentials) for a in await engine.gateways.accounts(merchant_id, fresh=True)}


async def _readable(settings: Settings, expected: dict[str, dict[str, dict[str, str]]]) -> None:
    engine = await Engine.start(settings)
    try:
        assert {m: await _credentials(engine, m) for m in expected} == expected
    finally:
        await engine.close()


async def _key_ids(db: Services) -> dict[str, int]:
    conn = await asyncpg.connect(db.database_url)
    try:
        rows = await conn.fetch("SELECT key_id, count(*) AS n FROM gateway_accounts GROUP BY key_id")
    finally:
        await conn.close()
    return {r["key_id"]: r["n"] for r in rows}


async def _make_legacy(db: Services, master: bytes, account_id: str, credentials: dict[str, str]) -> None:
    """Rewrite one account as the engine sealed it before keys were derived (raw master key)."""
    nonce = os.urandom(12)
    blob = nonce + AESGCM(master).encrypt(nonce, msgspec.json.encode(credentials), account_id.encode())
    conn = await asyncpg.connect(db.database_url)
    try:
        await conn.execute(
            "UPDATE gateway_accounts SET credentials = $2, key_id = $3 WHERE id = $1",
            account_id,
            blob,
            Sealer.legacy_key_id_of(master),
        )
    finally:
        await conn.close()


async def test_rotation_keeps_every_account_readable_and_ends_needing_only_the_new_key(db: Services) -> None:
    old, new = os.urandom(32), os.urandom(32)
    expected = await _merchants(_settings(db, old), 2)
    total = 2 * ACCOUNTS
    legacy_id, legacy_credentials = next(iter(next(iter(expected.values())).items()))
    await _make_legacy(db, old, legacy_id, legacy_credentials)
    assert await _key_ids(db) == {Sealer.key_id_of(old): total - 1, Sealer.legacy_key_id_of(old): 1}

    # Restart with a new current key; the old one is still accepted, for both kinds of row.
    await _readable(_settings(db, new, (old,)), expected)
    engine = await Engine.start(_settings(db, new, (old,)))
    other = await Engine.start(_settings(db, new, (old,)))
    try:
        signing_key, *recognised = engine.fingerprint_keys
        assert signing_key == derive_keys(new).fingerprint
        assert signing_key not in {new, old, derive_keys(new).encryption}
        # Keys stored before the rotation (or before derived keys) still match their retries.
        assert derive_keys(old).fingerprint in recognised and old in recognised
        # Two runs at once (two processes, small batches): every row is re-sealed exactly once.
        first, second = await asyncio.gather(
            rotate_keys(engine.db, engine.sealer, batch_size=3), rotate_keys(other.db, other.sealer, batch_size=2)
        )
        assert first.resealed + second.resealed == total
        assert first.unreadable == second.unreadable == {}
        assert first.resealed + first.current == second.resealed + second.current == total
        assert await _key_ids(db) == {Sealer.key_id_of(new): total}
        again = await rotate_keys(engine.db, engine.sealer)
        assert (again.resealed, again.current, again.unreadable) == (0, total, {})
        assert again.summary() == f"re-encrypted 0 gateway accounts; {total} already current"
        # The engines that served during the rotation read the re-sealed rows.
        for serving in (engine, other):
            assert {m: await _credentials(serving, m) for m in expected} == expected
    finally:
        await engine.close()
        await other.close()

    # The old key can go: an engine with only the new key opens every account.
    await _readable(_settings(db, new), expected)
    # And an engine holding only the old key no longer can (the rows really changed keys).
    stale = await Engine.start(_settings(db, old))
    try:
        with pytest.raises(KeyError):
            await stale.gateways.accounts(next(iter(expected)), fresh=True)
    finally:
        await stale.close()


async def test_upgrade_keeps_the_same_key_and_reseals_raw_master_rows(db: Services) -> None:
    key = os.urandom(32)
    expected = await _merchants(_settings(db, key), 1)
    # Every row as the engine wrote it before keys were derived.
    for account_id, credentials in next(iter(expected.values())).items():
        await _make_legacy(db, key, account_id, credentials)
    assert await _key_ids(db) == {Sealer.legacy_key_id_of(key): ACCOUNTS}
    await _readable(_settings(db, key), expected)
    engine = await Engine.start(_settings(db, key))
    try:
        rotation = await rotate_keys(engine.db, engine.sealer)
    finally:
        await engine.close()
    assert (rotation.resealed, rotation.current, rotation.unreadable) == (ACCOUNTS, 0, {})
    assert await _key_ids(db) == {Sealer.key_id_of(key): ACCOUNTS}
    await _readable(_settings(db, key), expected)


def _cli_env(db: Services, tmp_path: object, **keys: str) -> dict[str, str]:
    names = {var.name for var in VARIABLES}
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("SANDBOX_")}
    env.update(
        DATABASE_URL=db.database_url,
        REDIS_URL=db.redis_url,
        ENGINE_DATA_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        **keys,
    )
    return env


async def _rotate_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "api.cli", "rotate-keys", *args]
    return await asyncio.to_thread(
        subprocess.run, argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


async def test_rotate_keys_command_prints_the_counts(db: Services, tmp_path) -> None:
    old, new, stranger = os.urandom(32), os.urandom(32), os.urandom(32)
    expected = await _merchants(_settings(db, old), 1)
    env = _cli_env(db, tmp_path, ENGINE_ENCRYPTION_KEY=_b64(new), ENGINE_ENCRYPTION_KEYS=_b64(old))

    result = await _rotate_cli(env, "--batch-size", "3")
    assert result.returncode == 0, result.stderr
    # ... and the merchant's sealed publishable key (engine/services/client_secrets.py).
    assert result.stdout.strip() == (
        f"re-encrypted {ACCOUNTS} gateway accounts; 0 already current; "
        "re-encrypted 1 client secrets and publishable keys"
    )
    result = await _rotate_cli(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"re-encrypted 0 gateway accounts; {ACCOUNTS} already current"
    await _readable(_settings(db, new), expected)

    # A key that opens nothing: the rows are reported by their public key id and the run fails.
    result = await _rotate_cli(_cli_env(db, tmp_path, ENGINE_ENCRYPTION_KEY=_b64(stranger)))
    assert result.returncode == 1
    assert result.stdout.strip() == (
        f"re-encrypted 0 gateway accounts; 0 already current; {ACCOUNTS} unreadable "
        f"(key ids: {Sealer.key_id_of(new)} ({ACCOUNTS})); re-encrypted 0 client secrets and publishable keys; "
        f"1 client secrets unreadable (key ids: {Sealer.key_id_of(new)} (1))"
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "ENGINE_ENCRYPTION_KEYS" in lines[0]
    assert await _key_ids(db) == {Sealer.key_id_of(new): ACCOUNTS}


async def test_rotate_keys_with_a_bad_older_key_is_one_line_exit_2_without_the_secret(db: Services, tmp_path) -> None:
    secret = _b64(b"sixteen byte key")
    env = _cli_env(
        db,
        tmp_path,
        ENGINE_ENCRYPTION_KEY=_b64(os.urandom(32)),
        ENGINE_ENCRYPTION_KEYS=f"{_b64(os.urandom(32))},{secret}",
    )
    result = await _rotate_cli(env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ENGINE_ENCRYPTION_KEYS"), result.stderr
    assert secret not in result.stderr and secret.rstrip("=") not in result.stderr
    assert env["ENGINE_ENCRYPTION_KEYS"].split(",")[0] not in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


async def test_an_idempotency_key_stored_before_a_rotation_still_replays(db):
    old, new = os.urandom(32), os.urandom(32)
    merchant_id = next(iter(await _merchants(_settings(db, old), 1)))
    body = b'{"amount":500,"currency":"INR"}'
    before = await Engine.start(_settings(db, old))
    try:
        first = idempotency.new_claim(before, merchant_id, "rotating", "POST", "/v1/payments", body, STORED)
        assert await idempotency.claim(before, first) == first
        await idempotency.remember(before.db, first, object())  # type: ignore[arg-type]
    finally:
        await before.close()
    after = await Engine.start(_settings(db, new, (old,)))
    try:
        retry = idempotency.new_claim(after, merchant_id, "rotating", "POST", "/v1/payments", body, STORED)
        assert retry.fingerprint != first.fingerprint  # signed with the new key now...
        replay = await idempotency.claim(after, retry)  # ...and still the same request
        assert replay == idempotency.Replay(status=201, body=b'{"id":"pay_x"}')
        other = idempotency.new_claim(after, merchant_id, "rotating", "POST", "/v1/payments", body + b" ", STORED)
        with pytest.raises(IdempotencyError):
            await idempotency.claim(after, other)
    finally:
        await after.close()


async def test_rotation_reseals_client_secrets_and_publishable_keys(db: Services) -> None:
    old, new = os.urandom(32), os.urandom(32)
    engine = await Engine.start(_settings(db, old))
    try:
        merchant, _, publishable = await create_merchant(engine, "Browser keys")
        payment = new_payment(merchant["id"], CreatePayment(amount=100, currency="INR"))
        secret = client_secrets.new_secret(payment.id)
        await create_payment(engine, payment, None, secret)
    finally:
        await engine.close()
    rotated = await rotate_all(engine_settings(db, port=free_port(), sandbox_url=SANDBOX_URL,
                                               encryption_key=new, encryption_keys=(old,)), 10)  # fmt: skip
    assert (rotated.browser_resealed, rotated.browser_unreadable) == (2, {})
    engine = await Engine.start(_settings(db, new))  # the old key is gone
    try:
        assert await client_secrets.reveal(engine, merchant["id"], payment.id) == secret
        assert (await checkout_identity(engine, merchant["id"]))[1] == publishable
    finally:
        await engine.close()
