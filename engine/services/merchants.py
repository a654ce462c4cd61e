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
_MEMO_MAX = 10_000


def hash_key(api_key: str) -> bytes:
    """SHA-256 of a key: keys are 190-bit random strings, so a fast hash is the right tool."""
    return hashlib.sha256(api_key.encode()).digest()


async def create_merchant(engine: Engine, name: str) -> tuple[dict[str, Any], str]:
    """Create a merchant and its secret key; the key is returned once and stored only hashed."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationError("name must be 1 to 200 characters.", param="name")
    merchant_id = new_id("mer")
    api_key = KEY_PREFIX + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
    async with engine.db.transaction() as uow:
        row = await uow.merchants.insert(merchant_id, name, engine.settings.sandbox)
        await uow.merchants.add_api_key(new_id("key"), merchant_id, hash_key(api_key), api_key[:12])
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
    return merchant, api_key


async def authenticate(engine: Engine, api_key: str) -> str:
    """The merchant id owning ``api_key``; raises ``AuthenticationFailed`` otherwise.

    Cached in process and in Redis by the key's hash (never the key), so the hot path costs a
    dict lookup; a revoked key stops working within ``API_KEY_CACHE_TTL_S``.
    """
    if not api_key.startswith(KEY_PREFIX) or len(api_key) > 200:
        raise AuthenticationFailed("Invalid API key provided.")
    digest = hash_key(api_key)
    now = time.monotonic()
    memo = engine.api_key_memo.get(digest)
    if memo and memo[1] > now:
        return memo[0]
    ttl = engine.settings.api_key_cache_ttl
    cache_key = "apikey:" + digest.hex()
    merchant_id = await engine.cache.get(cache_key)
    if merchant_id is None:
        found = await engine.db.merchants.for_key(digest)
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
