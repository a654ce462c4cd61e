"""Idempotency keys (DESIGN.md §4): replay, mismatch (422), in flight (409).

A key is claimed only after the request passed authentication and validation, so rejected
requests store nothing. The fingerprint is an HMAC (keyed with the engine's secret) of method,
path and body: it detects a changed body without keeping anything from which a card number
could be recovered. Responses are stored as the exact bytes sent, so replays are identical.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
import msgspec

from engine import signing
from engine.errors import IdempotencyError, ValidationError
from engine.store.sqlfile import load_queries

if TYPE_CHECKING:
    from engine.bootstrap import Engine

Q = load_queries("idempotency")
MAX_KEY_LENGTH = 255
# A request whose process died leaves its key in flight; after this long a retry may take over.
STALE_LOCK_S = 300.0


class Claim(msgspec.Struct, frozen=True):
    """A key this request now owns; complete or release it."""

    merchant_id: str
    key: str
    method: str
    path: str
    fingerprint: bytes


class Replay(msgspec.Struct, frozen=True):
    """The stored first response of an earlier request with the same key and body."""

    status: int
    body: bytes


def check_key(key: str) -> str:
    """Validate the header value: 1-255 printable ASCII characters."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise ValidationError(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            code="idempotency_key_invalid",
            param="Idempotency-Key",
        )
    return key


def fingerprint(secret: bytes, method: str, path: str, body: bytes) -> bytes:
    """HMAC-SHA256 of the request's identity; reveals nothing about the body."""
    digest = signing.hmac_sha256_hex(secret, method.encode() + b" " + path.encode() + b"\n" + body)
    return bytes.fromhex(digest)


async def claim(engine: Engine, new: Claim) -> Claim | Replay:
    """Own ``new.key`` for this request, or get the replay of the request that owns it."""
    async with engine.pool.acquire() as conn:
        for _ in range(2):
            if await conn.fetchval(
                Q.claim,
                new.merchant_id,
                new.key,
                new.method,
                new.path,
                new.fingerprint,
                engine.settings.idempotency_ttl_hours,
            ):
                return new
            outcome = await _existing(conn, new)
            if outcome is not None:
                return outcome
        raise IdempotencyError(
            "This Idempotency-Key is in use; retry shortly.", code="idempotency_key_in_use", status=409
        )


async def _existing(conn: asyncpg.Connection, new: Claim) -> Claim | Replay | None:
    """Judge an existing row for ``new``'s key; ``None`` means it vanished: claim again."""
    row = await conn.fetchrow(Q.get, new.merchant_id, new.key)
    if row is None:
        return None
    if row["expired"] and await conn.fetchval(Q.reclaim_expired, new.merchant_id, new.key) is not None:
        return None
    if (row["method"], row["path"]) != (new.method, new.path) or not signing.constant_time_equal(
        bytes(row["fingerprint"]), new.fingerprint
    ):
        raise IdempotencyError(
            "This Idempotency-Key was already used with a different request body or endpoint.",
            code="idempotency_key_reused",
            status=422,
        )
    if row["state"] == "done":
        return Replay(status=row["response_status"], body=bytes(row["response_body"]))
    if row["held_for"].total_seconds() > STALE_LOCK_S and await conn.fetchval(
        Q.take_over_stale, new.merchant_id, new.key, STALE_LOCK_S
    ):
        return new
    raise IdempotencyError(
        "A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_use", status=409
    )


async def complete(conn: asyncpg.Connection, claim_: Claim, status: int, body: bytes) -> None:
    """Store the response; call inside the transaction that made the state change."""
    await conn.execute(Q.complete, claim_.merchant_id, claim_.key, status, body)


async def record(engine: Engine, claim_: Claim, status: int, body: bytes) -> None:
    """Store the response in its own transaction (errors after work began)."""
    async with engine.pool.acquire() as conn:
        await complete(conn, claim_, status, body)


async def release(engine: Engine, claim_: Claim) -> None:
    """Forget an in-flight claim whose request was rejected before any state changed."""
    async with engine.pool.acquire() as conn:
        await conn.execute(Q.release, claim_.merchant_id, claim_.key)


def new_claim(engine: Engine, merchant_id: str, key: str, method: str, path: str, body: bytes) -> Claim:
    """This request's claim on ``key`` (not yet stored; ``claim`` or the create statement stores it)."""
    return Claim(merchant_id, key, method, path, fingerprint(engine.settings.encryption_key, method, path, body))
