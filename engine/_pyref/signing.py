"""Digests, HMACs and gateway signatures: the executable specification of ``engine._fast.signing``.

Every algorithm follows ``reference/gateways.md`` (section numbers below) and is unit-tested against
its vectors. Conventions: ``str`` inputs are encoded as UTF-8; digests are lower-case hex; every
``verify_*`` compares in constant time and answers ``False`` (never raises) for a malformed
signature, because the signature is attacker-controlled input. Misconfiguration by the caller (a
Paytm key of the wrong size, a salt that is not 4 characters) raises ``ValueError``; a missing
mandatory field of an outgoing PayU request raises ``ValidationError`` (``parameter_missing``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from engine.errors import ValidationError

Bytesish = str | bytes


def _b(value: Bytesish) -> bytes:
    return value.encode() if isinstance(value, str) else value


# ------------------------------------------------------------------------------ generic primitives


def hmac_sha256_hex(key: Bytesish, message: Bytesish) -> str:
    """Lower-case hex HMAC-SHA256 of ``message`` under ``key``."""
    # hmac.digest() is the one-shot OpenSSL path: no HMAC object is built.
    return hmac.digest(_b(key), _b(message), "sha256").hex()


def hmac_sha512_hex(key: Bytesish, message: Bytesish) -> str:
    """Lower-case hex HMAC-SHA512 of ``message`` under ``key``."""
    return hmac.digest(_b(key), _b(message), "sha512").hex()


def sha256_hex(data: Bytesish) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(_b(data)).hexdigest()


def sha512_hex(data: Bytesish) -> str:
    """Lower-case hex SHA-512 of ``data``."""
    return hashlib.sha512(_b(data)).hexdigest()


def constant_time_equal(a: Bytesish, b: Bytesish) -> bool:
    """Compare two secrets in time independent of where they differ.

    ``str`` is encoded to UTF-8 first: ``hmac.compare_digest`` raises on non-ASCII ``str``, and a
    hostile header must yield ``False``, not an exception.
    """
    return hmac.compare_digest(_b(a), _b(b))


def _verify(expected: str, received: object) -> bool:
    if not isinstance(received, str | bytes):
        return False
    return constant_time_equal(expected, received)


# ------------------------------------------------------------------------------ Razorpay (§2.4-2.5)


def razorpay_payment_signature(order_id: str, payment_id: str, key_secret: Bytesish) -> str:
    """Checkout signature: hex HMAC-SHA256(key_secret, ``order_id|payment_id``) (§2.4).

    Pass the order id the engine stored, never the one posted back by the browser.
    """
    return hmac_sha256_hex(key_secret, f"{order_id}|{payment_id}")


def verify_razorpay_payment_signature(order_id: str, payment_id: str, signature: str, key_secret: Bytesish) -> bool:
    """True when ``signature`` is the checkout signature of ``order_id|payment_id`` (§2.4)."""
    return _verify(razorpay_payment_signature(order_id, payment_id, key_secret), signature)


def razorpay_webhook_signature(body: bytes, webhook_secret: Bytesish) -> str:
    """``X-Razorpay-Signature``: hex HMAC-SHA256(webhook_secret, raw body bytes) (§2.5)."""
    return hmac_sha256_hex(webhook_secret, body)


def verify_razorpay_webhook_signature(body: bytes, signature: str, webhook_secret: Bytesish) -> bool:
    """True when ``signature`` signs the raw ``body`` (verify before parsing it) (§2.5)."""
    return _verify(razorpay_webhook_signature(body, webhook_secret), signature)


# ------------------------------------------------------------------------------ engine webhooks


def engine_webhook_signature(secret: Bytesish, timestamp: int, body: bytes) -> str:
    """Signature of an outgoing engine webhook, Stripe's v1 scheme (§5).

    Hex HMAC-SHA256 under ``secret`` (its UTF-8 bytes as given, prefix included) over
    ``b"<timestamp>." + body``.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise ValueError("timestamp must be an int (Unix seconds)")
    return hmac.digest(_b(secret), b"%d." % timestamp + _b(body), "sha256").hex()


def engine_signature_header(secret: Bytesish, timestamp: int, body: bytes) -> str:
    """Value of the engine's webhook signature header: ``t=<timestamp>,v1=<hex>``."""
    return f"t={timestamp},v1={engine_webhook_signature(secret, timestamp, body)}"


