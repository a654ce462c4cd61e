# cython: language_level=3, boundscheck=False, wraparound=False
"""PayU request, reverse and command hashes (§3.2-3.4), compiled; re-exported by ``engine._fast.signing``.

The twins of ``payu_request_hash`` / ``payu_reverse_hash`` / ``payu_command_hash`` in
``engine._pyref.signing`` (the specification): the ``|``-joined string is assembled in a C buffer
straight from the posted values and hashed with SHA-512 by ``_digest``. An exact ``dict`` with
``str``/``None``/``""`` values and ``str`` salts take this path; anything else — a missing
mandatory field, a non-``str`` value, a lone surrogate, another mapping type — is handed to the
pure function, which raises or answers exactly as specified.
"""

from engine._fast._digest cimport SHA512, digest
from engine._fast._native cimport Buf, PyUnicode_CheckExact, buf_free, buf_init, buf_put, buf_text, hex_str

from engine._pyref import signing as _py

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
    return hex_str(out, digest(SHA512, b.p, b.n, NULL, 0, out))


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
