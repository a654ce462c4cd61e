"""Type stubs of the compiled ``engine._fast._digest`` (its C-level API is ``_digest.pxd``)."""

from typing import Literal

OPENSSL_BUILT: bool
"""True when compiled against OpenSSL 3 (else only the hashlib backend exists)."""

def backend() -> Literal["openssl", "hashlib"]:
    """The digest backend in use."""

def set_backend(name: Literal["openssl", "hashlib"]) -> None:
    """Switch the backend (tests and benchmarks only); ValueError if unavailable."""