# ------------------------------------------------------------------------------ PayU (§3.2-3.4)

_PAYU_REQUEST_FIELDS: Final = ("key", "txnid", "amount", "productinfo", "firstname", "email")
_PAYU_UDFS: Final = ("udf1", "udf2", "udf3", "udf4", "udf5")
# udf5..udf1 followed by the request fields reversed: the tail of the reverse hash.
_PAYU_REVERSE_TAIL: Final = (*reversed(_PAYU_UDFS), *reversed(_PAYU_REQUEST_FIELDS))
# udf6..udf10 are reserved and hashed empty: five empty fields, i.e. six '|' around them.
_PAYU_RESERVED: Final = "|||||"


def _payu_required(params: Mapping[str, str | None], name: str) -> str:
    value = params.get(name)
    if not value:
        raise ValidationError(
            f"PayU hash field {name!r} is required and must not be empty.",
            code="parameter_missing",
            param=name,
        )
    return value


def payu_request_hash(params: Mapping[str, str | None], salt: str) -> str:
    """Hash of a PayU ``_payment`` request (§3.2).

    ``sha512(key|txnid|amount|productinfo|firstname|email|udf1|…|udf5||||||SALT)`` as lower-case hex.
    Values must be the exact strings posted (``"10"`` and ``"10.00"`` differ); absent or ``None``
    udfs hash as empty. The six mandatory fields must be present and non-empty.
    """
    parts = [_payu_required(params, name) for name in _PAYU_REQUEST_FIELDS]
    parts.extend(params.get(name) or "" for name in _PAYU_UDFS)
    parts.append(_PAYU_RESERVED + salt)
    return hashlib.sha512("|".join(parts).encode()).hexdigest()


def payu_reverse_hash(params: Mapping[str, str | None], salt: str, additional_charges: str | None = None) -> str:
    """Hash PayU posts back on surl/furl callbacks and webhooks (§3.3).

    ``sha512([additionalCharges|]SALT|status||||||udf5|…|udf1|email|firstname|productinfo|amount|txnid|key)``.
    ``params`` are the posted fields, as received. ``additional_charges`` is the posted
    ``additionalCharges`` (or ``additional_charges``) value; the caller passes it explicitly, and
    an empty string counts as absent. Absent fields hash as empty (never raises). Compare the
    result with the posted ``hash`` in constant time.
    """
    # Lenient on purpose: these are untrusted posted fields, and an absent one simply hashes as
    # empty, so the comparison fails instead of raising inside a webhook handler.
    parts = [salt, (params.get("status") or "") + _PAYU_RESERVED]
    if additional_charges:
        parts.insert(0, additional_charges)
    parts.extend(params.get(name) or "" for name in _PAYU_REVERSE_TAIL)
    return hashlib.sha512("|".join(parts).encode()).hexdigest()


def payu_command_hash(key: str, command: str, var1: str, salt: str) -> str:
    """Hash of a PayU command API call (``verify_payment``, refunds, …) (§3.4).

    ``sha512(key|command|var1|SALT)``: only ``var1`` is hashed, even when ``var2``… are sent.
    """
    return hashlib.sha512(f"{key}|{command}|{var1}|{salt}".encode()).hexdigest()


# ------------------------------------------------------------------------------ Paytm (§1.2)

# PaytmChecksum's fixed IV (all SDKs): "@@@@&&&&####$$$$".
_PAYTM_IV: Final = b"@@@@&&&&####$$$$"
_PAYTM_SALT_ALPHABET: Final = string.ascii_letters + string.digits
_PAYTM_SALT_LENGTH: Final = 4
_BLOCK: Final = 16


@lru_cache(maxsize=64)
def _paytm_cipher(key: bytes) -> Cipher[modes.CBC]:
    # Key size picks AES-128/192/256, as the official Python SDK (pycryptodome) does; Paytm issues
    # 16-character keys, i.e. AES-128 (what the Node SDK hard-codes). A Cipher is reusable, so one
    # per merchant key is cached instead of rebuilt per call.
    if len(key) not in (16, 24, 32):
        raise ValueError("Paytm merchant key must be 16, 24 or 32 bytes")
    return Cipher(algorithms.AES(key), modes.CBC(_PAYTM_IV))


