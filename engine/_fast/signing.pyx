# cython: language_level=3, boundscheck=False, wraparound=False
"""Digests, HMACs and gateway signatures, compiled: the twin of ``engine._pyref.signing``.

Same functions, arguments, results and exceptions as the pure module, which stays the
specification (algorithms and ``reference/gateways.md`` sections are documented there). This
module holds the generic digests, Razorpay and the engine's own webhook signatures, and re-exports
the PayU hashes (``_payu``) and PaytmChecksum (``_paytm``; the pure functions when built without
OpenSSL, as they are then no slower), so the facade swaps one module. What is
compiled is the plumbing around the primitives of ``_digest``: the signed string is assembled in a
C buffer (never as Python ``str`` pieces), hashed by OpenSSL 3 (HMAC through a per-key context
that already holds the key's pads) and hex-encoded straight into a new ``str``.

Fast path and fallbacks, so behaviour is identical by construction:

* Only exact ``str``/``bytes``/``dict``/``int`` arguments of the usual shape take the compiled
  path; anything else (a subclass, ``None`` where text is expected, a missing PayU field, a lone
  surrogate, a bad timestamp) is handed to the ``engine._pyref.signing`` function, which returns
  or raises exactly what the specification says.
* Built without OpenSSL headers (``OPENSSL_BUILT`` is False; see ``setup.py``), or if OpenSSL
  fails to initialise, the same code hashes through ``hashlib`` and cached ``hmac`` objects
  instead. :func:`backend` says which; ``_set_backend`` switches it for tests and benchmarks.

``verify_*`` and :func:`constant_time_equal` compare in constant time (CPython's own
``compare_digest`` loop, ``eng_ct_equal``) without building intermediate ``bytes``.
"""

from libc.stdio cimport snprintf
from libc.string cimport memcpy

from engine._fast._digest cimport SHA256, SHA512, HmacKey, digest, hmac, hmac_key, matches
from engine._fast._native cimport Buf, buf_free, buf_init, buf_put, buf_text, data_view, eng_ct_equal, eng_hex, hex_str
from cpython.long cimport PyLong_CheckExact
from cpython.unicode cimport PyUnicode_FromStringAndSize

from engine._fast import _digest, _paytm
from engine._fast._digest import OPENSSL_BUILT
from engine._fast._payu import payu_command_hash, payu_request_hash, payu_reverse_hash
from engine._pyref import signing as _py

if _paytm.OPENSSL_READY:
    from engine._fast._paytm import paytm_generate_checksum, paytm_verify_checksum
else:  # AES needs OpenSSL here; without it the compiled functions would only add a call to the pure ones
    paytm_generate_checksum = _py.paytm_generate_checksum
    paytm_verify_checksum = _py.paytm_verify_checksum
# Once per Paytm webhook, never on a hot path: the specification's function is this kernel's too.
paytm_checksum_salt = _py.paytm_checksum_salt

cdef extern from "Python.h":
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

__all__ = [
    "OPENSSL_BUILT", "backend", "constant_time_equal", "engine_signature_header", "engine_webhook_signature",
    "hmac_sha256_hex", "hmac_sha512_hex", "paytm_checksum_salt", "paytm_generate_checksum", "paytm_verify_checksum",
    "payu_command_hash", "payu_request_hash", "payu_reverse_hash", "razorpay_payment_signature",
    "razorpay_webhook_signature", "sha256_hex", "sha512_hex", "verify_razorpay_payment_signature",
    "verify_razorpay_webhook_signature",
]


def backend():
    """``"openssl"`` (libcrypto called directly) or ``"hashlib"`` (the fallback)."""
    return _digest.backend()


def _set_backend(name):
    """Switch the digest backend of every signing kernel (tests and benchmarks only)."""
    _digest.set_backend(name)
    _paytm._set_backend(name)


# ------------------------------------------------------------------------------ helpers


cdef object _hmac_hex(int kind, object key, object message):
    """Hex HMAC of an exact str/bytes ``message``; ``None`` when the pure twin must decide."""
    cdef unsigned char out[64]
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = data_view(message, &n)
    cdef HmacKey k
    if p == NULL:
        return None
    k = hmac_key(kind, key)
    if k is None:
        return None
    return hex_str(out, hmac(k, p, n, NULL, 0, out))


cdef object _digest_hex(int kind, object data):
    cdef unsigned char out[64]
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = data_view(data, &n)
    if p == NULL:
        return None
    return hex_str(out, digest(kind, p, n, NULL, 0, out))


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
    cdef HmacKey k = hmac_key(SHA256, key_secret)
    if k is None:
        return -1
    buf_init(&b)
    try:
        if not (buf_text(&b, order_id) and buf_put(&b, b"|", 1) == 0 and buf_text(&b, payment_id)):
            return -1
        return hmac(k, b.p, b.n, NULL, 0, out)
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
        r = matches(<unsigned char*>hexed, 2 * m, signature)
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
    cdef HmacKey k = hmac_key(SHA256, webhook_secret) if p != NULL else None
    cdef int m, r = -1
    if k is not None:
        m = hmac(k, p, n, NULL, 0, out)
        eng_hex(hexed, out, m)
        r = matches(<unsigned char*>hexed, 2 * m, signature)
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
    cdef HmacKey k
    if not PyLong_CheckExact(timestamp):  # bool and other ints: the pure twin raises or decides
        return -1
    ts = PyLong_AsLongLongAndOverflow(timestamp, &overflow)
    if overflow:
        return -1
    p = data_view(body, &n)
    k = hmac_key(SHA256, secret) if p != NULL else None
    if k is None:
        return -1
    stamp_len = snprintf(stamp, 24, "%lld.", ts)
    m = hmac(k, <unsigned char*>stamp, stamp_len, p, n, out)
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
