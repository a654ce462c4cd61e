# cython: language_level=3, boundscheck=False, wraparound=False
"""PaytmChecksum (§1.2 of ``reference/gateways.md``), compiled; re-exported by ``engine._fast.signing``.

The twin of ``paytm_generate_checksum`` / ``paytm_verify_checksum`` in ``engine._pyref.signing``
(the specification). The canonical string is assembled in a C buffer, hashed with SHA-256 and
sealed with AES-CBC (fixed IV, PKCS#7) through a per-key cipher context (the key schedule is done
once per merchant key), and base64-encoded, all by OpenSSL; the salt comes from OpenSSL's CSPRNG.

As in ``signing``: an argument of an unusual shape (not an exact ``dict`` of ``str`` keys and
``str``/``None`` values, or the body ``str``; a key that is not 16/24/32 bytes; a bad salt) is
handed to the pure function, so results and exceptions are the specification's. Without OpenSSL
(``OPENSSL_READY`` is False) ``signing`` re-exports the pure functions, which use
``cryptography``'s AES, since these would only add a call in front of them; after
``_set_backend("hashlib")`` (tests, benchmarks) these delegate to them.
"""

from engine._fast._native cimport (
    EVP_CIPHER_CTX, Buf, ENGINE_OPENSSL, PyUnicode_CheckExact, PyUnicode_DATA, buf_free, buf_init, buf_put, buf_text,
    eng_ct_equal, eng_hex, eng_ossl_aes_free, eng_ossl_aes_new, eng_ossl_aes_run, eng_ossl_b64encode, eng_ossl_digest,
    eng_ossl_init, text_view,
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

cdef extern from *:
    """
    #ifdef ENGINE_HAVE_OPENSSL
    #include <openssl/crypto.h>
    #include <openssl/err.h>
    #include <openssl/rand.h>
    #ifndef _WIN32
    #include <pthread.h>
    #endif
    /* Salt bytes come from a pool refilled by RAND_bytes, which costs about the same (~0.7 us) for
       256 bytes as for 4. Used bytes are wiped, and a forked child drops the pool: parent and child
       must never hand out the same bytes. */
    static unsigned char eng_pool[256];
    static int eng_pool_left = 0;
    static void eng_pool_drop(void) { OPENSSL_cleanse(eng_pool, sizeof eng_pool); eng_pool_left = 0; }
    static int eng_pool_init(void) {
    #ifndef _WIN32
        return pthread_atfork(NULL, NULL, eng_pool_drop) == 0;
    #else
        return 1;
    #endif
    }
    static int eng_random_byte(void) {
        unsigned char b;
        if (eng_pool_left == 0) {
            if (RAND_bytes(eng_pool, (int)sizeof eng_pool) != 1) { ERR_clear_error(); return -1; }
            eng_pool_left = (int)sizeof eng_pool;
        }
        b = eng_pool[--eng_pool_left];
        eng_pool[eng_pool_left] = 0;
        return b;
    }
    #else
    static int eng_pool_init(void) { return 1; }
    static int eng_random_byte(void) { return -1; }
    #endif
    """
    int eng_pool_init()
    int eng_random_byte()

cdef bint _ossl_ready = ENGINE_OPENSSL and eng_ossl_init() and eng_pool_init()
cdef bint _use_openssl = _ossl_ready
OPENSSL_READY = _ossl_ready
"""False without OpenSSL: ``signing`` then re-exports the pure functions instead of these."""
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
    _ciphers.clear()


cdef class _Cipher:
    """A merchant key's AES-CBC contexts (key schedule done once), one per direction, made on demand."""

    cdef EVP_CIPHER_CTX* ctx[2]  # [decrypt, encrypt]
    cdef bytes key

    def __dealloc__(self):
        if self.ctx[0] != NULL:
            eng_ossl_aes_free(self.ctx[0])
        if self.ctx[1] != NULL:
            eng_ossl_aes_free(self.ctx[1])

    cdef int run(self, int enc, const unsigned char* data, int n, unsigned char* out) except -1:
        """AES-CBC of ``n`` bytes (whole blocks) with the fixed IV; raises if OpenSSL fails."""
        if self.ctx[enc] == NULL:
            self.ctx[enc] = eng_ossl_aes_new(enc, <const unsigned char*>self.key, len(self.key))
            if self.ctx[enc] == NULL:
                raise RuntimeError("OpenSSL AES setup failed")
        if eng_ossl_aes_run(self.ctx[enc], enc, _IV, data, n, out) != n:
            raise RuntimeError("OpenSSL AES failed")
        return n


cdef dict _ciphers = {}


cdef _Cipher _cipher(object key):
    """The cached contexts of an exact ``str`` key of 16, 24 or 32 UTF-8 bytes; ``None`` otherwise."""
    cdef _Cipher entry
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p
    if not PyUnicode_CheckExact(key):
        return None
    entry = _ciphers.get(key)
    if entry is not None:
        return entry
    p = text_view(key, &n)
    if p == NULL or n not in (16, 24, 32):
        return None
    entry = _Cipher.__new__(_Cipher)
    entry.key = PyBytes_FromStringAndSize(<const char*>p, n)
    if len(_ciphers) >= 64:  # one key per merchant account; bounded all the same
        _ciphers.clear()
    _ciphers[key] = entry
    return entry


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
    cdef unsigned char plain[SEALED_LEN]
    cdef unsigned char sealed[SEALED_LEN]
    cdef unsigned char encoded[CHECKSUM_LEN + 1]
    cdef const unsigned char* p
    cdef Py_ssize_t n = 0
    cdef int byte, count = 0
    cdef _Cipher cipher
    if salt is None:
        while count < SALT_LEN:  # rejection sampling: bytes below 248 = 4 * 62 map uniformly
            byte = eng_random_byte()
            if byte < 0:
                raise RuntimeError("OpenSSL RAND_bytes failed")
            if byte < 248:
                salt_buf[count] = _SALT_ALPHABET[byte % 62]
                count += 1
    else:
        p = text_view(salt, &n)
        if p == NULL or n != SALT_LEN or not PyUnicode_IS_ASCII(salt):
            return None
        memcpy(salt_buf, p, SALT_LEN)
    cipher = _cipher(key)
    if cipher is None or not _canonical(params, b, False):
        return None
    _plaintext(b, salt_buf, SALT_LEN, plain)
    memset(plain + PLAIN_LEN, SEALED_LEN - PLAIN_LEN, SEALED_LEN - PLAIN_LEN)
    cipher.run(1, plain, SEALED_LEN, sealed)
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
    cdef Py_ssize_t n, pad, i
    cdef _Cipher cipher = _cipher(key)
    cdef unsigned char expected[64 + 4 * SALT_LEN]
    cdef const unsigned char* data
    cdef Py_ssize_t salt_n = 0
    cdef const unsigned char* salt_p
    cdef int m
    if cipher is None or not PyUnicode_CheckExact(checksum):
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
    cipher.run(0, <unsigned char*>PyBytes_AS_STRING(sealed), <int>n, <unsigned char*>PyBytes_AS_STRING(opened))
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
