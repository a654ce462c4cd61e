"""Payment-method and amount validation: the executable specification of ``engine._fast.validation``.

Plain Python over ``str``/``int``; every function is pure and raises
``engine.errors.ValidationError`` with a stable ``code`` and the public ``param`` it concerns.
Messages never contain the card number or the CVC (they would end up in logs and responses).
"""

from __future__ import annotations

import re
from typing import Final

from engine._pyref.currency import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR, unsupported_currency
from engine.errors import ValidationError

# --------------------------------------------------------------------------------------------------
# Card brands
#
# Rules in PRECEDENCE order: (brand, first prefix, last prefix); both ends have the same number of
# digits and the range is inclusive. Several ranges overlap, and the order decides:
#   * Discover's own specific ranges (6011, 622126-622925, 644-649) beat RuPay's broad "60" and
#     the Maestro catch-all "6".
#   * RuPay beats Discover "65" and JCB "353"/"356": in India these prefixes are RuPay and the
#     co-branded RuPay-Discover / RuPay-JCB cards, which domestic acquirers route as RuPay (the
#     sandbox's RuPay test card is 6521111111111110).
#   * Maestro "6" only takes what nothing above claims.
# Length then arbitrates: card_brand() returns the first brand whose prefix AND length both fit, so
# a 19-digit "65…" card is Discover (RuPay cards are 16 digits), a 17-digit "353…" card is JCB.
# If no matching brand allows the length, the highest-precedence prefix match is returned and
# validate_card_number reports the length as ``invalid_number``.
_BRAND_RULES: Final[tuple[tuple[str, str, str], ...]] = (
    ("discover", "6011", "6011"),
    ("discover", "622126", "622925"),
    ("discover", "644", "649"),
    ("rupay", "60", "60"),
    ("rupay", "65", "65"),
    ("rupay", "81", "82"),
    ("rupay", "508", "508"),
    ("rupay", "353", "353"),
    ("rupay", "356", "356"),
    ("visa", "4", "4"),
    ("mastercard", "51", "55"),
    ("mastercard", "2221", "2720"),
    ("amex", "34", "34"),
    ("amex", "37", "37"),
    ("diners", "300", "305"),
    ("diners", "36", "36"),
    ("diners", "38", "39"),
    ("discover", "65", "65"),
    ("jcb", "3528", "3589"),
    ("maestro", "50", "50"),
    ("maestro", "56", "58"),
    ("maestro", "6", "6"),
)

# Allowed PAN lengths per brand.
BRAND_LENGTHS: Final[dict[str, frozenset[int]]] = {
    "visa": frozenset((13, 16, 19)),
    "mastercard": frozenset((16,)),
    "amex": frozenset((15,)),
    "diners": frozenset(range(14, 20)),
    "discover": frozenset(range(16, 20)),
    "jcb": frozenset(range(16, 20)),
    "rupay": frozenset((16,)),
    "maestro": frozenset(range(12, 20)),
}

CARD_BRANDS: Final = frozenset(BRAND_LENGTHS)


def _build_prefix_index() -> tuple[dict[str, tuple[tuple[int, str], ...]], int]:
    """Expand the rules into ``{prefix: ((rank, brand), …)}``; built once at import (~1.5k keys)."""
    index: dict[str, list[tuple[int, str]]] = {}
    for rank, (brand, lo, hi) in enumerate(_BRAND_RULES):
        width = len(lo)
        for value in range(int(lo), int(hi) + 1):
            index.setdefault(f"{value:0{width}d}", []).append((rank, brand))
    longest = max(len(lo) for _, lo, _ in _BRAND_RULES)
    return {prefix: tuple(entries) for prefix, entries in index.items()}, longest


_PREFIX_INDEX, _LONGEST_PREFIX = _build_prefix_index()

# Luhn: the value a digit contributes when it sits in a doubled position.
_LUHN_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)

PAN_MIN_LENGTH: Final = 12
PAN_MAX_LENGTH: Final = 19

_NUMBER: Final = "payment_method.card.number"
_EXP_MONTH: Final = "payment_method.card.exp_month"
_EXP_YEAR: Final = "payment_method.card.exp_year"
_CVC: Final = "payment_method.card.cvc"

# Card expiry years accepted: this year up to this year + 20 (issuers do not issue longer).
MAX_EXPIRY_YEARS_AHEAD: Final = 20


