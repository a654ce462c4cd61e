"""Money: integer minor units plus the currency's ISO 4217 exponent.

The engine never holds an amount as a float or a ``Decimal``: amounts are ``int`` minor units
(paise, cents, fils). Gateways that want decimal strings (Paytm ``"1.00"``, PayU, Juspay) get them
from :func:`to_decimal_string`, and decimal strings coming back are read by
:func:`from_decimal_string` — the only two conversions, so a formatting rule lives in one place.
PayU and Paytm sign the exact amount string, which is why both directions are canonical and strict.
"""

from __future__ import annotations

from engine._pyref.currency import (
    CURRENCY_EXPONENTS,
    CURRENCY_SCALES,
    MAX_AMOUNT_MINOR,
    exponent,
)
from engine.errors import ValidationError

__all__ = [
    "CURRENCY_EXPONENTS",
    "MAX_AMOUNT_MINOR",
    "exponent",
    "from_decimal_string",
    "is_supported_currency",
    "to_decimal_string",
]

# Longest integer part worth parsing: MAX_AMOUNT_MINOR has 11 digits, so 12 already exceeds it for
# any exponent; the cap keeps a hostile "999…9" (thousands of digits) from ever reaching int().
_MAX_WHOLE_DIGITS = 12


def is_supported_currency(currency: str) -> bool:
    """True when ``currency`` is an upper-case ISO 4217 code the engine knows the exponent of."""
    try:
        return currency in CURRENCY_EXPONENTS
    except TypeError:  # unhashable
        return False


def to_decimal_string(amount_minor: int, currency: str) -> str:
    """Format minor units as the currency's canonical decimal string.

    ``(1000, "INR")`` → ``"10.00"``, ``(5, "JPY")`` → ``"5"``, ``(1000, "KWD")`` → ``"1.000"``.
    No thousands separators, no sign, exactly ``exponent(currency)`` decimals. ``amount_minor``
    must be a non-negative ``int`` (``bool`` is refused); zero is allowed (e.g. nothing refunded).
    Raises ``ValidationError``: ``invalid_amount`` (param ``amount``) or ``currency_unsupported``.
    """
    exp = exponent(currency)
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor < 0:
        raise ValidationError(
            "Amount must be a non-negative integer in minor units.", code="invalid_amount", param="amount"
        )
    if exp == 0:
        return str(amount_minor)
    whole, frac = divmod(amount_minor, CURRENCY_SCALES[currency])
    return f"{whole}.{frac:0{exp}d}"


def from_decimal_string(value: str, currency: str) -> int:
    """Parse a canonical decimal string into minor units (the inverse of :func:`to_decimal_string`).

    Strict on purpose, because the string is usually one a gateway signed: ASCII digits only, no
    sign, no exponent, no spaces or separators, no leading zeros (``"0.50"`` is fine, ``"00.50"``
    is not), and exactly ``exponent(currency)`` decimals (``"10.00"`` for INR, never ``"10"`` or
    ``"10.0"``; ``"5"`` for JPY, never ``"5.0"``). Result is at most :data:`MAX_AMOUNT_MINOR`.
    Raises ``ValidationError``: ``invalid_amount`` / ``amount_too_large`` (param ``amount``) or
    ``currency_unsupported``.
    """
    exp = exponent(currency)
    if not isinstance(value, str) or not value.isascii():
        raise _malformed(exp)
    if exp:
        whole, dot, frac = value.partition(".")
        # isdigit() is safe here: the string is ASCII, so it means [0-9] only.
        if not dot or len(frac) != exp or not frac.isdigit():
            raise _malformed(exp)
    else:
        whole, frac = value, ""
    if not whole.isdigit() or (whole[0] == "0" and len(whole) > 1):
        raise _malformed(exp)
    if len(whole) > _MAX_WHOLE_DIGITS:
        raise _too_large()
    minor = int(whole) * CURRENCY_SCALES[currency] + (int(frac) if frac else 0)
    if minor > MAX_AMOUNT_MINOR:
        raise _too_large()
    return minor


def _malformed(exp: int) -> ValidationError:
    if exp == 0:
        shape = "digits only, e.g. '5'"
    else:
        shape = f"digits with exactly {exp} decimals, e.g. '10.{'0' * exp}'"
    return ValidationError(f"Amount string must be {shape}.", code="invalid_amount", param="amount")


def _too_large() -> ValidationError:
    return ValidationError(
        f"Amount must be at most {MAX_AMOUNT_MINOR} in minor units.", code="amount_too_large", param="amount"
    )