def _paytm_canonical(params: Mapping[str, str | None] | str) -> str:
    if isinstance(params, str):
        return params  # JSON APIs sign the exact body text sent on the wire
    # Values only, in sorted-key order; None and any case of "null" become "" (Python SDK rule).
    return "|".join(
        "" if (value := params[name]) is None or value.lower() == "null" else value for name in sorted(params)
    )


def _paytm_plaintext(canonical: str, salt: str) -> str:
    return sha256_hex(f"{canonical}|{salt}") + salt


def paytm_generate_checksum(params: Mapping[str, str | None] | str, key: str, salt: str | None = None) -> str:
    """PaytmChecksum ``generateSignature``: the 108-char ``CHECKSUMHASH`` / ``head.signature`` (§1.2).

    ``params`` is a dict of form fields (values in sorted-key order are signed) or the exact JSON
    text of a request ``body``. ``salt`` defaults to 4 random ``[A-Za-z0-9]`` characters (so the
    output differs every call); pass one (4 ASCII characters) only to reproduce a test vector.
    """
    if salt is None:
        salt = "".join(secrets.choice(_PAYTM_SALT_ALPHABET) for _ in range(_PAYTM_SALT_LENGTH))
    elif len(salt) != _PAYTM_SALT_LENGTH or not salt.isascii():
        # ASCII because the Python SDK pads by characters, not bytes: a non-ASCII salt would
        # produce a checksum its verifier cannot unpad.
        raise ValueError("Paytm salt must be exactly 4 ASCII characters")
    data = _paytm_plaintext(_paytm_canonical(params), salt).encode()
    pad = _BLOCK - len(data) % _BLOCK  # PKCS#7: always 1..16 bytes
    encryptor = _paytm_cipher(key.encode()).encryptor()
    sealed = encryptor.update(data + bytes((pad,)) * pad) + encryptor.finalize()
    return base64.b64encode(sealed).decode("ascii")


def _paytm_decrypt(checksum: object, cipher: Cipher[modes.CBC]) -> str | None:
    """The plaintext sealed in a presented checksum; ``None`` when it is not one (never raises)."""
    if not isinstance(checksum, str):
        return None
    try:
        sealed = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not sealed or len(sealed) % _BLOCK:
        return None
    decryptor = cipher.decryptor()
    data = decryptor.update(sealed) + decryptor.finalize()
    pad = data[-1]
    if not 1 <= pad <= _BLOCK or data[-pad:] != bytes((pad,)) * pad:
        return None
    try:
        plaintext = data[:-pad].decode()
    except UnicodeDecodeError:
        return None
    return plaintext if len(plaintext) > _PAYTM_SALT_LENGTH else None


def paytm_checksum_salt(checksum: str, key: str) -> str | None:
    """The 4-character salt sealed in a presented PaytmChecksum, or ``None`` when ``checksum`` is
    not one under ``key`` (not base64, bad length or padding, salt not 4 ASCII characters) (§1.2).

    With it, :func:`paytm_generate_checksum` recomputes the checksum the content must carry, so a
    caller can compare the two itself (constant time). The salt is no secret: recovering it proves
    nothing. Never raises for a hostile ``checksum``; a bad ``key`` raises ``ValueError``.
    """
    plaintext = _paytm_decrypt(checksum, _paytm_cipher(key.encode()))
    if plaintext is None:
        return None
    salt = plaintext[-_PAYTM_SALT_LENGTH:]
    # generate() accepts ASCII salts only: anything else cannot be a checksum it produced.
    return salt if salt.isascii() else None


def paytm_verify_checksum(params: Mapping[str, str | None] | str, key: str, checksum: str) -> bool:
    """PaytmChecksum ``verifySignature``: True when ``checksum`` signs ``params`` under ``key`` (§1.2).

    For a dict, ``CHECKSUMHASH`` is ignored (the caller's dict is not modified). The salt is read
    back from the decrypted value and the hash recomputed and compared in constant time.
    """
    if not isinstance(params, str):
        params = {name: value for name, value in params.items() if name != "CHECKSUMHASH"}
    cipher = _paytm_cipher(key.encode())  # a bad key is a configuration error: raise, don't hide it
    plaintext = _paytm_decrypt(checksum, cipher)
    if plaintext is None:
        return False
    expected = _paytm_plaintext(_paytm_canonical(params), plaintext[-_PAYTM_SALT_LENGTH:])
    return constant_time_equal(expected, plaintext)