def _is_digits(value: object) -> bool:
    # str.isdigit() alone also accepts '²' and Devanagari digits; isascii() pins it to [0-9].
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def luhn_valid(number: str) -> bool:
    """True when ``number`` is a non-empty string of ASCII digits whose Luhn (mod 10) check passes."""
    if not _is_digits(number):
        return False
    # From the right: odd positions count as they are, even positions are doubled (digit-summed).
    total = sum(map(int, number[-1::-2]))
    for ch in number[-2::-2]:
        total += _LUHN_DOUBLED[ord(ch) - 48]
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """Brand of a card number by its IIN prefix (length-aware on overlaps), or ``None`` if unknown.

    Returns one of ``visa, mastercard, amex, diners, discover, jcb, rupay, maestro``. Works on
    a partial number too (prefix rules only then). See ``_BRAND_RULES`` for the precedence.
    """
    if not _is_digits(number):
        return None
    matches: list[tuple[int, str]] = []
    for width in range(1, min(len(number), _LONGEST_PREFIX) + 1):
        found = _PREFIX_INDEX.get(number[:width])
        if found:
            matches.extend(found)
    if not matches:
        return None
    matches.sort()
    length = len(number)
    for _, brand in matches:
        if length in BRAND_LENGTHS[brand]:
            return brand
    return matches[0][1]


def validate_card_number(number: str) -> str:
    """Check a PAN and return its brand.

    Accepts only 12-19 ASCII digits: no spaces or dashes (clients strip formatting; accepting it
    here would give one card several spellings). Errors (param ``payment_method.card.number``):
    ``invalid_number`` (format, or a length the brand does not issue), ``card_brand_unsupported``,
    ``incorrect_number`` (Luhn check failed).
    """
    if not _is_digits(number) or not PAN_MIN_LENGTH <= len(number) <= PAN_MAX_LENGTH:
        raise ValidationError(
            "The card number must be 12 to 19 digits, without spaces or dashes.",
            code="invalid_number",
            param=_NUMBER,
        )
    brand = card_brand(number)
    if brand is None:
        raise ValidationError("The card's brand is not supported.", code="card_brand_unsupported", param=_NUMBER)
    if len(number) not in BRAND_LENGTHS[brand]:
        raise ValidationError(
            f"The card number has the wrong length for a {brand} card.", code="invalid_number", param=_NUMBER
        )
    if not luhn_valid(number):
        raise ValidationError("The card number is incorrect.", code="incorrect_number", param=_NUMBER)
    return brand


def validate_expiry(exp_month: int, exp_year: int, today_year: int, today_month: int) -> None:
    """Check a card's expiry against today's (year, month); the caller supplies "today" (pure).

    A card is valid through the last day of its expiry month. Errors: ``invalid_expiry_month``
    (not an int in 1..12), ``invalid_expiry_year`` (not a 4-digit int, before this year, or more
    than 20 years ahead), ``expired_card`` (this year, earlier month; param ``exp_month``).
    """
    if not _is_int(exp_month) or not 1 <= exp_month <= 12:
        raise ValidationError(
            "The card's expiration month must be 1 to 12.", code="invalid_expiry_month", param=_EXP_MONTH
        )
    if not _is_int(exp_year) or not today_year <= exp_year <= today_year + MAX_EXPIRY_YEARS_AHEAD:
        raise ValidationError(
            f"The card's expiration year must be a 4-digit year from {today_year} to "
            f"{today_year + MAX_EXPIRY_YEARS_AHEAD}.",
            code="invalid_expiry_year",
            param=_EXP_YEAR,
        )
    if exp_year == today_year and exp_month < today_month:
        raise ValidationError("The card has expired.", code="expired_card", param=_EXP_MONTH)


def validate_cvc(cvc: str, brand: str) -> None:
    """Check a card security code: ASCII digits, 4 for ``amex``, 3 for every other brand.

    Error: ``invalid_cvc`` (param ``payment_method.card.cvc``); the value is never echoed.
    """
    expected = 4 if brand == "amex" else 3
    if not _is_digits(cvc) or len(cvc) != expected:
        raise ValidationError(f"The card's security code must be {expected} digits.", code="invalid_cvc", param=_CVC)


