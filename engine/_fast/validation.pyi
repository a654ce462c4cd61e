"""Type stubs of the compiled ``engine._fast.validation`` (the twin of ``engine._pyref.validation``).

Every function raises ``engine.errors.ValidationError`` exactly as its pure twin documents.
"""

from typing import Final

BRAND_LENGTHS: Final[dict[str, frozenset[int]]]
CARD_BRANDS: Final[frozenset[str]]
PAN_MIN_LENGTH: Final[int]
PAN_MAX_LENGTH: Final[int]
MAX_EXPIRY_YEARS_AHEAD: Final[int]
VPA_MAX_LENGTH: Final[int]

def luhn_valid(number: str) -> bool:
    """True when ``number`` is a non-empty string of ASCII digits whose Luhn check passes."""

def card_brand(number: str) -> str | None:
    """Brand by IIN prefix (length-aware on overlaps), or None if unknown."""

def validate_card_number(number: str) -> str:
    """12-19 ASCII digits, known brand and issued length, Luhn-valid; returns the brand."""

def validate_expiry(exp_month: int, exp_year: int, today_year: int, today_month: int) -> None:
    """Month 1-12, year this year..+20, not before this month."""

def validate_cvc(cvc: str, brand: str) -> None:
    """ASCII digits: 4 for amex, 3 otherwise."""

def validate_card(number: str, exp_month: int, exp_year: int, cvc: str, today_year: int, today_month: int) -> str:
    """Number, then expiry, then CVC; returns the brand."""

def validate_vpa(vpa: str) -> str:
    """UPI ``handle@psp``; returns it lower-cased."""

def validate_bank_code(code: str) -> None:
    """2-20 of A-Z, 0-9, underscore."""

def validate_ifsc(code: str, param: str = "ifsc") -> None:
    """4 letters, '0', 6 letters or digits."""

def validate_wallet_provider(name: str) -> None:
    """2-32 lower-case letters or digits."""

def validate_amount(amount: int, currency: str) -> None:
    """int (not bool) in 1..MAX_AMOUNT_MINOR, currency supported."""
