"""Merchants, their API keys and (in sandbox mode) their sandbox gateway accounts."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import TYPE_CHECKING, Any

from engine import signing
from engine.errors import AuthenticationFailed, ValidationError
from engine.ids import new_id

if TYPE_CHECKING:
    from engine.bootstrap import Engine

# The sandbox's published test accounts (DESIGN.md §5); merchants in sandbox mode get them.
SANDBOX_ACCOUNTS: dict[str, dict[str, str]] = {
    "razorpay": {
        "key_id": "rzp_test_sandbox",
        "key_secret": "sandbox_secret",
        "webhook_secret": "sandbox_webhook_secret",
    },
    "paytm": {"mid": "SANDBOXMID0000000001", "merchant_key": "sandboxmerchkey1", "website": "WEBSTAGING"},
    "payu": {"key": "sandboxkey", "salt": "sandboxsalt"},
    "juspay": {
        "merchant_id": "sandbox",
        "api_key": "sandbox_api_key",
        "response_key": "sandbox_response_key",
        "webhook_username": "sandbox",
        "webhook_password": "sandbox_webhook_password",
    },
}
KEY_PREFIX = "sk_test_"
PUBLISHABLE_PREFIX = "pk_test_"
_MEMO_MAX = 10_000


def hash_key(api_key: str) -> bytes:
    """SHA-256 of a key: keys are 190-bit random strings, so a fast hash is the right tool."""
    return hashlib.sha256(api_key.encode()).digest()


def _new_key(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")


async def create_merchant(engine: Engine, name: str) -> tuple[dict[str, Any], str, str]:
    """Create a merchant, its secret key and its publishable key; both are returned once and
    stored only hashed. Returns ``(merchant, secret key, publishable key)``."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationError("name must be 1 to 200 characters.", param="name")
    merchant_id = new_id("mer")
    api_key = _new_key(KEY_PREFIX)
    publishable = _new_key(PUBLISHABLE_PREFIX)
    async with engine.db.transaction() as uow:
        row = await uow.merchants.insert(merchant_id, name, engine.settings.sandbox)
        await uow.merchants.add_api_key(new_id("key"), merchant_id, hash_key(api_key), api_key[:12])
        pk_id = new_id("key")
        sealed = (engine.sealer.seal(publishable, pk_id.encode()), engine.sealer.key_id)
        await uow.merchants.add_key_of_kind(
            pk_id, merchant_id, hash_key(publishable), publishable[:12], "publishable", sealed
        )
        if engine.settings.sandbox:
            for priority, (gateway, credentials) in enumerate(SANDBOX_ACCOUNTS.items()):
                base_url = f"{engine.settings.sandbox_url}/{gateway}"
                await engine.gateways.add_account(
                    uow, merchant_id, gateway, {**credentials, "base_url": base_url}, priority
                )
    merchant = {
        "id": row["id"],
        "object": "merchant",
        "name": row["name"],
        "sandbox": row["sandbox"],
        "created_at": row["created_at"].isoformat().replace("+00:00", "Z"),
    }
    return merchant, api_key, publishable


async def authenticate(engine: Engine, api_key: str, kind: str = "secret") -> str:
    """The merchant id owning ``api_key`` (a key of ``kind``: ``secret`` or ``publishable``);
    raises ``AuthenticationFailed`` otherwise.

    Cached in process and in Redis by the key's hash (never the key), so the hot path costs a
    dict lookup; a revoked key stops working within ``API_KEY_CACHE_TTL_S``.
    """
    prefix = KEY_PREFIX if kind == "secret" else PUBLISHABLE_PREFIX
    if not api_key.startswith(prefix) or len(api_key) > 200:
        raise AuthenticationFailed("Invalid API key provided.")
    digest = hash_key(api_key)
    now = time.monotonic()
    memo = engine.api_key_memo.get(digest)
    if memo and memo[1] > now:
        return memo[0]
    ttl = engine.settings.api_key_cache_ttl
    # The digests of the two kinds differ (the prefix is hashed), and the lookup names the kind.
    cache_key = ("apikey:" if kind == "secret" else "pubkey:") + digest.hex()
    merchant_id = await engine.cache.get(cache_key)
    if merchant_id is None:
        found = await engine.db.merchants.for_key(digest, kind)
        # The lookup is by hash; the explicit constant-time check documents that no prefix
        # comparison on secret material happens anywhere.
        if found is None or not signing.constant_time_equal(found[1], digest):
            raise AuthenticationFailed("Invalid API key provided.")
        merchant_id = found[0]
        await engine.cache.set(cache_key, merchant_id, ttl)
    if len(engine.api_key_memo) >= _MEMO_MAX:
        engine.api_key_memo.clear()
    engine.api_key_memo[digest] = (merchant_id, now + ttl)
    return merchant_id


async def checkout_identity(engine: Engine, merchant_id: str) -> tuple[str, str | None]:
    """The merchant's display name and its publishable key (``None`` for merchants created
    before publishable keys existed), for the hosted checkout page."""
    found = await engine.db.merchants.checkout_of(merchant_id)
    if found is None:
        return "", None
    name, key_id, blob, seal_id = found
    if key_id is None or blob is None or seal_id is None:
        return name, None
    value = engine.sealer.open(blob, seal_id, key_id.encode())
    return name, value if isinstance(value, str) else None
