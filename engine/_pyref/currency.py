"""ISO 4217 minor-unit exponents and the engine's amount ceiling (kernel data).

Lives in ``_pyref`` so that the validation kernels (pure and compiled) can check a currency
without importing the domain module ``engine.money``, which re-exports everything here.
"""

from __future__ import annotations

from typing import Final

from engine.errors import ValidationError

# Largest amount the engine accepts, in minor units: 11 nines. With exponent 2 that is just under
# one billion major units (INR 999,999,999.99), comfortably above any single checkout and every
# gateway's own ceiling, yet it fits PostgreSQL ``bigint`` and is far below 2**53, so an amount a
# gateway answers as a JSON number (Juspay) still converts back to the exact integer.
MAX_AMOUNT_MINOR: Final = 99_999_999_999

# ISO 4217 exponent (digits after the decimal point) per currency. Only codes whose exponent we are
# sure of are listed; an unknown code is rejected rather than guessed (a wrong exponent moves money
# by a factor of 10 or 100). Values are ISO 4217's; a gateway with its own convention for a
# currency (some treat HUF, TWD or ISK specially) converts in its connector.
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(
        """AED ARS AUD BDT BRL CAD CHF CNY COP CZK DKK EGP EUR GBP GHS HKD HUF IDR ILS INR KES LKR MAD MUR
        MVR MXN MYR NGN NOK NPR NZD PEN PHP PKR PLN QAR RON RUB SAR SEK SGD THB TRY TWD TZS UAH USD ZAR
        """.split(),
        2,
    ),
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}

# 10 ** exponent per currency, precomputed so conversions do no exponentiation per call.
CURRENCY_SCALES: Final[dict[str, int]] = {code: 10**exp for code, exp in CURRENCY_EXPONENTS.items()}


def unsupported_currency(currency: object) -> ValidationError:
    """The error for a currency code that is malformed or not in :data:`CURRENCY_EXPONENTS`."""
    shown = currency if isinstance(currency, str) and len(currency) <= 8 else "<value>"
    return ValidationError(
        f"Unsupported currency {shown!r}: use a three-letter upper-case ISO 4217 code, e.g. 'INR'.",
        code="currency_unsupported",
        param="currency",
    )


def exponent(currency: str) -> int:
    """ISO 4217 minor-unit exponent of ``currency`` (``"INR"`` → 2, ``"JPY"`` → 0, ``"KWD"`` → 3).

    Only exact upper-case codes are accepted; ``"inr"`` is rejected rather than folded, so every
    stored and signed currency has one spelling (an API layer that wants to be lenient upper-cases
    at its boundary). Raises ``ValidationError`` (``currency_unsupported``, param ``currency``).
    """
    # The table's keys are all three upper-case ASCII letters, so one dict lookup both checks the
    # format and finds the exponent. TypeError covers unhashable junk such as a list.
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise unsupported_currency(currency) from None
