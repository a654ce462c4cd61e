# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Payment-method and amount validation, compiled: the twin of ``engine._pyref.validation``.

Same functions, arguments, results and exceptions as the pure module, which stays the
specification (rules, error codes and messages are documented there). The compiled functions
decide *acceptance* in C over the ASCII bytes of exact ``str`` and the value of exact ``int``
arguments: Luhn, brand by IIN range with length arbitration (the range table is read from the
specification's ``_BRAND_RULES`` and ``BRAND_LENGTHS`` at import, never copied), CVC length,
expiry against the caller's clock, VPA / bank code / IFSC / wallet patterns as character scans,
amount limits and the currency table.

Anything the C path does not accept — invalid input, a subclass of ``str`` or ``int``, non-ASCII
text, an integer beyond 64 bits — is handed to the pure function, which raises the specified
``ValidationError`` (same code, param and message, by construction) or, for the rare input only
the pure rules accept, returns its result. Rejections therefore cost what they cost in pure
Python; acceptances, the hot path, never leave C.
"""

from engine._pyref import validation as _py
from engine._pyref.currency import CURRENCY_EXPONENTS as _CURRENCIES
from engine._pyref.currency import MAX_AMOUNT_MINOR

cdef extern from "Python.h":
    bint PyUnicode_CheckExact(object o)
    bint PyUnicode_IS_ASCII(object o)
    void* PyUnicode_DATA(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    bint PyLong_CheckExact(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int* overflow) except? -1

__all__ = [
    "BRAND_LENGTHS", "CARD_BRANDS", "MAX_EXPIRY_YEARS_AHEAD", "PAN_MAX_LENGTH", "PAN_MIN_LENGTH",
    "VPA_MAX_LENGTH", "card_brand", "luhn_valid", "validate_amount", "validate_bank_code", "validate_card",
    "validate_card_number", "validate_cvc", "validate_expiry", "validate_ifsc", "validate_vpa",
    "validate_wallet_provider",
]

BRAND_LENGTHS = _py.BRAND_LENGTHS
CARD_BRANDS = _py.CARD_BRANDS
PAN_MIN_LENGTH = _py.PAN_MIN_LENGTH
PAN_MAX_LENGTH = _py.PAN_MAX_LENGTH
MAX_EXPIRY_YEARS_AHEAD = _py.MAX_EXPIRY_YEARS_AHEAD
VPA_MAX_LENGTH = _py.VPA_MAX_LENGTH

cdef enum:
    MAX_RULES = 64
    MAX_WIDTH = 8
    DIGIT = 1
    UPPER = 2
    LOWER = 4
    VPA_PUNCT = 8      # . - _
    UNDERSCORE = 16

# ------------------------------------------------------------------------------ tables (built at import)

cdef int _n_rules = 0
cdef int _rule_brand[MAX_RULES]
cdef int _rule_width[MAX_RULES]
cdef long long _rule_lo[MAX_RULES]
cdef long long _rule_hi[MAX_RULES]
cdef unsigned int _brand_lengths[MAX_RULES]   # bit n set: a PAN of n digits is issued
cdef list _brand_names = []                   # brand index -> the specification's own str
cdef int _amex = -1
cdef long long _max_year = _py.MAX_EXPIRY_YEARS_AHEAD
cdef long long _max_amount = MAX_AMOUNT_MINOR
cdef unsigned char _class[256]


cdef int _build_tables() except -1:
    global _n_rules, _amex
    cdef int i
    for i in range(256):
        c = chr(i)
        _class[i] = ((DIGIT if "0" <= c <= "9" else 0) | (UPPER if "A" <= c <= "Z" else 0)
                     | (LOWER if "a" <= c <= "z" else 0) | (VPA_PUNCT if c in ".-_" else 0)
                     | (UNDERSCORE if c == "_" else 0))
    for brand, lo, hi in _py._BRAND_RULES:
        if brand not in _brand_names:
            _brand_names.append(brand)
        if _n_rules == MAX_RULES or not 0 < len(lo) == len(hi) < MAX_WIDTH:
            raise ImportError("engine._pyref.validation._BRAND_RULES does not fit the compiled tables")
        _rule_brand[_n_rules] = _brand_names.index(brand)
        _rule_width[_n_rules] = len(lo)
        _rule_lo[_n_rules], _rule_hi[_n_rules] = int(lo), int(hi)
        _n_rules += 1
    for i, brand in enumerate(_brand_names):
        _brand_lengths[i] = 0
        for length in _py.BRAND_LENGTHS[brand]:
            if not 0 <= length < 32:
                raise ImportError("engine._pyref.validation.BRAND_LENGTHS does not fit the compiled tables")
            _brand_lengths[i] |= 1u << length
    _amex = _brand_names.index("amex") if "amex" in _brand_names else -1
    return 0


_build_tables()

# ------------------------------------------------------------------------------ C helpers


cdef inline const unsigned char* _ascii(object s, Py_ssize_t* n) noexcept:
    """The characters of an exact ASCII ``str``; NULL for anything else."""
    if not PyUnicode_CheckExact(s) or not PyUnicode_IS_ASCII(s):
        return NULL
    n[0] = PyUnicode_GET_LENGTH(s)
    return <const unsigned char*>PyUnicode_DATA(s)


cdef inline bint _all(const unsigned char* p, Py_ssize_t n, unsigned char allowed) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        if not (_class[p[i]] & allowed):
            return False
    return True


cdef inline bint _luhn(const unsigned char* p, Py_ssize_t n) noexcept:
    """Luhn over ASCII digits (the caller checked them)."""
    cdef Py_ssize_t i, total = 0
    cdef int d
    cdef bint doubled = False
    for i in range(n - 1, -1, -1):
        d = p[i] - 48
        if doubled:
            d = d * 2 - (9 if d > 4 else 0)
        total += d
        doubled = not doubled
    return total % 10 == 0


cdef int _brand(const unsigned char* p, Py_ssize_t n) noexcept:
    """Brand index of a digit string (or -1): the first rule whose prefix and length both fit,
    else the first rule whose prefix fits; rules are in the specification's precedence order."""
    cdef long long prefix[MAX_WIDTH]
    cdef long long value = 0
    cdef int r, w, first = -1
    for w in range(1, MAX_WIDTH):
        if w <= n:
            value = value * 10 + (p[w - 1] - 48)
        prefix[w] = value
    for r in range(_n_rules):
        w = _rule_width[r]
        if w <= n and _rule_lo[r] <= prefix[w] <= _rule_hi[r]:
            if n < 32 and (_brand_lengths[_rule_brand[r]] >> n) & 1:
                return _rule_brand[r]
            if first < 0:
                first = _rule_brand[r]
    return first


cdef int _pan_brand(object number) noexcept:
    """Brand index of a valid PAN (12-19 digits, issued length, Luhn); -1 when it is not one."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(number, &n)
    cdef int b
    if p == NULL or not 12 <= n <= 19 or not _all(p, n, DIGIT):
        return -1
    b = _brand(p, n)
    if b < 0 or not (_brand_lengths[b] >> n) & 1 or not _luhn(p, n):
        return -1
    return b


cdef inline bint _small_int(object o, long long* out) noexcept:
    """Value of an exact ``int`` (not ``bool``) within +-2**62; False for anything else."""
    cdef int overflow = 0
    if not PyLong_CheckExact(o):
        return False
    out[0] = PyLong_AsLongLongAndOverflow(o, &overflow)
    return not overflow and -(1LL << 62) < out[0] < (1LL << 62)


cdef bint _expiry_ok(object exp_month, object exp_year, object today_year, object today_month) noexcept:
    cdef long long m = 0, y = 0, ty = 0, tm = 0
    if not (_small_int(exp_month, &m) and _small_int(exp_year, &y) and _small_int(today_year, &ty)
            and _small_int(today_month, &tm)):
        return False
    return 1 <= m <= 12 and ty <= y <= ty + _max_year and not (y == ty and m < tm)


cdef bint _cvc_ok(object cvc, bint amex) noexcept:
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(cvc, &n)
    return p != NULL and n == (4 if amex else 3) and _all(p, n, DIGIT)


# ------------------------------------------------------------------------------ cards


def luhn_valid(number):
    """True when ``number`` is a non-empty string of ASCII digits whose Luhn (mod 10) check passes."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(number, &n)
    if p == NULL:
        return _py.luhn_valid(number)
    return n > 0 and _all(p, n, DIGIT) and _luhn(p, n)


def card_brand(number):
    """Brand of a card number by its IIN prefix (length-aware on overlaps), or ``None`` if unknown."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(number, &n)
    cdef int b
    if p == NULL:
        return _py.card_brand(number)
    if n == 0 or not _all(p, n, DIGIT):
        return None
    b = _brand(p, n)
    return _brand_names[b] if b >= 0 else None


def validate_card_number(number):
    """Check a PAN (12-19 ASCII digits, issued length, Luhn) and return its brand."""
    cdef int b = _pan_brand(number)
    if b < 0:
        return _py.validate_card_number(number)
    return _brand_names[b]


def validate_expiry(exp_month, exp_year, today_year, today_month):
    """Check a card's expiry against today's (year, month), supplied by the caller."""
    if not _expiry_ok(exp_month, exp_year, today_year, today_month):
        return _py.validate_expiry(exp_month, exp_year, today_year, today_month)


def validate_cvc(cvc, brand):
    """Check a card security code: ASCII digits, 4 for ``amex``, 3 for every other brand."""
    if not (PyUnicode_CheckExact(brand) and _cvc_ok(cvc, brand == "amex")):
        return _py.validate_cvc(cvc, brand)


def validate_card(number, exp_month, exp_year, cvc, today_year, today_month):
    """Validate number, expiry and CVC (in that order, first error wins); return the brand."""
    cdef int b = _pan_brand(number)
    if b < 0 or not _expiry_ok(exp_month, exp_year, today_year, today_month) or not _cvc_ok(cvc, b == _amex):
        return _py.validate_card(number, exp_month, exp_year, cvc, today_year, today_month)
    return _brand_names[b]


# ------------------------------------------------------------------------------ other methods


cdef object _vpa_lower(object vpa):
    """``vpa.lower()`` when ``vpa`` is a valid UPI VPA (``[a-zA-Z0-9._-]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,64}``,
    at most 255 characters); ``None`` otherwise."""
    cdef Py_ssize_t n = 0, i = 0, at
    cdef const unsigned char* p = _ascii(vpa, &n)
    cdef unsigned char* out
    if p == NULL or n > 255:
        return None
    while i < n and _class[p[i]] & (DIGIT | UPPER | LOWER | VPA_PUNCT):
        i += 1
    at = i
    if not (2 <= at and at + 3 <= n and at + 66 >= n and p[at] == c"@" and _class[p[at + 1]] & (UPPER | LOWER)
            and _all(p + at + 2, n - at - 2, DIGIT | UPPER | LOWER)):
        return None
    lowered = PyUnicode_New(n, 127)
    out = <unsigned char*>PyUnicode_DATA(lowered)
    for i in range(n):
        out[i] = p[i] | 0x20 if _class[p[i]] & UPPER else p[i]
    return lowered


def validate_vpa(vpa):
    """Check a UPI VPA (``handle@psp``, at most 255 chars) and return it lower-cased."""
    r = _vpa_lower(vpa)
    return r if r is not None else _py.validate_vpa(vpa)


def validate_bank_code(code):
    """Check a netbanking bank code: 2-20 of ``A-Z``, ``0-9``, ``_``."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(code, &n)
    if p == NULL or not 2 <= n <= 20 or not _all(p, n, UPPER | DIGIT | UNDERSCORE):
        return _py.validate_bank_code(code)


def validate_ifsc(code, param="ifsc"):
    """Check an Indian IFSC: 4 letters, a ``0``, then 6 letters or digits (e.g. ``HDFC0001234``)."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(code, &n)
    if p == NULL or n != 11 or not _all(p, 4, UPPER) or p[4] != c"0" or not _all(p + 5, 6, UPPER | DIGIT):
        return _py.validate_ifsc(code, param)


def validate_wallet_provider(name):
    """Check a wallet provider name: 2-32 lower-case letters or digits."""
    cdef Py_ssize_t n = 0
    cdef const unsigned char* p = _ascii(name, &n)
    if p == NULL or not 2 <= n <= 32 or not _all(p, n, LOWER | DIGIT):
        return _py.validate_wallet_provider(name)


def validate_amount(amount, currency):
    """Check a charge amount in minor units (1..MAX_AMOUNT_MINOR) and its currency."""
    cdef long long value = 0
    if not (_small_int(amount, &value) and 1 <= value <= _max_amount and PyUnicode_CheckExact(currency)
            and currency in _CURRENCIES):
        return _py.validate_amount(amount, currency)
