"""Client secrets: the per-payment credential a browser presents with the publishable key.

A client secret is ``<payment id>_secret_<32 random url-safe chars>``. The engine stores its
SHA-256 (the constant-time check of the browser's calls) and the secret sealed with AES-GCM
(``engine.crypto``, the payment id as associated data), so the merchant's server can read it
again with its secret key. The clear value is in no table, event, webhook, log line or
idempotency record: responses that carry it have it spliced in after the stored body was
rendered (api/controllers/payments.py).
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag

from engine import signing
from engine.errors import NotFound, ValidationError
from engine.ids import plausible

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.crypto import Sealer
    from engine.model import Payment
    from engine.store.uow import Database

MARK = "_secret_"
MAX_LENGTH = 120


def new_secret(payment_id: str) -> str:
    """A fresh client secret for ``payment_id`` (190 random bits)."""
    return payment_id + MARK + secrets.token_urlsafe(24)


def digest(secret: str) -> bytes:
    """SHA-256 of a secret (random, so a fast hash is the right tool, as for API keys)."""
    return hashlib.sha256(secret.encode()).digest()


def stored_form(engine: Engine, payment_id: str, secret: str) -> tuple[bytes, bytes, str]:
    """(hash, sealed secret, key id): what the payment's row in ``payment_client_secrets`` holds."""
    return digest(secret), engine.sealer.seal(secret, payment_id.encode()), engine.sealer.key_id


async def verify(engine: Engine, merchant_id: str, payment_id: str, presented: str | None) -> None:
    """Accept ``presented`` as the client secret of the merchant's payment ``payment_id``.

    Missing → 400 ``parameter_missing``; wrong, malformed, another payment's or another
    merchant's → the same 404 as an unknown payment (no oracle). The comparison is between
    hashes, in constant time.
    """
    if not presented:
        raise ValidationError(
            "client_secret is required with a publishable key.", code="parameter_missing", param="client_secret"
        )
    stored = None
    if len(presented) <= MAX_LENGTH and presented.isascii() and plausible(payment_id):
        stored = await engine.db.payments.client_secret_hash(payment_id, merchant_id)
    # Hash even when nothing is stored, so a miss and a mismatch take the same work.
    given = digest(presented)
    if stored is None or not signing.constant_time_equal(given, stored):
        raise NotFound(f"No such payment: {payment_id[:64]!r}.", param="id")


async def reveal(engine: Engine, merchant_id: str, payment_id: str) -> str | None:
    """The clear client secret of the merchant's payment (for its secret key), or ``None``
    (payments created before client secrets existed)."""
    return opened(engine, payment_id, await engine.db.payments.client_secret_sealed(payment_id, merchant_id))


def opened(engine: Engine, payment_id: str, sealed: tuple[bytes, str] | None) -> str | None:
    """The clear secret of a sealed (ciphertext, key id) pair, or ``None`` without one."""
    if sealed is None:
        return None
    value = engine.sealer.open(sealed[0], sealed[1], payment_id.encode())
    return value if isinstance(value, str) else None


async def payment_with_secret(engine: Engine, merchant_id: str, payment_id: str) -> tuple[Payment, str | None]:
    """The merchant's payment and its clear client secret (one round trip), or a 404."""
    found = await engine.db.payments.get_with_secret(payment_id, merchant_id) if plausible(payment_id) else None
    if found is None:
        raise NotFound(f"No such payment: {payment_id[:64]!r}.", param="id")
    return found[0], opened(engine, payment_id, found[1])


async def reseal_all(db: Database, sealer: Sealer, batch_size: int) -> tuple[int, Counter[str]]:
    """Key rotation: re-seal every client secret and sealed publishable key not sealed with
    ``sealer.key_id``; returns (re-sealed, unreadable rows by key id). Each row's context is
    the one it was sealed with (the payment id; the publishable key's row id)."""
    resealed, unreadable = 0, Counter[str]()
    for fetch, write in (
        (db.payments.client_secrets_to_reseal, db.payments.reseal_client_secret),
        (db.merchants.publishable_to_reseal, db.merchants.reseal_publishable),
    ):
        after = ""
        while True:
            batch = await fetch(sealer.key_id, after, batch_size)
            for row_id, blob, key_id in batch:
                try:
                    sealed = sealer.reseal(blob, key_id, row_id.encode())
                except (KeyError, InvalidTag):
                    unreadable[key_id] += 1
                    continue
                resealed += await write(row_id, key_id, sealed, sealer.key_id)
            if len(batch) < batch_size:
                break
            after = batch[-1][0]
    return resealed, unreadable
