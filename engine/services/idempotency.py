"""Idempotency keys (DESIGN.md §4): replay, mismatch (422), in flight (409), resume.

A key is claimed only after the request passed authentication and validation, so rejected
requests store nothing. Each phase of the operation records the key's *recovery point* and the
object it created in the phase's own transaction (``checkpoint``); a retry that finds the key
held past ``IDEMPOTENCY_LOCK_TIMEOUT_S`` takes it over with that point and the service
continues the first attempt (same payment, same attempt, same refund) instead of starting a
second one. The fingerprint is an HMAC (keyed with the engine's secret) of method,
path and body: it detects a changed body without keeping anything from which a card number
could be recovered. Responses are stored as the exact bytes sent, so replays are identical.
"""

from __future__ import annotations

import enum
import time
from typing import TYPE_CHECKING

import msgspec

from engine import signing
from engine.errors import IdempotencyError, ValidationError
from engine.results import Render, Result

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.store.idempotency import StoredKey
    from engine.store.uow import UnitOfWork

MAX_KEY_LENGTH = 255


class RecoveryPoint(enum.StrEnum):
    """How far an operation got (mirrored by the CHECK in sql/0005_durable_operations.sql)."""

    STARTED = "started"  # nothing committed yet: run from the start
    PAYMENT_CREATED = "payment_created"  # create-with-confirm: the payment exists, not charged
    CHARGE_STARTED = "charge_started"  # an attempt is recorded: ask the gateway about it
    CAPTURE_STARTED = "capture_started"  # a capture work row exists: run it to the end
    REFUND_CREATED = "refund_created"  # the refund is recorded: ask the gateway about it
    VOID_STARTED = "void_started"  # a cancel's void work row exists: learn its outcome


class KeyHold:
    """Whether this request holds its key yet: set when the key row is stored for it (claimed,
    taken over, or written by a phase's first statement). Only a held key is unlocked, released
    or given an error response by this request -- never one another request holds."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False


class Claim(msgspec.Struct, frozen=True):
    """This request's key: stored (``hold.held``) by ``claim`` or by the first write of the
    operation; then complete or release it.

    A claim taken over from a request that died carries that request's recovery point and the
    object it had created; a fresh one starts at ``STARTED``.
    """

    merchant_id: str
    key: str
    method: str
    path: str
    fingerprint: bytes
    # The same request fingerprinted with the older keys (rotation): still the same request.
    also_known_as: tuple[bytes, ...] = ()
    recovery_point: RecoveryPoint = RecoveryPoint.STARTED
    object_id: str | None = None
    # How this request's results become the stored response (the API layer's mapping).
    render: Render | None = None
    hold: KeyHold = msgspec.field(default_factory=KeyHold)

    def resumes(self, point: RecoveryPoint) -> str | None:
        """The recorded object's id when this claim continues an operation from ``point``."""
        return self.object_id if self.recovery_point is point else None


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


# Keys whose request died with PostgreSQL (it could not unlock them): (merchant, key) -> the
# monotonic time the request started, so no earlier than its lock was taken. Unlocked as soon as
# PostgreSQL answers again, so a retry resumes at once instead of meeting 409 until the lock
# times out -- but only while no other request can have taken the key over meanwhile.
_stranded: dict[tuple[str, str], float] = {}
_STRANDED_MAX = 10_000
_SKEW_S = 2.0


def unlock_later(claim_: Claim, started: float) -> None:
    """Remember a held key whose unlock failed because PostgreSQL was unreachable."""
    if len(_stranded) < _STRANDED_MAX:
        _stranded[(claim_.merchant_id, claim_.key)] = started


async def unlock_stranded(engine: Engine) -> None:
    """Unlock the stranded keys still within their lock (a takeover is possible only after it)."""
    limit = engine.settings.idempotency_lock_timeout - _SKEW_S
    now = time.monotonic()
    for entry in list(_stranded):
        started = _stranded.pop(entry, None)  # concurrent claims share the work, never repeat it
        if started is None or now - started >= limit:
            continue
        try:
            await engine.db.idempotency.unlock(*entry)
        except Exception:  # still down: try again on the next claim
            _stranded.setdefault(entry, started)
            return


