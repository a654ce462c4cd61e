# cython: language_level=3
"""C helpers shared by the compiled signing kernels (``cimport``-ed, never a module of its own).

Two groups, both plain C emitted verbatim into each module that cimports this file:

* OpenSSL 3 glue (``eng_ossl_*``): pre-fetched ``EVP_MD`` / ``EVP_MAC`` / ``EVP_CIPHER`` objects,
  one reusable digest context, per-key HMAC and AES-CBC contexts (the key work done once). Compiled only when ``setup.py``
  found OpenSSL 3 headers and libcrypto (it then defines ``ENGINE_HAVE_OPENSSL``); otherwise
  the same names are stubs that report failure and ``ENGINE_OPENSSL`` is 0, and the kernels use
  ``hashlib`` / ``hmac`` (themselves OpenSSL-backed) instead. Nothing here implements a hash or a
  cipher: every primitive is OpenSSL's.
* Portable helpers: lower-case hex, ``hmac.compare_digest``'s constant-time comparison loop.

The contexts are module globals, used only while the GIL is held (the kernels never release it),
so calls cannot interleave; the modules do not declare themselves free-threading compatible.
"""

cdef extern from *:
    """
    #include <string.h>
    #ifdef ENGINE_HAVE_OPENSSL
    #include <openssl/opensslv.h>
    #if OPENSSL_VERSION_NUMBER < 0x30000000L
    #error "engine._fast needs OpenSSL 3 (setup.py probes for it and builds without it otherwise)"
    #endif
    #include <openssl/core_names.h>
    #include <openssl/err.h>
    #include <openssl/evp.h>
    #include <openssl/params.h>
    #include <openssl/rand.h>
    #define ENGINE_OPENSSL 1
    static EVP_MD *eng_md[2];          /* 0: SHA-256, 1: SHA-512 */
    static EVP_MAC *eng_mac;
    static EVP_MD_CTX *eng_mdctx;
    static EVP_CIPHER *eng_aes[3];     /* AES-128/192/256-CBC */
    typedef EVP_MAC_CTX eng_hmac_t;

    static inline int eng_ossl_init(void) {
        eng_md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
        eng_md[1] = EVP_MD_fetch(NULL, "SHA512", NULL);
        eng_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        eng_aes[0] = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
        eng_aes[1] = EVP_CIPHER_fetch(NULL, "AES-192-CBC", NULL);
        eng_aes[2] = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
        eng_mdctx = EVP_MD_CTX_new();
        return eng_md[0] && eng_md[1] && eng_mac && eng_aes[0] && eng_aes[1] && eng_aes[2] && eng_mdctx;
    }
    /* Digest of p1 || p2 (n2 may be 0) into out (>= 64 bytes); returns its length, or -1. */
    static inline int eng_ossl_digest(int kind, const unsigned char *p1, size_t n1, const unsigned char *p2, size_t n2,
                               unsigned char *out) {
        unsigned int len = 0;
        if (!EVP_DigestInit_ex(eng_mdctx, eng_md[kind], NULL) || !EVP_DigestUpdate(eng_mdctx, p1, n1)
            || (n2 && !EVP_DigestUpdate(eng_mdctx, p2, n2))
            || !EVP_DigestFinal_ex(eng_mdctx, out, &len)) { ERR_clear_error(); return -1; }
        return (int)len;
    }
    /* An HMAC context holding the key's inner and outer pads, ready for eng_ossl_hmac. */
    static inline eng_hmac_t *eng_ossl_hmac_new(int kind, const unsigned char *key, size_t n) {
        OSSL_PARAM params[2];
        static const unsigned char empty[1] = {0};
        EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(eng_mac);
        if (ctx == NULL) return NULL;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kind ? "SHA512" : "SHA256", 0);
        params[1] = OSSL_PARAM_construct_end();
        if (!EVP_MAC_init(ctx, n ? key : empty, n, params)) { EVP_MAC_CTX_free(ctx); ERR_clear_error(); return NULL; }
        return ctx;
    }
    static inline void eng_ossl_hmac_free(eng_hmac_t *ctx) { EVP_MAC_CTX_free(ctx); }
    /* HMAC of p1 || p2 under the context's key; re-initialises it first (same key), so it is reusable. */
    static inline int eng_ossl_hmac(eng_hmac_t *ctx, const unsigned char *p1, size_t n1, const unsigned char *p2, size_t n2,
                             unsigned char *out) {
        size_t len = 0;
        if (!EVP_MAC_init(ctx, NULL, 0, NULL) || !EVP_MAC_update(ctx, p1, n1) || (n2 && !EVP_MAC_update(ctx, p2, n2))
            || !EVP_MAC_final(ctx, out, &len, 64)) { ERR_clear_error(); return -1; }
        return (int)len;
    }
    /* An AES-CBC context (no padding: the caller pads) keyed for one direction; the key length
       picks AES-128/192/256. Reused with eng_ossl_aes_run, which only resets the IV. */
    static inline EVP_CIPHER_CTX *eng_ossl_aes_new(int enc, const unsigned char *key, size_t keylen) {
        EVP_CIPHER *c = keylen == 16 ? eng_aes[0] : keylen == 24 ? eng_aes[1] : keylen == 32 ? eng_aes[2] : NULL;
        EVP_CIPHER_CTX *ctx = c ? EVP_CIPHER_CTX_new() : NULL;
        if (ctx == NULL) return NULL;
        if (!EVP_CipherInit_ex2(ctx, c, key, NULL, enc, NULL) || !EVP_CIPHER_CTX_set_padding(ctx, 0)) {
            EVP_CIPHER_CTX_free(ctx);
            ERR_clear_error();
            return NULL;
        }
        return ctx;
    }
    static inline void eng_ossl_aes_free(EVP_CIPHER_CTX *ctx) { EVP_CIPHER_CTX_free(ctx); }
    static inline int eng_ossl_aes_run(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *iv,
                                       const unsigned char *in, int n, unsigned char *out) {
        int l1 = 0, l2 = 0;
        if (!EVP_CipherInit_ex2(ctx, NULL, NULL, iv, enc, NULL) || !EVP_CipherUpdate(ctx, out, &l1, in, n)
            || !EVP_CipherFinal_ex(ctx, out + l1, &l2)) {
            ERR_clear_error();
            return -1;
        }
        return l1 + l2;
    }
    static inline int eng_ossl_b64encode(unsigned char *out, const unsigned char *in, int n) {
        return EVP_EncodeBlock(out, in, n);
    }
    #else
    #define ENGINE_OPENSSL 0
    typedef struct eng_hmac_s eng_hmac_t;
    static inline int eng_ossl_init(void) { return 0; }
    static inline int eng_ossl_digest(int k, const unsigned char *p1, size_t n1, const unsigned char *p2, size_t n2,
                               unsigned char *o) { return -1; }
    static inline eng_hmac_t *eng_ossl_hmac_new(int k, const unsigned char *key, size_t n) { return NULL; }
    static inline void eng_ossl_hmac_free(eng_hmac_t *ctx) { }
    static inline int eng_ossl_hmac(eng_hmac_t *c, const unsigned char *p1, size_t n1, const unsigned char *p2, size_t n2,
                             unsigned char *o) { return -1; }
    typedef struct eng_aes_s EVP_CIPHER_CTX;
    static inline EVP_CIPHER_CTX *eng_ossl_aes_new(int enc, const unsigned char *key, size_t keylen) { return NULL; }
    static inline void eng_ossl_aes_free(EVP_CIPHER_CTX *ctx) { }
    static inline int eng_ossl_aes_run(EVP_CIPHER_CTX *ctx, int enc, const unsigned char *iv,
                                       const unsigned char *in, int n, unsigned char *out) { return -1; }
    static inline int eng_ossl_b64encode(unsigned char *out, const unsigned char *in, int n) { return -1; }
    #endif

    static inline void eng_hex(char *out, const unsigned char *in, Py_ssize_t n) {
        static const char digits[] = "0123456789abcdef";
        Py_ssize_t i;
        for (i = 0; i < n; i++) { out[2 * i] = digits[in[i] >> 4]; out[2 * i + 1] = digits[in[i] & 15]; }
    }
    /* CPython's _tscmp (hmac.compare_digest): time depends on len_b only, never on the contents. */
    static inline int eng_ct_equal(const unsigned char *a, Py_ssize_t len_a, const unsigned char *b, Py_ssize_t len_b) {
        const volatile unsigned char *left;
        const volatile unsigned char *right = b;
        volatile Py_ssize_t length = len_b;
        Py_ssize_t i;
        unsigned char result;
        if (len_a == length) { left = a; result = 0; } else { left = b; result = 1; }
        for (i = 0; i < length; i++) result |= *left++ ^ *right++;
        return result == 0;
    }
    """
    int ENGINE_OPENSSL
    ctypedef struct eng_hmac_t
    int eng_ossl_init()
    int eng_ossl_digest(int kind, const unsigned char* p1, size_t n1, const unsigned char* p2, size_t n2,
                        unsigned char* out)
    eng_hmac_t* eng_ossl_hmac_new(int kind, const unsigned char* key, size_t n)
    void eng_ossl_hmac_free(eng_hmac_t* ctx)
    int eng_ossl_hmac(eng_hmac_t* ctx, const unsigned char* p1, size_t n1, const unsigned char* p2, size_t n2,
                      unsigned char* out)
    ctypedef struct EVP_CIPHER_CTX
    EVP_CIPHER_CTX* eng_ossl_aes_new(int enc, const unsigned char* key, size_t keylen)
    void eng_ossl_aes_free(EVP_CIPHER_CTX* ctx)
    int eng_ossl_aes_run(EVP_CIPHER_CTX* ctx, int enc, const unsigned char* iv, const unsigned char* inp, int n,
                         unsigned char* out)
    int eng_ossl_b64encode(unsigned char* out, const unsigned char* inp, int n)
    void eng_hex(char* out, const unsigned char* inp, Py_ssize_t n)
    bint eng_ct_equal(const unsigned char* a, Py_ssize_t len_a, const unsigned char* b, Py_ssize_t len_b)


