"""Payment-method and amount validation (facade).

Re-exports the validation kernel chosen by :func:`engine._select.load_kernel`: the compiled
``engine._fast.validation`` when built (and ``ENGINE_NO_EXTENSIONS`` is not ``1``), else the
pure-Python specification ``engine._pyref.validation``. :data:`IMPLEMENTATION` says which.

The names below are the kernel's own function objects (no wrapper, so no extra call on the hot
path); the signatures under ``TYPE_CHECKING`` exist only for type checkers and readers, and the
full behaviour and error codes are documented on the ``engine._pyref.validation`` functions.
All raise ``engine.errors.ValidationError`` with ``code`` and ``param``; no message ever contains
a card number or CVC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from engine._select import Implementation, implementation_of, load_kernel

__all__ = [
    "IMPLEMENTATION",
    "card_brand",
    "luhn_valid",
    "validate_amount",
    "validate_bank_code",
    "validate_card",
    "validate_card_number",
    "validate_cvc",
    "validate_expiry",
    "validate_ifsc",
    "validate_vpa",
    "validate_wallet_provider",
]

_kernel = load_kernel("validation")

IMPLEMENTATION: Final[Implementation] = implementation_of(_kernel)
"""``"compiled"`` when the Cython kernel is in use, ``"pure"`` otherwise."""

if TYPE_CHECKING:

    def luhn_valid(number: str) -> bool:
        """True when ``number`` is ASCII digits passing the Luhn check."""

    def card_brand(number: str) -> str | None:
        """Brand by IIN prefix (visa, mastercard, amex, diners, discover, jcb, rupay, maestro) or None."""

    def validate_card_number(number: str) -> str:
        """12-19 ASCII digits, known brand and length, Luhn-valid; returns the brand."""

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
        """``^[A-Z]{4}0[A-Z0-9]{6}$``."""

    def validate_wallet_provider(name: str) -> None:
        """2-32 lower-case letters or digits."""

    def validate_amount(amount: int, currency: str) -> None:
        """int (not bool) in 1..MAX_AMOUNT_MINOR, currency supported."""

else:
    luhn_valid = _kernel.luhn_valid
    card_brand = _kernel.card_brand
    validate_card_number = _kernel.validate_card_number
    validate_expiry = _kernel.validate_expiry
    validate_cvc = _kernel.validate_cvc
    validate_card = _kernel.validate_card
    validate_vpa = _kernel.validate_vpa
    validate_bank_code = _kernel.validate_bank_code
    validate_ifsc = _kernel.validate_ifsc
    validate_wallet_provider = _kernel.validate_wallet_provider
    validate_amount = _kernel.validate_amount
