"""Digests, HMACs and gateway signatures (facade).

Re-exports the signing kernel chosen by :func:`engine._select.load_kernel`: the compiled
``engine._fast.signing`` when built (and ``ENGINE_NO_EXTENSIONS`` is not ``1``), else the
pure-Python specification ``engine._pyref.signing``. :data:`IMPLEMENTATION` says which.

The names below are the kernel's own function objects (no wrapper on the hot path); the
signatures under ``TYPE_CHECKING`` are for type checkers and readers, and the algorithms are
documented, with their ``reference/gateways.md`` sections, on the ``engine._pyref.signing``
functions. ``str`` inputs are UTF-8; digests are lower-case hex; ``verify_*`` functions compare in
constant time and return ``False`` for a malformed signature instead of raising.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from engine._pyref import signing as _pure_signing
from engine._select import Implementation, implementation_of, load_kernel

__all__ = [
    "IMPLEMENTATION",
    "constant_time_equal",
    "engine_signature_header",
    "engine_webhook_signature",
    "hmac_sha256_hex",
    "hmac_sha512_hex",
    "paytm_checksum_salt",
    "paytm_generate_checksum",
    "paytm_verify_checksum",
    "payu_command_hash",
    "payu_request_hash",
    "payu_reverse_hash",
    "razorpay_payment_signature",
    "razorpay_webhook_signature",
    "sha256_hex",
    "sha512_hex",
    "verify_razorpay_payment_signature",
    "verify_razorpay_webhook_signature",
]

_kernel = load_kernel("signing")

IMPLEMENTATION: Final[Implementation] = implementation_of(_kernel)
"""``"compiled"`` when the Cython kernel is in use, ``"pure"`` otherwise."""

if TYPE_CHECKING:
    Bytesish = str | bytes
    PaytmParams = Mapping[str, str | None] | str

    def hmac_sha256_hex(key: Bytesish, message: Bytesish) -> str:
        """Hex HMAC-SHA256."""

    def hmac_sha512_hex(key: Bytesish, message: Bytesish) -> str:
        """Hex HMAC-SHA512."""

    def sha256_hex(data: Bytesish) -> str:
        """Hex SHA-256."""

    def sha512_hex(data: Bytesish) -> str:
        """Hex SHA-512."""

    def constant_time_equal(a: Bytesish, b: Bytesish) -> bool:
        """hmac.compare_digest over UTF-8 bytes."""

    def razorpay_payment_signature(order_id: str, payment_id: str, key_secret: Bytesish) -> str:
        """HMAC-SHA256(key_secret, ``order_id|payment_id``)."""

    def verify_razorpay_payment_signature(order_id: str, payment_id: str, signature: str, key_secret: Bytesish) -> bool:
        """Constant-time check of a checkout signature."""

    def razorpay_webhook_signature(body: bytes, webhook_secret: Bytesish) -> str:
        """HMAC-SHA256(webhook_secret, raw body)."""

    def verify_razorpay_webhook_signature(body: bytes, signature: str, webhook_secret: Bytesish) -> bool:
        """Constant-time check of ``X-Razorpay-Signature``."""

    def engine_webhook_signature(secret: Bytesish, timestamp: int, body: bytes) -> str:
        """HMAC-SHA256(secret, ``b"<timestamp>." + body``)."""

    def engine_signature_header(secret: Bytesish, timestamp: int, body: bytes) -> str:
        """``t=<timestamp>,v1=<hex>``."""

    def payu_request_hash(params: Mapping[str, str | None], salt: str) -> str:
        """sha512(key|txnid|amount|productinfo|firstname|email|udf1..udf5||||||SALT)."""

    def payu_reverse_hash(params: Mapping[str, str | None], salt: str, additional_charges: str | None = None) -> str:
        """sha512([additionalCharges|]SALT|status||||||udf5..udf1|email|firstname|productinfo|amount|txnid|key)."""

    def payu_command_hash(key: str, command: str, var1: str, salt: str) -> str:
        """sha512(key|command|var1|SALT)."""

    def paytm_generate_checksum(params: PaytmParams, key: str, salt: str | None = None) -> str:
        """PaytmChecksum generateSignature (AES-CBC, fixed IV, base64; 108 chars)."""

    def paytm_verify_checksum(params: PaytmParams, key: str, checksum: str) -> bool:
        """PaytmChecksum verifySignature (ignores CHECKSUMHASH in a dict)."""

    def paytm_checksum_salt(checksum: str, key: str) -> str | None:
        """The 4-char salt sealed in a presented checksum; ``None`` when it is not one."""

else:
    hmac_sha256_hex = _kernel.hmac_sha256_hex
    hmac_sha512_hex = _kernel.hmac_sha512_hex
    sha256_hex = _kernel.sha256_hex
    sha512_hex = _kernel.sha512_hex
    constant_time_equal = _kernel.constant_time_equal
    razorpay_payment_signature = _kernel.razorpay_payment_signature
    verify_razorpay_payment_signature = _kernel.verify_razorpay_payment_signature
    razorpay_webhook_signature = _kernel.razorpay_webhook_signature
    verify_razorpay_webhook_signature = _kernel.verify_razorpay_webhook_signature
    engine_webhook_signature = _kernel.engine_webhook_signature
    engine_signature_header = _kernel.engine_signature_header
    payu_request_hash = _kernel.payu_request_hash
    payu_reverse_hash = _kernel.payu_reverse_hash
    payu_command_hash = _kernel.payu_command_hash
    paytm_generate_checksum = _kernel.paytm_generate_checksum
    paytm_verify_checksum = _kernel.paytm_verify_checksum
    # A compiled module built before this function existed lacks it; the specification's own
    # function is what the kernel re-exports anyway (it is not on a hot path).
    paytm_checksum_salt = getattr(_kernel, "paytm_checksum_salt", None) or _pure_signing.paytm_checksum_salt
