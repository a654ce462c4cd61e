"""Derived keys and the credential sealer: purposes kept apart, rotation, legacy rows, tampering."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.config import load_settings
from engine.crypto import DerivedKeys, Sealer, derive_keys

MASTER = bytes(range(32))
OLDER = bytes(range(100, 132))
CREDENTIALS = {"key_id": "rzp_test_x", "key_secret": "s3cret"}
CONTEXT = b"gwa_123"


def _legacy_seal(master: bytes, value: bytes, context: bytes) -> bytes:
    """What the engine wrote before keys were derived: the raw master as the AES key."""
    nonce = os.urandom(12)
    return nonce + AESGCM(master).encrypt(nonce, value, context)


def test_derivation_is_deterministic_and_keeps_purposes_apart() -> None:
    keys = derive_keys(MASTER)
    assert keys == derive_keys(MASTER)
    assert len(keys.encryption) == len(keys.fingerprint) == 32
    assert len({keys.encryption, keys.fingerprint, MASTER}) == 3
    other = derive_keys(OLDER)
    assert other.encryption != keys.encryption and other.fingerprint != keys.fingerprint


def test_derived_keys_do_not_print_key_material() -> None:
    keys = derive_keys(MASTER)
    assert keys.encryption.hex() not in repr(keys) and "<hidden>" in repr(keys)
    assert isinstance(keys, DerivedKeys)


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_keys(b"short")


def test_seal_uses_the_derived_key_not_the_master() -> None:
    sealer = Sealer(MASTER)
    blob = sealer.seal(CREDENTIALS, CONTEXT)
    plain = AESGCM(derive_keys(MASTER).encryption).decrypt(blob[:12], blob[12:], CONTEXT)
    assert plain == b'{"key_id":"rzp_test_x","key_secret":"s3cret"}'
    with pytest.raises(InvalidTag):
        AESGCM(MASTER).decrypt(blob[:12], blob[12:], CONTEXT)
    assert sealer.key_id == Sealer.key_id_of(MASTER)
    assert sealer.open(blob, sealer.key_id, CONTEXT) == CREDENTIALS


def test_key_ids_are_distinct_public_fingerprints() -> None:
    keys = derive_keys(MASTER)
    ids = [Sealer.key_id_of(MASTER), Sealer.legacy_key_id_of(MASTER), Sealer.key_id_of(OLDER)]
    assert len(set(ids)) == 3
    assert ids[0].startswith("k2_") and ids[1].startswith("k_") and not ids[1].startswith("k2_")
    for key_id in ids:
        for secret in (MASTER, OLDER, keys.encryption, keys.fingerprint):
            for shown in (secret.hex(), base64.urlsafe_b64encode(secret).decode().rstrip("=")):
                assert shown not in key_id and shown[:12] not in key_id


def test_legacy_key_id_is_the_one_stored_by_earlier_versions() -> None:
    # Rows already in databases carry this exact id; it must never change.
    expected = "k_" + hashlib.sha256(b"payment-engine key id" + MASTER).hexdigest()[:12]
    assert Sealer.legacy_key_id_of(MASTER) == expected


def test_a_value_sealed_with_an_older_master_opens_after_rotation() -> None:
    old = Sealer(OLDER)
    blob = old.seal(CREDENTIALS, CONTEXT)
    env = {
        "ENGINE_ENCRYPTION_KEY": base64.urlsafe_b64encode(MASTER).decode(),
        "ENGINE_ENCRYPTION_KEYS": " , " + base64.b64encode(OLDER).decode() + ",",
    }
    settings = load_settings(env)
    assert settings.encryption_keys == (OLDER,)
    rotated = Sealer(settings.encryption_key, settings.encryption_keys)
    assert rotated.key_id == Sealer.key_id_of(MASTER) != old.key_id
    assert rotated.open(blob, old.key_id, CONTEXT) == CREDENTIALS
    resealed = rotated.reseal(blob, old.key_id, CONTEXT)
    assert Sealer(MASTER).open(resealed, rotated.key_id, CONTEXT) == CREDENTIALS
    # Without the older key the old row is unknown, not silently mis-decrypted.
    with pytest.raises(KeyError):
        Sealer(MASTER).open(blob, old.key_id, CONTEXT)


def test_legacy_raw_master_ciphertext_opens() -> None:
    blob = _legacy_seal(MASTER, b'{"a":"b"}', CONTEXT)
    assert Sealer(MASTER).open(blob, Sealer.legacy_key_id_of(MASTER), CONTEXT) == {"a": "b"}
    older_blob = _legacy_seal(OLDER, b'{"c":"d"}', CONTEXT)
    assert Sealer(MASTER, (OLDER,)).open(older_blob, Sealer.legacy_key_id_of(OLDER), CONTEXT) == {"c": "d"}
    # A legacy row under the derived id (or the reverse) does not open: the ids pick the key.
    with pytest.raises(InvalidTag):
        Sealer(MASTER).open(blob, Sealer.key_id_of(MASTER), CONTEXT)


def test_wrong_key_context_or_tampering_fails() -> None:
    sealer = Sealer(MASTER)
    blob = sealer.seal(CREDENTIALS, CONTEXT)
    with pytest.raises(KeyError):
        Sealer(OLDER).open(blob, sealer.key_id, CONTEXT)
    with pytest.raises(InvalidTag):
        sealer.open(blob, sealer.key_id, b"gwa_other")
    for index in (0, 12, len(blob) - 1):  # nonce, ciphertext, tag
        tampered = bytearray(blob)
        tampered[index] ^= 1
        with pytest.raises(InvalidTag):
            sealer.open(bytes(tampered), sealer.key_id, CONTEXT)
    # Key ids say which key to use; claiming a different accepted key still fails.
    both = Sealer(MASTER, (OLDER,))
    with pytest.raises(InvalidTag):
        both.open(blob, Sealer.key_id_of(OLDER), CONTEXT)


def test_each_seal_uses_a_fresh_nonce() -> None:
    sealer = Sealer(MASTER)
    assert sealer.seal(CREDENTIALS, CONTEXT) != sealer.seal(CREDENTIALS, CONTEXT)
