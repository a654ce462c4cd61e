# cython: language_level=3, boundscheck=False, wraparound=False
"""Digests, HMACs and gateway signatures, compiled: the twin of ``engine._pyref.signing``.

Same functions, arguments, results and exceptions as the pure module, which stays the
specification (algorithms and ``reference/gateways.md`` sections are documented there). What is
compiled is the plumbing around the primitives: the signed string is assembled in a C buffer
(never as Python ``str`` pieces), hashed by OpenSSL 3 through pre-fetched algorithms and, for
HMAC, a per-key context holding the key's pads, then hex-encoded straight into a new ``str``.

Fast path and fallbacks, so behaviour is identical by construction:

* Only exact ``str``/``bytes``/``dict``/``int`` arguments of the usual shape take the compiled
  path; anything else (a subclass, ``None`` where text is expected, a missing PayU field, a lone
  surrogate, a bad timestamp) is handed to the ``engine._pyref.signing`` function, which returns
  or raises exactly what the specification says.
* Built without OpenSSL headers (``ENGINE_OPENSSL`` is 0; see ``setup.py``), or if OpenSSL fails
  to initialise, the same code hashes through ``hashlib`` and cached ``hmac`` objects instead.
  :func:`backend` says which; ``_set_backend`` switches it for tests and benchmarks.

``verify_*`` and :func:`constant_time_equal` compare in constant time (CPython's own
``compare_digest`` loop, ``eng_ct_equal``) without building intermediate ``bytes``.
"""

from libc.stdio cimport snprintf
from libc.string cimport memcpy

from engine._fast._native cimport (
    Buf, ENGINE_OPENSSL, PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE, PyUnicode_CheckExact,
    buf_free, buf_init, buf_put, buf_text, data_view, eng_ct_equal, eng_hex, eng_hmac_t,
    eng_ossl_digest, eng_ossl_hmac, eng_ossl_hmac_free, eng_ossl_hmac_new, eng_ossl_init, hex_str,
)
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.long cimport PyLong_CheckExact
from cpython.unicode cimport PyUnicode_FromStringAndSize

import hashlib as _hashlib
import hmac as _stdhmac

from engine._fast import _paytm
from engine._fast._paytm import paytm_generate_checksum, paytm_verify_checksum
from engine._pyref import signing as _py

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

__all__ = [
    "OPENSSL_BUILT", "backend", "constant_time_equal", "engine_signature_header", "engine_webhook_signature",
    "hmac_sha256_hex", "hmac_sha512_hex", "paytm_generate_checksum", "paytm_verify_checksum",
    "payu_command_hash", "payu_request_hash", "payu_reverse_hash", "razorpay_payment_signature",
    "razorpay_webhook_signature", "sha256_hex", "sha512_hex", "verify_razorpay_payment_signature",
    "verify_razorpay_webhook_signature",
]

OPENSSL_BUILT = bool(ENGINE_OPENSSL)
"""True when this module was compiled against OpenSSL 3 (else it can only use ``hashlib``)."""

cdef bint _ossl_ready = ENGINE_OPENSSL and eng_ossl_init()
cdef bint _use_openssl = _ossl_ready
cdef tuple _DIGEST_NAMES = ("sha256", "sha512")
cdef tuple _HASHLIB = (_hashlib.sha256, _hashlib.sha512)
cdef enum:
    SHA256 = 0
    SHA512 = 1
    HMAC_CACHE_MAX = 256


def backend():
    """``"openssl"`` (libcrypto called directly) or ``"hashlib"`` (the fallback)."""
    return "openssl" if _use_openssl else "hashlib"


def _set_backend(name):
    """Switch the digest backend of this module and ``_paytm`` (tests and benchmarks only)."""
    global _use_openssl
    if name not in ("openssl", "hashlib") or (name == "openssl" and not _ossl_ready):
        raise ValueError(f"backend {name!r} is not available")
    _use_openssl = name == "openssl"
    for cache in _hmac_caches:
        cache.clear()
    _paytm._set_backend(name)


# ------------------------------------------------------------------------------ primitives


cdef int _digest(int kind, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
                 unsigned char* out) except -1:
    """SHA-256/512 of ``p1 || p2`` into ``out``; returns the digest length."""
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


