"""Keys derived from the master key, and encryption at rest for gateway credentials.

The master key (``ENGINE_ENCRYPTION_KEY``) is never used directly: HKDF-SHA256 derives one key
per purpose, so a weakness in how one purpose uses its key (AES-GCM nonces, HMAC fingerprints)
cannot leak the other. Credentials are sealed with AES-256-GCM; each ciphertext is stored with
the public id of the key that sealed it, so older master keys (``ENGINE_ENCRYPTION_KEYS``) still
open their rows until ``payment-engine rotate-keys`` has re-sealed them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# HKDF ``info`` labels: one per purpose. Changing a label changes every derived key, so they are
# versioned rather than edited.
ENCRYPTION_INFO = b"payment-engine/v1/gateway-credentials"
FINGERPRINT_INFO = b"payment-engine/v1/idempotency-fingerprint"
_ID_LABEL = b"payment-engine key id"
_NONCE_BYTES = 12


@dataclass(frozen=True, repr=False)
class DerivedKeys:
    """The per-purpose keys of one master key."""

    encryption: bytes
    fingerprint: bytes

    def __repr__(self) -> str:  # never print key material
        return "DerivedKeys(<hidden>)"


def _hkdf(master: bytes, info: bytes) -> bytes:
    # No salt: the master key is 32 uniformly random bytes, which is what HKDF's extract step
    # would otherwise have to produce (RFC 5869 §3.1).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


def derive_keys(master: bytes) -> DerivedKeys:
    """The credential-encryption and idempotency-fingerprint keys of ``master`` (deterministic)."""
    if len(master) != 32:
        raise ValueError("the master key must be 32 bytes")
    return DerivedKeys(encryption=_hkdf(master, ENCRYPTION_INFO), fingerprint=_hkdf(master, FINGERPRINT_INFO))


def _public_fingerprint(key: bytes) -> str:
    return hashlib.sha256(_ID_LABEL + key).hexdigest()[:12]


class Sealer:
    """Seals small JSON values with the current master's derived key; opens with any accepted key.

    Accepted: the current master and ``older_masters``, each under two ids: its derived key
    (``k2_…``, what ``seal`` writes) and, for rows written before keys were derived, the raw
    master used as the AES key (``k_…``, the id those rows already carry).
    """

    def __init__(self, master: bytes, older_masters: tuple[bytes, ...] = ()) -> None:
        self._keys: dict[str, AESGCM] = {}
        for m in (master, *older_masters):
            self._keys[self.key_id_of(m)] = AESGCM(derive_keys(m).encryption)
            self._keys[self.legacy_key_id_of(m)] = AESGCM(m)
        self.key_id = self.key_id_of(master)
        self._current = self._keys[self.key_id]

    @staticmethod
    def key_id_of(master: bytes) -> str:
        """Public id of the key that seals under ``master``: a fingerprint, never key material."""
        return "k2_" + _public_fingerprint(derive_keys(master).encryption)

    @staticmethod
    def legacy_key_id_of(master: bytes) -> str:
        """The id rows sealed with the raw master key carry (kept so those rows still open)."""
        return "k_" + _public_fingerprint(master)

    @property
    def accepted_key_ids(self) -> frozenset[str]:
        """Every key id this sealer can open."""
        return frozenset(self._keys)

    def seal(self, value: object, context: bytes = b"") -> bytes:
        """Encrypt ``value`` bound to ``context`` (e.g. the account id) as associated data."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._current.encrypt(nonce, msgspec.json.encode(value), context)

    def open(self, blob: bytes, key_id: str, context: bytes = b"") -> object:
        """Decrypt a value sealed by ``seal``; raises ``KeyError`` for a key id that is not
        accepted and ``cryptography.exceptions.InvalidTag`` on a wrong key, context or tampering."""
        aead = self._keys.get(key_id)
        if aead is None:
            raise KeyError(f"no encryption key with id {key_id}")
        return msgspec.json.decode(aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context))

    def reseal(self, blob: bytes, key_id: str, context: bytes = b"") -> bytes:
        """``blob`` (sealed under ``key_id``) sealed again with the current key."""
        return self.seal(self.open(blob, key_id, context), context)