async def claim(engine: Engine, new: Claim) -> Claim | Replay:
    """Own ``new.key`` for this request, or get the replay of the request that owns it."""
    keys = engine.db.idempotency
    if _stranded:
        await unlock_stranded(engine)
    for _ in range(2):
        ttl = engine.settings.idempotency_ttl_hours
        if await keys.claim(new.merchant_id, new.key, new.method, new.path, new.fingerprint, ttl):
            new.hold.held = True
            return new
        outcome = await judge(engine, new, await keys.get(new.merchant_id, new.key))
        if outcome is not None:
            return outcome
    raise IdempotencyError("This Idempotency-Key is in use; retry shortly.", code="idempotency_key_in_use", status=409)


async def judge(engine: Engine, new: Claim, row: StoredKey | None) -> Claim | Replay | None:
    """What the stored ``row`` of ``new``'s key means for this request: the replay, a takeover
    (held now), or 409/422; ``None`` when there is no row (it vanished or expired): claim it."""
    keys = engine.db.idempotency
    if row is None:
        return None
    if row.expired and await keys.reclaim_expired(new.merchant_id, new.key):
        return None
    if (row.method, row.path) != (new.method, new.path) or not any(
        signing.constant_time_equal(row.fingerprint, known) for known in (new.fingerprint, *new.also_known_as)
    ):
        raise IdempotencyError(
            "This Idempotency-Key was already used with a different request body or endpoint.",
            code="idempotency_key_reused",
            status=422,
        )
    if row.state == "done":
        assert row.response_status is not None and row.response_body is not None
        return Replay(status=row.response_status, body=row.response_body)
    timeout = engine.settings.idempotency_lock_timeout
    if row.held_for_s > timeout and await keys.take_over(new.merchant_id, new.key, row.locked_at, timeout):
        new.hold.held = True
        return msgspec.structs.replace(new, recovery_point=RecoveryPoint(row.recovery_point), object_id=row.object_id)
    raise IdempotencyError(
        "A request with this Idempotency-Key is still in progress.", code="idempotency_key_in_use", status=409
    )


async def checkpoint(uow: UnitOfWork, claim_: Claim | None, point: RecoveryPoint, object_id: str) -> None:
    """Record the next recovery point inside the transaction of the phase that reached it."""
    if claim_ is not None:
        await uow.idempotency.checkpoint(claim_.merchant_id, claim_.key, str(point), object_id)


async def unlock(engine: Engine, claim_: Claim) -> None:
    """Let a retry resume this key at once (the request was cancelled, or its outcome is still
    open and the work continues in the background)."""
    await engine.db.idempotency.unlock(claim_.merchant_id, claim_.key)


def rendered(claim_: Claim | None, result: Result) -> tuple[str, int, bytes] | None:
    """(key, status, body) that ``claim_`` stores for ``result``; ``None`` without a key."""
    if claim_ is None:
        return None
    assert claim_.render is not None, "the API layer gives every claim its renderer"
    return (claim_.key, *claim_.render(result))


async def remember(uow: UnitOfWork, claim_: Claim | None, result: Result) -> None:
    """Store ``result`` as the key's final response, in ``uow`` (``engine.db`` when the state
    change it reports is already committed)."""
    answer = rendered(claim_, result)
    if claim_ is not None and answer is not None:
        _, status, body = answer
        await uow.idempotency.complete(claim_.merchant_id, claim_.key, status, body)


async def release(engine: Engine, claim_: Claim) -> bool:
    """Forget an in-flight claim whose request was rejected before any state changed (a key
    with a recovery point is kept: its operation is resumable)."""
    released = await engine.db.idempotency.release(claim_.merchant_id, claim_.key)
    if released:
        claim_.hold.held = False
    return released


def new_claim(engine: Engine, merchant_id: str, key: str, method: str, path: str, body: bytes, render: Render) -> Claim:
    """This request's claim on ``key`` (not yet stored; ``claim`` or the create statement stores
    it); ``render`` turns its results into the response the key stores."""
    current, *older = (fingerprint(k, method, path, body) for k in engine.fingerprint_keys)
    return Claim(merchant_id, key, method, path, current, tuple(older), render=render)