cdef class _HmacKey:
    """HMAC state for one key: an OpenSSL context with the key's pads absorbed, or an ``hmac`` object."""

    cdef eng_hmac_t* ctx
    cdef object stdlib

    def __dealloc__(self):
        if self.ctx != NULL:
            eng_ossl_hmac_free(self.ctx)


# One cache per (digest, key type): a str and a bytes key never meet in the same dict.
cdef list _hmac_caches = [{}, {}, {}, {}]


cdef _HmacKey _hmac_key(int kind, object key):
    """The cached state for an exact ``str``/``bytes`` key; ``None`` for any other key."""
    cdef bint is_bytes = PyBytes_CheckExact(key)
    cdef dict cache
    cdef _HmacKey entry
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
    entry = _HmacKey.__new__(_HmacKey)
    if _use_openssl:
        entry.ctx = eng_ossl_hmac_new(kind, p, n)
    if entry.ctx == NULL:
        entry.stdlib = _stdhmac.new(PyBytes_FromStringAndSize(<const char*>p, n), digestmod=_DIGEST_NAMES[kind])
    if len(cache) >= HMAC_CACHE_MAX:  # a few secrets per merchant; bounded all the same
        cache.clear()
    cache[key] = entry
    return entry


cdef int _hmac(_HmacKey k, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
               unsigned char* out) except -1:
    """HMAC of ``p1 || p2`` under ``k`` into ``out``; returns the digest length."""
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


cdef object _hmac_hex(int kind, object key, object message):
    """Hex HMAC of an exact str/bytes ``message``; ``None`` when the pure twin must decide."""
    cdef unsigned char out[64]
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = data_view(message, &n)
    cdef _HmacKey k
    if p == NULL:
        return None
    k = _hmac_key(kind, key)
    if k is None:
        return None
    return hex_str(out, _hmac(k, p, n, NULL, 0, out))


cdef object _digest_hex(int kind, object data):
    cdef unsigned char out[64]
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = data_view(data, &n)
    if p == NULL:
        return None
    return hex_str(out, _digest(kind, p, n, NULL, 0, out))


cdef int _matches(const unsigned char* expected, Py_ssize_t n, object received) except -2:
    """Constant-time ``expected == received``: 1/0, or -1 when the pure twin must decide."""
    cdef Py_ssize_t m = 0
    cdef const unsigned char* p = data_view(received, &m)
    if p != NULL:
        return eng_ct_equal(expected, n, p, m)
    if isinstance(received, (str, bytes)):
        return -1  # a subclass, or a str that cannot be encoded
    return 0


# ------------------------------------------------------------------------------ generic


def hmac_sha256_hex(key, message):
    """Lower-case hex HMAC-SHA256 of ``message`` under ``key``."""
    r = _hmac_hex(SHA256, key, message)
    return r if r is not None else _py.hmac_sha256_hex(key, message)


def hmac_sha512_hex(key, message):
    """Lower-case hex HMAC-SHA512 of ``message`` under ``key``."""
    r = _hmac_hex(SHA512, key, message)
    return r if r is not None else _py.hmac_sha512_hex(key, message)


def sha256_hex(data):
    """Lower-case hex SHA-256 of ``data``."""
    r = _digest_hex(SHA256, data)
    return r if r is not None else _py.sha256_hex(data)


def sha512_hex(data):
    """Lower-case hex SHA-512 of ``data``."""
    r = _digest_hex(SHA512, data)
    return r if r is not None else _py.sha512_hex(data)


def constant_time_equal(a, b):
    """Compare two secrets (``str`` as UTF-8) in time independent of where they differ."""
    cdef Py_ssize_t na = 0, nb = 0
    cdef const unsigned char* pa = data_view(a, &na)
    cdef const unsigned char* pb = data_view(b, &nb)
    if pa == NULL or pb == NULL:
        return _py.constant_time_equal(a, b)
    return eng_ct_equal(pa, na, pb, nb)


# ------------------------------------------------------------------------------ Razorpay (§2.4-2.5)


