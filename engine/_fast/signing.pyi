"""Type stubs of the compiled ``engine._fast.signing`` (the twin of ``engine._pyref.signing``).

``str`` inputs are UTF-8; digests are lower-case hex; ``verify_*`` compare in constant time.
"""

from typing import Literal

from engine._fast._digest import OPENSSL_BUILT as OPENSSL_BUILT
from engine._fast._paytm import paytm_generate_checksum as paytm_generate_checksum
from engine._fast._paytm import paytm_verify_checksum as paytm_verify_checksum
from engine._fast._payu import payu_command_hash as payu_command_hash
from engine._fast._payu import payu_request_hash as payu_request_hash
from engine._fast._payu import payu_reverse_hash as payu_reverse_hash
from engine._pyref.signing import paytm_checksum_salt as paytm_checksum_salt

Bytesish = str | bytes

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
