"""The published test instruments, the same on every simulated gateway.

Each gateway maps a gateway-neutral :class:`Outcome` (and, for declines, a neutral
:class:`DeclineReason`) onto its own wire format.

| instrument | outcome |
|---|---|
| card 4111111111111111, 4242424242424242, 5555555555554444, 6521111111111110 | success |
| any other Luhn-valid card not listed here | success |
| card 4000000000000002 | declined, ``card_declined`` |
| card 4000000000009995 | declined, ``insufficient_funds`` |
| card 4000000000000069 | declined, ``expired_card`` |
| card 4000000000003220 | redirect (OTP page): approve → success, reject → failure |
| card 4000000000000119 | gateway error before any money moves (HTTP 5xx) |
| card 4000000000000259 | charged, then the connection drops; status sync says success |
| upi ``success@upi`` / any other well-formed VPA | pending, then success |
| upi ``failure@upi`` | pending, then failure |
| netbanking (any bank), wallet (any provider) | redirect page: approve → success |
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    """What the simulated gateway does with a payment attempt."""

    SUCCESS = "success"
    DECLINE = "decline"
    REDIRECT = "redirect"
    GATEWAY_ERROR = "gateway_error"
    CHARGE_THEN_DROP = "charge_then_drop"
    PENDING_SUCCESS = "pending_success"
    PENDING_FAILURE = "pending_failure"


class DeclineReason(enum.StrEnum):
    """Gateway-neutral decline reasons (gateways translate them to their own codes)."""

    CARD_DECLINED = "card_declined"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXPIRED_CARD = "expired_card"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One row of the test-instrument table."""

    outcome: Outcome
    decline_reason: DeclineReason | None = None
    label: str = ""


SUCCESS_CARDS: dict[str, str] = {
    "4111111111111111": "Visa",
    "4242424242424242": "Visa",
    "5555555555554444": "MasterCard",
    "6521111111111110": "RuPay",
}

SPECIAL_CARDS: dict[str, Instrument] = {
    "4000000000000002": Instrument(Outcome.DECLINE, DeclineReason.CARD_DECLINED, "declined"),
    "4000000000009995": Instrument(Outcome.DECLINE, DeclineReason.INSUFFICIENT_FUNDS, "insufficient funds"),
    "4000000000000069": Instrument(Outcome.DECLINE, DeclineReason.EXPIRED_CARD, "expired card"),
    "4000000000003220": Instrument(Outcome.REDIRECT, None, "3-D Secure / OTP challenge"),
    "4000000000000119": Instrument(Outcome.GATEWAY_ERROR, None, "gateway error before money moves"),
    "4000000000000259": Instrument(Outcome.CHARGE_THEN_DROP, None, "charged, then the connection drops"),
}

UPI_SUCCESS_VPA = "success@upi"
UPI_FAILURE_VPA = "failure@upi"

_VPA = re.compile(r"^[A-Za-z0-9._-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}$")


def luhn_valid(number: str) -> bool:
    """True when ``number`` is 12-19 digits and passes the Luhn check."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def card_network(number: str) -> str:
    """Card network name from the number's prefix (Razorpay's spelling, which others share)."""
    if number in SUCCESS_CARDS:
        return SUCCESS_CARDS[number]
    if number.startswith(("34", "37")):
        return "American Express"
    if number.startswith(("36", "300", "301", "302", "303", "304", "305", "38")):
        return "Diners Club"
    if number.startswith("4"):
        return "Visa"
    prefix2, prefix4 = int(number[:2] or 0), int(number[:4] or 0)
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "MasterCard"
    if number.startswith(("60", "65", "81", "82", "508", "353", "356")):
        return "RuPay"
    if number.startswith(("35",)):
        return "JCB"
    if number.startswith(("50", "56", "57", "58", "63", "67")):
        return "Maestro"
    return "Unknown"


def card_instrument(number: str) -> Instrument:
    """Outcome for a (Luhn-valid) card number: the table row, or success when unlisted."""
    return SPECIAL_CARDS.get(number, Instrument(Outcome.SUCCESS, None, "success"))


def vpa_valid(vpa: str) -> bool:
    """True for a well-formed UPI virtual payment address (``handle@provider``)."""
    return bool(_VPA.match(vpa))


def upi_instrument(vpa: str) -> Instrument:
    """Outcome for a well-formed VPA: ``failure@upi`` fails, anything else succeeds (after a delay)."""
    if vpa.lower() == UPI_FAILURE_VPA:
        return Instrument(Outcome.PENDING_FAILURE, None, "collect request declined")
    return Instrument(Outcome.PENDING_SUCCESS, None, "collect request approved")


def redirect_instrument() -> Instrument:
    """Outcome for netbanking and wallets: a bank/wallet approval page."""
    return Instrument(Outcome.REDIRECT, None, "bank or wallet approval page")
