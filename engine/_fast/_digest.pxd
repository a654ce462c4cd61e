# cython: language_level=3
"""C-level interface of ``engine._fast._digest`` (``cimport``-ed by the signing kernels)."""

from engine._fast._native cimport eng_hmac_t

cdef enum:
    SHA256 = 0
    SHA512 = 1


cdef class HmacKey:
    cdef eng_hmac_t* ctx
    cdef object stdlib


cdef bint openssl_in_use() noexcept
cdef int digest(int kind, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
                unsigned char* out) except -1
cdef HmacKey hmac_key(int kind, object key)
cdef int hmac(HmacKey k, const unsigned char* p1, Py_ssize_t n1, const unsigned char* p2, Py_ssize_t n2,
              unsigned char* out) except -1
cdef int matches(const unsigned char* expected, Py_ssize_t n, object received) except -2
