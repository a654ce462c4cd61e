"""Encryption at rest for gateway credentials (AES-256-GCM with a key id for rotation)."""

from __future__ import annotations

import hashlib
import os

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sealer:
    """Seals small JSON values; the key id is stored beside each ciphertext."""

    def __init__(self, key: bytes, older_keys: tuple[bytes, ...] = ()) -> None:
        self._keys = {self.key_id_of(k): AESGCM(k) for k in (key, *older_keys)}
        self.key_id = self.key_id_of(key)

    @staticmethod
    def key_id_of(key: bytes) -> str:
        """A short public fingerprint of a key (never the key itself)."""
        return "k_" + hashlib.sha256(b"payment-engine key id" + key).hexdigest()[:12]

    def seal(self, value: object, context: bytes = b"") -> bytes:
        """Encrypt ``value`` bound to ``context`` (e.g. the account id) as associated data."""
        nonce = os.urandom(12)
        return nonce + self._keys[self.key_id].encrypt(nonce, msgspec.json.encode(value), context)

    def open(self, blob: bytes, key_id: str, context: bytes = b"") -> object:
        """Decrypt a value sealed by ``seal``; raises on a wrong key, context or tampering."""
        aead = self._keys.get(key_id)
        if aead is None:
            raise KeyError(f"no encryption key with id {key_id}")
        return msgspec.json.decode(aead.decrypt(blob[:12], blob[12:], context))