cdef int _razorpay_payment(object order_id, object payment_id, object key_secret, unsigned char* out) except -2:
    """HMAC of ``order_id|payment_id`` into ``out``; its length, or -1 when the pure twin must decide."""
    cdef Buf b
    cdef _HmacKey k = _hmac_key(SHA256, key_secret)
    if k is None:
        return -1
    buf_init(&b)
    try:
        if not (buf_text(&b, order_id) and buf_put(&b, b"|", 1) == 0 and buf_text(&b, payment_id)):
            return -1
        return _hmac(k, b.p, b.n, NULL, 0, out)
    finally:
        buf_free(&b)


def razorpay_payment_signature(order_id, payment_id, key_secret):
    """Checkout signature: hex HMAC-SHA256(key_secret, ``order_id|payment_id``) (§2.4)."""
    cdef unsigned char out[64]
    cdef int m = _razorpay_payment(order_id, payment_id, key_secret, out)
    if m < 0:
        return _py.razorpay_payment_signature(order_id, payment_id, key_secret)
    return hex_str(out, m)


def verify_razorpay_payment_signature(order_id, payment_id, signature, key_secret):
    """True when ``signature`` is the checkout signature of ``order_id|payment_id`` (§2.4)."""
    cdef unsigned char out[64]
    cdef char hexed[128]
    cdef int m = _razorpay_payment(order_id, payment_id, key_secret, out)
    cdef int r = -1
    if m > 0:
        eng_hex(hexed, out, m)
        r = _matches(<unsigned char*>hexed, 2 * m, signature)
    if r < 0:
        return _py.verify_razorpay_payment_signature(order_id, payment_id, signature, key_secret)
    return r == 1


def razorpay_webhook_signature(body, webhook_secret):
    """``X-Razorpay-Signature``: hex HMAC-SHA256(webhook_secret, raw body bytes) (§2.5)."""
    r = _hmac_hex(SHA256, webhook_secret, body)
    return r if r is not None else _py.razorpay_webhook_signature(body, webhook_secret)


def verify_razorpay_webhook_signature(body, signature, webhook_secret):
    """True when ``signature`` signs the raw ``body`` (verify before parsing it) (§2.5)."""
    cdef unsigned char out[64]
    cdef char hexed[128]
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = data_view(body, &n)
    cdef _HmacKey k = _hmac_key(SHA256, webhook_secret) if p != NULL else None
    cdef int m, r = -1
    if k is not None:
        m = _hmac(k, p, n, NULL, 0, out)
        eng_hex(hexed, out, m)
        r = _matches(<unsigned char*>hexed, 2 * m, signature)
    if r < 0:
        return _py.verify_razorpay_webhook_signature(body, signature, webhook_secret)
    return r == 1


# ------------------------------------------------------------------------------ engine webhooks (§5)


cdef int _engine_signature(object secret, object timestamp, object body, char* hexed, char* stamp) except -2:
    """Hex signature into ``hexed`` and ``"<timestamp>"`` into ``stamp``; -1 when the pure twin decides."""
    cdef unsigned char out[64]
    cdef int overflow = 0, stamp_len, m
    cdef long long ts
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p
    cdef _HmacKey k
    if not PyLong_CheckExact(timestamp):  # bool and other ints: the pure twin raises or decides
        return -1
    ts = PyLong_AsLongLongAndOverflow(timestamp, &overflow)
    if overflow:
        return -1
    p = data_view(body, &n)
    k = _hmac_key(SHA256, secret) if p != NULL else None
    if k is None:
        return -1
    stamp_len = snprintf(stamp, 24, "%lld.", ts)
    m = _hmac(k, <unsigned char*>stamp, stamp_len, p, n, out)
    eng_hex(hexed, out, m)
    return stamp_len - 1


def engine_webhook_signature(secret, timestamp, body):
    """Signature of an outgoing engine webhook: hex HMAC-SHA256(secret, ``b"<timestamp>." + body``) (§5)."""
    cdef char hexed[128]
    cdef char stamp[24]
    if _engine_signature(secret, timestamp, body, hexed, stamp) < 0:
        return _py.engine_webhook_signature(secret, timestamp, body)
    return PyUnicode_FromStringAndSize(hexed, 64)


