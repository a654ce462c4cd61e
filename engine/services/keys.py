"""Key rotation: re-seal gateway credentials with the current master key.

Run after ``ENGINE_ENCRYPTION_KEY`` became a new key and the previous one moved to
``ENGINE_ENCRYPTION_KEYS`` (or after upgrading from raw-master sealing). Each account is
re-sealed in a transaction of its own that locks the row only while it still carries the key id
it was read with, so concurrent runs (and a run beside serving engines) never re-seal a row twice
or overwrite a newer ciphertext. Once a run reports no unreadable rows the older keys can go.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from engine.crypto import Sealer
from engine.store.uow import Database

DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class Rotation:
    """What a run did. ``current`` counts rows that already carried the current key id when the
    run ended without its help (including rows a concurrent run re-sealed first)."""

    resealed: int
    current: int
    # Public key id -> rows no configured key opens (their master is not configured, or the
    # ciphertext does not authenticate); they are left as they are.
    unreadable: dict[str, int] = field(default_factory=dict)
    # Merchant webhook endpoints' signing secrets, re-sealed (and unreadable) the same way.
    webhook_resealed: int = 0
    webhook_unreadable: dict[str, int] = field(default_factory=dict)
    # Payments' client secrets and merchants' publishable keys (engine/services/client_secrets.py).
    browser_resealed: int = 0
    browser_unreadable: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the operator."""
        line = f"re-encrypted {self.resealed} gateway accounts; {self.current} already current"
        if self.unreadable:
            ids = ", ".join(f"{key_id} ({n})" for key_id, n in sorted(self.unreadable.items()))
            line += f"; {sum(self.unreadable.values())} unreadable (key ids: {ids})"
        if self.webhook_resealed or self.webhook_unreadable:
            line += f"; re-encrypted {self.webhook_resealed} webhook endpoint secrets"
        if self.webhook_unreadable:
            ids = ", ".join(f"{key_id} ({n})" for key_id, n in sorted(self.webhook_unreadable.items()))
            line += f"; {sum(self.webhook_unreadable.values())} webhook secrets unreadable (key ids: {ids})"
        if self.browser_resealed or self.browser_unreadable:
            line += f"; re-encrypted {self.browser_resealed} client secrets and publishable keys"
        if self.browser_unreadable:
            ids = ", ".join(f"{key_id} ({n})" for key_id, n in sorted(self.browser_unreadable.items()))
            line += f"; {sum(self.browser_unreadable.values())} client secrets unreadable (key ids: {ids})"
        return line


async def rotate_keys(db: Database, sealer: Sealer, *, batch_size: int = DEFAULT_BATCH_SIZE) -> Rotation:
    """Re-seal every gateway account whose key id is not ``sealer.key_id``, ``batch_size`` ids
    at a time."""
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    resealed = 0
    unreadable: Counter[str] = Counter()
    after = ""
    while True:
        # Keyset pagination: unreadable rows keep their old key id, so an offset-free cursor is
        # what guarantees the loop ends.
        batch = await db.accounts.to_reseal(sealer.key_id, after, batch_size)
        for account_id, key_id in batch:
            if key_id not in sealer.accepted_key_ids:
                unreadable[key_id] += 1
                continue
            try:
                if await _reseal(db, sealer, account_id, key_id):
                    resealed += 1
            except InvalidTag:
                unreadable[key_id] += 1
        if len(batch) < batch_size:
            break
        after = batch[-1][0]
    # Counted at the end so rows re-sealed by a concurrent run are reported, not lost.
    current = await db.accounts.count_sealed_with(sealer.key_id) - resealed
    return Rotation(resealed=resealed, current=current, unreadable=dict(unreadable))


async def _reseal(db: Database, sealer: Sealer, account_id: str, key_id: str) -> bool:
    """Re-seal one account if it still carries ``key_id``; ``False`` when another run won."""
    async with db.transaction() as uow:
        blob = await uow.accounts.lock_sealed_with(account_id, key_id)
        if blob is None:
            return False
        # The account id is the associated data, exactly as GatewayDirectory seals it.
        sealed = sealer.reseal(blob, key_id, account_id.encode())
        await uow.accounts.reseal(account_id, key_id, sealed, sealer.key_id)
        return True
