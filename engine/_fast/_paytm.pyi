"""Type stubs of the compiled ``engine._fast._paytm`` (re-exported by ``engine._fast.signing``)."""

from collections.abc import Mapping
from typing import Literal

PaytmParams = Mapping[str, str | None] | str

def _set_backend(name: Literal["openssl", "hashlib"]) -> None:
    """Use OpenSSL or delegate to the pure functions (set by ``signing._set_backend``)."""

def paytm_generate_checksum(params: PaytmParams, key: str, salt: str | None = None) -> str:
    """PaytmChecksum generateSignature (AES-CBC, fixed IV, base64; 108 chars)."""

def paytm_verify_checksum(params: PaytmParams, key: str, checksum: str) -> bool:
    """PaytmChecksum verifySignature (ignores CHECKSUMHASH in a dict)."""