def engine_signature_header(secret, timestamp, body):
    """Value of the engine's webhook signature header: ``t=<timestamp>,v1=<hex>``."""
    cdef char hexed[128]
    cdef char stamp[24]
    cdef char header[128]
    cdef int stamp_len = _engine_signature(secret, timestamp, body, hexed, stamp)
    if stamp_len < 0:
        return _py.engine_signature_header(secret, timestamp, body)
    header[0], header[1] = b"t", b"="
    memcpy(header + 2, stamp, stamp_len)
    memcpy(header + 2 + stamp_len, b",v1=", 4)
    memcpy(header + 6 + stamp_len, hexed, 64)
    return PyUnicode_FromStringAndSize(header, 70 + stamp_len)


# ------------------------------------------------------------------------------ PayU (§3.2-3.4)

cdef tuple _PAYU_REQUEST_FIELDS = ("key", "txnid", "amount", "productinfo", "firstname", "email")
cdef tuple _PAYU_UDFS = ("udf1", "udf2", "udf3", "udf4", "udf5")
cdef tuple _PAYU_REVERSE_TAIL = (*reversed(_PAYU_UDFS), *reversed(_PAYU_REQUEST_FIELDS))


cdef bint _put_optional(Buf* b, object value) except -1:
    """``value or ""`` appended: None and "" add nothing; False for a value only the pure twin handles."""
    if value is None:
        return True
    return buf_text(b, value)


cdef object _sha512_of(Buf* b):
    cdef unsigned char out[64]
    return hex_str(out, _digest(SHA512, b.p, b.n, NULL, 0, out))


cdef object _payu_request(object params, object salt, Buf* b):
    cdef dict d
    cdef Py_ssize_t start
    if type(params) is not dict:
        return None
    d = <dict>params
    for name in _PAYU_REQUEST_FIELDS:
        start = b.n
        if not buf_text(b, d.get(name)) or b.n == start:  # absent, empty or not str: pure decides
            return None
        buf_put(b, b"|", 1)
    for name in _PAYU_UDFS:
        if not _put_optional(b, d.get(name)):
            return None
        buf_put(b, b"|", 1)
    buf_put(b, b"|||||", 5)
    if not buf_text(b, salt):
        return None
    return _sha512_of(b)


def payu_request_hash(params, salt):
    """``sha512(key|txnid|amount|productinfo|firstname|email|udf1|…|udf5||||||SALT)`` (§3.2)."""
    cdef Buf b
    buf_init(&b)
    try:
        r = _payu_request(params, salt, &b)
    finally:
        buf_free(&b)
    return r if r is not None else _py.payu_request_hash(params, salt)


cdef object _payu_reverse(object params, object salt, object additional_charges, Buf* b):
    cdef dict d
    if type(params) is not dict:
        return None
    d = <dict>params
    if additional_charges is not None and not (PyUnicode_CheckExact(additional_charges) and
                                               (not additional_charges or buf_text(b, additional_charges))):
        return None
    if b.n:
        buf_put(b, b"|", 1)
    if not (buf_text(b, salt) and buf_put(b, b"|", 1) == 0 and _put_optional(b, d.get("status"))):
        return None
    buf_put(b, b"|||||", 5)
    for name in _PAYU_REVERSE_TAIL:
        buf_put(b, b"|", 1)
        if not _put_optional(b, d.get(name)):
            return None
    return _sha512_of(b)


def payu_reverse_hash(params, salt, additional_charges=None):
    """``sha512([additionalCharges|]SALT|status||||||udf5|…|udf1|email|firstname|productinfo|amount|txnid|key)``."""
    cdef Buf b
    buf_init(&b)
    try:
        r = _payu_reverse(params, salt, additional_charges, &b)
    finally:
        buf_free(&b)
    return r if r is not None else _py.payu_reverse_hash(params, salt, additional_charges)


def payu_command_hash(key, command, var1, salt):
    """``sha512(key|command|var1|SALT)``: only ``var1`` is hashed (§3.4)."""
    cdef Buf b
    buf_init(&b)
    try:
        if (buf_text(&b, key) and buf_put(&b, b"|", 1) == 0 and buf_text(&b, command)
                and buf_put(&b, b"|", 1) == 0 and buf_text(&b, var1) and buf_put(&b, b"|", 1) == 0
                and buf_text(&b, salt)):
            return _sha512_of(&b)
    finally:
        buf_free(&b)
    return _py.payu_command_hash(key, command, var1, salt)
