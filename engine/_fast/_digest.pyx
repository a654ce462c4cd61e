# cython: language_level=3, boundscheck=False, wraparound=False
"""Digest and HMAC primitives of the compiled signing kernels, and their backend switch.

``digest`` (SHA-256/512) and ``hmac`` (HMAC under a cached per-key state) write raw digests into
C buffers for ``signing``, ``_payu`` and ``_paytm`` (``cimport`` through ``_digest.pxd``). With
OpenSSL 3 (``setup.py`` found its headers; ``OPENSSL_BUILT``) they call libcrypto directly:
pre-fetched algorithms, one reused digest context, and per key an ``EVP_MAC`` context that
already holds the key's inner and outer pads. Otherwise — or after ``set_backend("hashlib")``,
which tests and benchmarks use to measure the fallback — they go through ``hashlib`` and copies
of a cached ``hmac`` object, which CPython itself backs with OpenSSL. No hash is implemented here.
"""

from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.string cimport memcpy

from engine._fast._native cimport (
    ENGINE_OPENSSL, PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE, PyUnicode_CheckExact, data_view,
    eng_ct_equal, eng_ossl_digest, eng_ossl_hmac, eng_ossl_hmac_free, eng_ossl_hmac_new, eng_ossl_init,
)

import hashlib as _hashlib
import hmac as _stdhmac

OPENSSL_BUILT = bool(ENGINE_OPENSSL)
"""True when compiled against OpenSSL 3 (else only the ``hashlib`` backend exists)."""

cdef bint _ossl_ready = ENGINE_OPENSSL and eng_ossl_init()
cdef bint _use_openssl = _ossl_ready
cdef tuple _DIGEST_NAMES = ("sha256", "sha512")
cdef tuple _HASHLIB = (_hashlib.sha256, _hashlib.sha512)
cdef enum:
    HMAC_CACHE_MAX = 256
# One cache per (digest, key type): a str and a bytes key never meet in the same dict.
cdef list _hmac_caches = [{}, {}, {}, {}]


def backend():
    """``"openssl"`` (libcrypto called directly) or ``"hashlib"`` (the fallback)."""
    return "openssl" if _use_openssl else "hashlib"


def set_backend(name):
    """Switch the backend (tests and benchmarks); ``ValueError`` if it is not available."""
    global _use_openssl
    if name not in ("openssl", "hashlib") or (name == "openssl" and not _ossl_ready):
        raise ValueError(f"backend {name!r} is not available")
    _use_openssl = name == "openssl"
    for cache in _hmac_caches:
        cache.clear()


cdef bint openssl_in_use() noexcept:
    return _use_openssl


cdef int digest(int kind, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
                unsigned char* out) except -1:
    """SHA-256/512 of ``p1 || p2`` into ``out`` (64 bytes); returns the digest length."""
    cdef int m
    if _use_openssl:
        m = eng_ossl_digest(kind, p1, n1, p2, n2, out)
        if m < 0:
            raise RuntimeError("OpenSSL digest failed")
        return m
    h = _HASHLIB[kind](PyBytes_FromStringAndSize(<const char*>p1, n1))
    if n2:
        h.update(PyBytes_FromStringAndSize(<const char*>p2, n2))
    raw = h.digest()
    memcpy(out, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
    return PyBytes_GET_SIZE(raw)


cdef class HmacKey:
    """HMAC state for one key: an OpenSSL context with the key's pads absorbed, or an ``hmac`` object."""

    def __dealloc__(self):
        if self.ctx != NULL:
            eng_ossl_hmac_free(self.ctx)


cdef HmacKey hmac_key(int kind, object key):
    """The cached state for an exact ``str``/``bytes`` key; ``None`` for any other key."""
    cdef bint is_bytes = PyBytes_CheckExact(key)
    cdef dict cache
    cdef HmacKey entry
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p
    if not is_bytes and not PyUnicode_CheckExact(key):
        return None
    cache = _hmac_caches[2 * kind + is_bytes]
    entry = cache.get(key)
    if entry is not None:
        return entry
    p = data_view(key, &n)
    if p == NULL:
        return None
    entry = HmacKey.__new__(HmacKey)
    if _use_openssl:
        entry.ctx = eng_ossl_hmac_new(kind, p, n)
    if entry.ctx == NULL:
        entry.stdlib = _stdhmac.new(PyBytes_FromStringAndSize(<const char*>p, n), digestmod=_DIGEST_NAMES[kind])
    if len(cache) >= HMAC_CACHE_MAX:  # a few secrets per merchant; bounded all the same
        cache.clear()
    cache[key] = entry
    return entry


cdef int hmac(HmacKey k, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
              unsigned char* out) except -1:
    """HMAC of ``p1 || p2`` under ``k`` into ``out`` (64 bytes); returns the digest length."""
    cdef int m
    if k.ctx != NULL:
        m = eng_ossl_hmac(k.ctx, p1, n1, p2, n2, out)
        if m < 0:
            raise RuntimeError("OpenSSL HMAC failed")
        return m
    h = k.stdlib.copy()
    h.update(PyBytes_FromStringAndSize(<const char*>p1, n1))
    if n2:
        h.update(PyBytes_FromStringAndSize(<const char*>p2, n2))
    raw = h.digest()
    memcpy(out, PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
    return PyBytes_GET_SIZE(raw)


cdef int matches(const unsigned char* expected, Py_ssize_t n, object received) except -2:
    """Constant-time ``expected == received``: 1 or 0; -1 when the pure twin must decide."""
    cdef Py_ssize_t m = 0
    cdef const unsigned char* p = data_view(received, &m)
    if p != NULL:
        return eng_ct_equal(expected, n, p, m)
    if isinstance(received, (str, bytes)):
        return -1  # a subclass, or a str that cannot be encoded
    return 0
