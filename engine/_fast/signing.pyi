"""Type stubs of the compiled ``engine._fast.signing`` (the twin of ``engine._pyref.signing``).

``str`` inputs are UTF-8; digests are lower-case hex; ``verify_*`` compare in constant time.
"""

from collections.abc import Mapping
from typing import Literal

from engine._fast._paytm import paytm_generate_checksum as paytm_generate_checksum
from engine._fast._paytm import paytm_verify_checksum as paytm_verify_checksum

Bytesish = str | bytes

OPENSSL_BUILT: bool
"""True when compiled against OpenSSL 3 (else only the hashlib backend exists)."""

def backend() -> Literal["openssl", "hashlib"]:
    """The digest backend in use."""

def _set_backend(name: Literal["openssl", "hashlib"]) -> None:
    """Switch the backend (tests and benchmarks only); ValueError if unavailable."""

def hmac_sha256_hex(key: Bytesish, message: Bytesish) -> str:
    """Hex HMAC-SHA256."""

def hmac_sha512_hex(key: Bytesish, message: Bytesish) -> str:
    """Hex HMAC-SHA512."""

def sha256_hex(data: Bytesish) -> str:
    """Hex SHA-256."""

def sha512_hex(data: Bytesish) -> str:
    """Hex SHA-512."""

def constant_time_equal(a: Bytesish, b: Bytesish) -> bool:
    """Constant-time equality over UTF-8 bytes."""

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
