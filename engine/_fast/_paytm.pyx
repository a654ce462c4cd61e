# cython: language_level=3, boundscheck=False, wraparound=False
"""PaytmChecksum (§1.2 of ``reference/gateways.md``), compiled; re-exported by ``engine._fast.signing``.

The twin of ``paytm_generate_checksum`` / ``paytm_verify_checksum`` in ``engine._pyref.signing``
(the specification). The canonical string is assembled in a C buffer, hashed with SHA-256 and
sealed with AES-CBC (fixed IV, PKCS#7), all by OpenSSL through pre-fetched algorithms and one
reused cipher context, and base64-encoded by OpenSSL; the salt comes from OpenSSL's CSPRNG.

As in ``signing``: an argument of an unusual shape (not an exact ``dict`` of ``str`` keys and
``str``/``None`` values, or the body ``str``; a key that is not 16/24/32 bytes; a bad salt) is
handed to the pure function, so results and exceptions are the specification's. Without OpenSSL
(not built with it, or ``_set_backend("hashlib")``) both functions simply call the pure ones,
which use ``cryptography``'s AES.
"""

from engine._fast._native cimport (
    Buf, ENGINE_OPENSSL, PyUnicode_CheckExact, PyUnicode_DATA, buf_free, buf_init, buf_put, buf_text, eng_ct_equal, eng_hex,
    eng_ossl_aes_cbc, eng_ossl_b64encode, eng_ossl_digest, eng_ossl_init, eng_ossl_random, text_view,
)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeUTF8, PyUnicode_FromStringAndSize
from libc.string cimport memcpy, memset

import base64 as _base64
import binascii as _binascii

from engine._pyref import signing as _py

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)

cdef bint _ossl_ready = ENGINE_OPENSSL and eng_ossl_init()
cdef bint _use_openssl = _ossl_ready
cdef const unsigned char* _IV = b"@@@@&&&&####$$$$"
# The pure twin's alphabet (string.ascii_letters + string.digits): 62 symbols.
cdef const unsigned char* _SALT_ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
cdef object _b64decode = _base64.b64decode
cdef tuple _B64_ERRORS = (_binascii.Error, ValueError)
cdef enum:
    SALT_LEN = 4
    PLAIN_LEN = 68    # 64 hex digits of SHA-256 + 4 salt characters
    SEALED_LEN = 80   # PLAIN_LEN padded to whole 16-byte blocks (PKCS#7 always pads)
    CHECKSUM_LEN = 108


def _set_backend(name):
    """Use OpenSSL (``"openssl"``) or the pure functions (``"hashlib"``); set by ``signing._set_backend``."""
    global _use_openssl
    _use_openssl = name == "openssl" and _ossl_ready


cdef bint _is_null(object value) except -1:
    """The SDK rule ``value.lower() == "null"``, in C for ASCII (``| 0x20`` folds only A-Z onto a-z here)."""
    cdef const unsigned char* p
    if not PyUnicode_IS_ASCII(value):
        return value.lower() == "null"
    if PyUnicode_GET_LENGTH(value) != 4:
        return False
    p = <const unsigned char*>PyUnicode_DATA(value)
    return (p[0] | 0x20) == c"n" and (p[1] | 0x20) == c"u" and (p[2] | 0x20) == c"l" and (p[3] | 0x20) == c"l"


cdef bint _canonical(object params, Buf* b, bint skip_checksum) except -1:
    """Append the canonical string (step 1); False when ``params`` is not of the common shape."""
    cdef dict d
    cdef list names
    cdef bint first = True
    if PyUnicode_CheckExact(params):
        return buf_text(b, params)
    if type(params) is not dict:
        return False
    d = <dict>params
    names = list(d)
    for name in names:
        if not PyUnicode_CheckExact(name):
            return False
    names.sort()  # code-point order, as sorted() in the SDK
    for name in names:
        if skip_checksum and name == "CHECKSUMHASH":
            continue
        if not first:
            buf_put(b, b"|", 1)
        first = False
        value = d[name]
        if value is None:
            continue
        if not PyUnicode_CheckExact(value):
            return False
        if not _is_null(value) and not buf_text(b, value):
            return False
    return True


cdef int _plaintext(Buf* b, const unsigned char* salt, Py_ssize_t salt_len, unsigned char* out) except -1:
    """``hex(sha256(canonical|salt)) + salt`` into ``out`` (``b`` holds the canonical string)."""
    cdef unsigned char digest[64]
    buf_put(b, b"|", 1)
    buf_put(b, salt, salt_len)
    if eng_ossl_digest(0, b.p, b.n, NULL, 0, digest) != 32:
        raise RuntimeError("OpenSSL digest failed")
    eng_hex(<char*>out, digest, 32)
    memcpy(out + 64, salt, salt_len)
    return 64 + salt_len