def validate_card(number: str, exp_month: int, exp_year: int, cvc: str, today_year: int, today_month: int) -> str:
    """Validate number, expiry and CVC (in that order, first error wins); return the brand."""
    brand = validate_card_number(number)
    validate_expiry(exp_month, exp_year, today_year, today_month)
    validate_cvc(cvc, brand)
    return brand


# UPI virtual payment address, NPCI-style: handle@psp. Compiled once; fullmatch, so no anchors
# (``$`` would also match before a trailing newline).
_VPA_RE: Final = re.compile(r"[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,64}")
VPA_MAX_LENGTH: Final = 255

_BANK_CODE_RE: Final = re.compile(r"[A-Z0-9_]{2,20}")
_IFSC_RE: Final = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
_WALLET_RE: Final = re.compile(r"[a-z0-9]{2,32}")


def validate_vpa(vpa: str) -> str:
    """Check a UPI VPA (``handle@psp``, at most 255 chars) and return it lower-cased.

    VPAs are case-insensitive at NPCI, so the lower-cased form is the one to store and send.
    Error: ``invalid_vpa`` (param ``payment_method.upi.vpa``).
    """
    # Length first: it bounds the regex's work on hostile input.
    if not isinstance(vpa, str) or len(vpa) > VPA_MAX_LENGTH or _VPA_RE.fullmatch(vpa) is None:
        raise ValidationError(
            "The UPI ID must look like name@bank (letters, digits, '.', '-', '_').",
            code="invalid_vpa",
            param="payment_method.upi.vpa",
        )
    return vpa.lower()


def validate_bank_code(code: str) -> None:
    """Check a netbanking bank code: 2-20 of ``A-Z``, ``0-9``, ``_`` (e.g. ``HDFC``, ``SBI_RETAIL``).

    Error: ``invalid_bank_code`` (param ``payment_method.netbanking.bank_code``).
    """
    if not isinstance(code, str) or _BANK_CODE_RE.fullmatch(code) is None:
        raise ValidationError(
            "The bank code must be 2 to 20 upper-case letters, digits or underscores.",
            code="invalid_bank_code",
            param="payment_method.netbanking.bank_code",
        )


def validate_ifsc(code: str, param: str = "ifsc") -> None:
    """Check an Indian IFSC: 4 letters, a ``0``, then 6 letters or digits (e.g. ``HDFC0001234``).

    Error: ``invalid_ifsc`` with ``param`` (default ``ifsc``; the caller names its own field).
    """
    if not isinstance(code, str) or _IFSC_RE.fullmatch(code) is None:
        raise ValidationError(
            "The IFSC must be 4 letters, '0', then 6 letters or digits.", code="invalid_ifsc", param=param
        )


def validate_wallet_provider(name: str) -> None:
    """Check a wallet provider name: 2-32 lower-case letters or digits (e.g. ``paytm``, ``phonepe``).

    Error: ``invalid_wallet_provider`` (param ``payment_method.wallet.provider``).
    """
    if not isinstance(name, str) or _WALLET_RE.fullmatch(name) is None:
        raise ValidationError(
            "The wallet provider must be 2 to 32 lower-case letters or digits.",
            code="invalid_wallet_provider",
            param="payment_method.wallet.provider",
        )


def validate_amount(amount: int, currency: str) -> None:
    """Check a charge amount in minor units and its currency.

    Errors: ``invalid_amount`` (not an ``int``; ``bool`` refused), ``amount_too_small`` (< 1),
    ``amount_too_large`` (> ``MAX_AMOUNT_MINOR``), all param ``amount``; ``currency_unsupported``
    (param ``currency``).
    """
    if not _is_int(amount):
        raise ValidationError(
            "Amount must be an integer in the currency's minor unit.", code="invalid_amount", param="amount"
        )
    if amount < 1:
        raise ValidationError(
            "Amount must be at least 1 in the currency's minor unit.", code="amount_too_small", param="amount"
        )
    if amount > MAX_AMOUNT_MINOR:
        raise ValidationError(
            f"Amount must be at most {MAX_AMOUNT_MINOR} in the currency's minor unit.",
            code="amount_too_large",
            param="amount",
        )
    try:
        known = currency in CURRENCY_EXPONENTS
    except TypeError:  # unhashable
        known = False
    if not known:
        raise unsupported_currency(currency)