from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcpy


cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size)  # NULL + error if not encodable
    bint PyUnicode_CheckExact(object o)
    bint PyBytes_CheckExact(object o)
    char* PyBytes_AS_STRING(object o)
    Py_ssize_t PyBytes_GET_SIZE(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void* PyUnicode_DATA(object o)
    void PyErr_Clear()


cdef enum:
    BUF_LOCAL = 1024


cdef struct Buf:
    # A byte builder: on the stack up to BUF_LOCAL bytes, then on the heap. Use through a pointer
    # to a local only (``p`` may point into the struct itself), and always ``buf_free`` it.
    unsigned char* p
    Py_ssize_t n
    Py_ssize_t cap
    unsigned char local[BUF_LOCAL]


cdef inline void buf_init(Buf* b) noexcept:
    b.p = b.local
    b.n = 0
    b.cap = BUF_LOCAL


cdef inline void buf_free(Buf* b) noexcept:
    if b.p != b.local:
        PyMem_Free(b.p)
    buf_init(b)


cdef inline int buf_put(Buf* b, const void* data, Py_ssize_t n) except -1:
    cdef unsigned char* grown
    cdef Py_ssize_t cap
    if b.n + n > b.cap:
        cap = 2 * (b.n + n)
        grown = <unsigned char*>PyMem_Malloc(cap)
        if grown == NULL:
            raise MemoryError()
        memcpy(grown, b.p, b.n)
        if b.p != b.local:
            PyMem_Free(b.p)
        b.p = grown
        b.cap = cap
    memcpy(b.p + b.n, data, n)
    b.n += n
    return 0


cdef inline const unsigned char* text_view(object o, Py_ssize_t* n) noexcept:
    """UTF-8 bytes of an exact ``str`` (cached on it; no copy for ASCII); NULL, no error set, otherwise."""
    cdef const char* p
    if not PyUnicode_CheckExact(o):
        return NULL
    p = PyUnicode_AsUTF8AndSize(o, n)
    if p == NULL:  # lone surrogates: the pure twin raises the UnicodeEncodeError
        PyErr_Clear()
    return <const unsigned char*>p


cdef inline const unsigned char* data_view(object o, Py_ssize_t* n) noexcept:
    """Like :func:`text_view`, and also the buffer of an exact ``bytes``."""
    if PyBytes_CheckExact(o):
        n[0] = PyBytes_GET_SIZE(o)
        return <const unsigned char*>PyBytes_AS_STRING(o)
    return text_view(o, n)


cdef inline bint buf_text(Buf* b, object o) except -1:
    """Append the UTF-8 of an exact ``str``; False (nothing appended) for anything else."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = text_view(o, &n)
    if p == NULL:
        return False
    buf_put(b, p, n)
    return True


cdef inline str hex_str(const unsigned char* digest, Py_ssize_t n):
    """Lower-case hex of ``digest`` as a new ASCII ``str``."""
    cdef object s = PyUnicode_New(2 * n, 127)
    eng_hex(<char*>PyUnicode_DATA(s), digest, n)
    return <str>s
