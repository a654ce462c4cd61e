"""PaytmChecksum, written from Paytm's published checksum documentation (the sandbox's own copy).

``generate(params, key)`` and ``verify(params, key, checksum)`` take either a dict of strings
(form-style: the values, in ascending key order, joined with ``|``; ``None`` and ``"null"`` become
empty) or a string (the exact JSON text of a request/response ``body``). The checksum is
``base64(AES-CBC(key, IV="@@@@&&&&####$$$$", PKCS#7(hex(sha256(canonical + "|" + salt)) + salt)))``
with a random 4-character salt; verification decrypts, reads the salt back and recomputes.

The tests prove this interoperates with Paytm's own ``paytmchecksum`` package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

IV = b"@@@@&&&&####$$$$"
_SALT_ALPHABET = string.ascii_letters + string.digits

Params = dict[str, str] | str


def canonical(params: Params) -> str:
    """The string that is hashed: a JSON text unchanged, or a dict's values in key order joined by ``|``."""
    if isinstance(params, str):
        return params
    values: list[str] = []
    for key in sorted(params):
        value = params[key]
        values.append("" if value is None or value.lower() == "null" else value)
    return "|".join(values)


def _hash(params: Params, salt: str) -> str:
    return hashlib.sha256(f"{canonical(params)}|{salt}".encode()).hexdigest() + salt


def _cipher(key: str) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key.encode()), modes.CBC(IV))


def generate(params: Params, key: str, salt: str | None = None) -> str:
    """A fresh checksum of ``params`` (random salt unless one is given, for test vectors)."""
    salt = salt or "".join(secrets.choice(_SALT_ALPHABET) for _ in range(4))
    padder = padding.PKCS7(128).padder()
    plain = padder.update(_hash(params, salt).encode()) + padder.finalize()
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def verify(params: Params, key: str, checksum: str | None) -> bool:
    """True when ``checksum`` was made over ``params`` with ``key`` (``CHECKSUMHASH`` is ignored in dicts)."""
    if not checksum:
        return False
    if isinstance(params, dict):
        params = {k: v for k, v in params.items() if k != "CHECKSUMHASH"}
    try:
        decryptor = _cipher(key).decryptor()
        raw = base64.b64decode(checksum, validate=True)
        data = decryptor.update(raw) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = (unpadder.update(data) + unpadder.finalize()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    if len(plain) != 68:
        return False
    return hmac.compare_digest(_hash(params, plain[-4:]).encode(), plain.encode())