cdef object _generate(object params, object key, object salt, Buf* b):
    cdef unsigned char salt_buf[SALT_LEN]
    cdef unsigned char rnd[32]
    cdef unsigned char plain[SEALED_LEN]
    cdef unsigned char sealed[SEALED_LEN]
    cdef unsigned char encoded[CHECKSUM_LEN + 1]
    cdef const unsigned char* p
    cdef const unsigned char* key_p
    cdef Py_ssize_t n = 0, key_len = 0
    cdef int i, count = 0
    if salt is None:
        while count < SALT_LEN:  # rejection sampling: bytes below 248 = 4 * 62 map uniformly
            if eng_ossl_random(rnd, 32) < 0:
                raise RuntimeError("OpenSSL RAND_bytes failed")
            for i in range(32):
                if rnd[i] < 248 and count < SALT_LEN:
                    salt_buf[count] = _SALT_ALPHABET[rnd[i] % 62]
                    count += 1
    else:
        p = text_view(salt, &n)
        if p == NULL or n != SALT_LEN or not PyUnicode_IS_ASCII(salt):
            return None
        memcpy(salt_buf, p, SALT_LEN)
    key_p = text_view(key, &key_len)
    if key_p == NULL or key_len not in (16, 24, 32) or not _canonical(params, b, False):
        return None
    _plaintext(b, salt_buf, SALT_LEN, plain)
    memset(plain + PLAIN_LEN, SEALED_LEN - PLAIN_LEN, SEALED_LEN - PLAIN_LEN)
    if eng_ossl_aes_cbc(1, key_p, key_len, _IV, plain, SEALED_LEN, sealed) != SEALED_LEN:
        raise RuntimeError("OpenSSL AES failed")
    eng_ossl_b64encode(encoded, sealed, SEALED_LEN)
    return PyUnicode_FromStringAndSize(<char*>encoded, CHECKSUM_LEN)


def paytm_generate_checksum(params, key, salt=None):
    """PaytmChecksum ``generateSignature``: the 108-char ``CHECKSUMHASH`` / ``head.signature`` (§1.2)."""
    cdef Buf b
    if not _use_openssl:
        return _py.paytm_generate_checksum(params, key, salt)
    buf_init(&b)
    try:
        r = _generate(params, key, salt, &b)
    finally:
        buf_free(&b)
    return r if r is not None else _py.paytm_generate_checksum(params, key, salt)


cdef int _verify(object params, object key, object checksum, Buf* b) except -2:
    """1/0 for a checksum that does/does not sign ``params``; -1 when the pure twin must decide."""
    cdef Py_ssize_t key_len = 0, n, pad, i
    cdef const unsigned char* key_p = text_view(key, &key_len)
    cdef unsigned char expected[64 + 4 * SALT_LEN]
    cdef const unsigned char* data
    cdef Py_ssize_t salt_n = 0
    cdef const unsigned char* salt_p
    cdef int m
    if key_p == NULL or key_len not in (16, 24, 32) or not PyUnicode_CheckExact(checksum):
        return -1
    if not _canonical(params, b, True):
        return -1
    try:
        sealed = _b64decode(checksum, validate=True)
    except _B64_ERRORS:
        return 0
    n = PyBytes_GET_SIZE(sealed)
    if n == 0 or n % 16:
        return 0
    if n > 0x3FFFFFFF:  # beyond an int for EVP; nothing real is that long
        return -1
    opened = PyBytes_FromStringAndSize(NULL, n)
    if eng_ossl_aes_cbc(0, key_p, key_len, _IV, <unsigned char*>PyBytes_AS_STRING(sealed), <int>n,
                        <unsigned char*>PyBytes_AS_STRING(opened)) != n:
        raise RuntimeError("OpenSSL AES failed")
    data = <const unsigned char*>PyBytes_AS_STRING(opened)
    pad = data[n - 1]
    if not 1 <= pad <= 16:
        return 0
    for i in range(n - pad, n):
        if data[i] != pad:
            return 0
    try:
        plaintext = PyUnicode_DecodeUTF8(<char*>data, n - pad, NULL)
    except UnicodeDecodeError:
        return 0
    if len(plaintext) <= SALT_LEN:
        return 0
    salt = plaintext[-SALT_LEN:]
    salt_p = text_view(salt, &salt_n)
    if salt_p == NULL:  # unreachable: decoded UTF-8 always re-encodes
        return -1
    m = _plaintext(b, salt_p, salt_n, expected)
    return eng_ct_equal(expected, m, data, n - pad)


def paytm_verify_checksum(params, key, checksum):
    """PaytmChecksum ``verifySignature``: True when ``checksum`` signs ``params`` under ``key`` (§1.2)."""
    cdef Buf b
    cdef int r
    if not _use_openssl:
        return _py.paytm_verify_checksum(params, key, checksum)
    buf_init(&b)
    try:
        r = _verify(params, key, checksum, &b)
    finally:
        buf_free(&b)
    if r < 0:
        return _py.paytm_verify_checksum(params, key, checksum)
    return r == 1
