"""Decoding and validating Razorpay request bodies (JSON, or form-encoded with ``card[number]`` keys).

Every failure is a 400 ``BAD_REQUEST_ERROR`` with ``reason: input_validation_failed`` and the
offending ``field``; card fields are named in Razorpay's form style (``card[number]``,
``card[expiry_month]``, ``card[expiry_year]``, ``card[cvv]``). Unknown fields are ignored.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from sandbox.instruments import luhn_valid, vpa_valid
from sandbox.razorpay.errors import input_error

# ISO 4217 exponents of the currencies the sandbox accepts.
CURRENCIES: dict[str, int] = {
    "INR": 2, "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2, "AED": 2, "AUD": 2, "CAD": 2, "CHF": 2,
    "HKD": 2, "MYR": 2, "NZD": 2, "SAR": 2, "QAR": 2, "THB": 2, "ZAR": 2, "SEK": 2, "DKK": 2,
    "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "OMR": 3,
}  # fmt: skip
METHODS = frozenset({"card", "upi", "netbanking", "wallet"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BANK = re.compile(r"^[A-Za-z0-9_]{3,12}$")
_WALLET = re.compile(r"^[a-z0-9_]{2,32}$")
_IDEMPOTENCY = re.compile(r"^[A-Za-z0-9_-]{10,}$")


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The request body as a dict: JSON, or form fields with one level of ``a[b]`` nesting."""
    if not raw.strip():
        return {}
    if "application/x-www-form-urlencoded" in content_type:
        data: dict[str, Any] = {}
        for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
            match = re.fullmatch(r"(\w+)\[(\w+)\]", key)
            if match:
                data.setdefault(match[1], {})[match[2]] = value
            else:
                data[key] = value
        return data
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise input_error("The request body is not valid JSON.", None) from exc
    if not isinstance(data, dict):
        raise input_error("The request body must be a JSON object.", None)
    return data


def integer(value: Any, field: str) -> int:
    """An integer field (digit strings accepted, as form encoding sends them)."""
    if isinstance(value, bool) or value is None:
        raise input_error(f"The {field} must be an integer.", field)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise input_error(f"The {field} must be an integer.", field)


def boolean(value: Any, field: str) -> bool:
    """A boolean field: true/false, 1/0 or their string forms."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("0", "1", "true", "false"):
        return value.lower() in ("1", "true")
    raise input_error(f"The {field} field must be true or false.", field)


def optional_str(data: dict[str, Any], field: str, max_len: int = 255) -> str | None:
    """An optional string field of bounded length."""
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise input_error(f"The {field} must be a string.", field)
    if len(value) > max_len:
        raise input_error(f"The {field} may not be greater than {max_len} characters.", field)
    return value


def required_str(data: dict[str, Any], field: str, max_len: int = 255) -> str:
    """A mandatory non-empty string field."""
    value = optional_str(data, field, max_len)
    if not value:
        raise input_error(f"The {field} field is required.", field)
    return value


def notes(data: dict[str, Any]) -> dict[str, Any]:
    """``notes``: at most 15 scalar key/value pairs, values at most 256 characters."""
    value = data.get("notes")
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise input_error("The notes must be an object of key/value pairs.", "notes")
    if len(value) > 15:
        raise input_error("Number of notes cannot be more than 15.", "notes")
    for item in value.values():
        if isinstance(item, (dict, list)) or len(str(item)) > 256:
            raise input_error("Each note must be a string of at most 256 characters.", "notes")
    return dict(value)


def amount_and_currency(data: dict[str, Any], default_currency: str | None = None) -> tuple[int, str]:
    """``amount`` (integer minor units, at least one major unit) and a supported ``currency``."""
    if data.get("amount") is None:
        raise input_error("The amount field is required.", "amount")
    amount = integer(data.get("amount"), "amount")
    currency = data.get("currency", default_currency)
    if currency is None:
        raise input_error("The currency field is required.", "currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise input_error(f"{currency} is not a supported currency.", "currency")
    exponent = CURRENCIES[currency]
    if amount < 10**exponent:
        raise input_error(f"The amount must be at least {currency} {1:.{exponent}f}", "amount")
    if exponent == 3 and amount % 10:
        raise input_error(f"The amount for {currency} must be a multiple of 10.", "amount")
    return amount, currency


@dataclass(frozen=True, slots=True)
class OrderInput:
    """A validated ``POST /v1/orders`` body."""

    amount: int
    currency: str
    receipt: str | None
    notes: dict[str, Any]
    payment_capture: bool
    partial_payment: bool


def order_input(data: dict[str, Any]) -> OrderInput:
    """Validate an order-create body."""
    amount, currency = amount_and_currency(data)
    receipt = optional_str(data, "receipt", 40)
    capture = data.get("payment_capture")
    partial = data.get("partial_payment")
    return OrderInput(
        amount=amount,
        currency=currency,
        receipt=receipt,
        notes=notes(data),
        payment_capture=False if capture is None else boolean(capture, "payment_capture"),
        partial_payment=False if partial is None else boolean(partial, "partial_payment"),
    )


@dataclass(frozen=True, slots=True)
class CardInput:
    """Validated card details (kept in memory only for the outcome; never rendered)."""

    number: str
    name: str | None
    expiry_month: int
    expiry_year: int


def card_input(data: dict[str, Any]) -> CardInput:
    """Validate ``card``: Luhn-valid number, a future expiry, a 3-4 digit CVV."""
    card = data.get("card")
    if not isinstance(card, dict):
        raise input_error("The card field is required when method is card.", "card")
    number = re.sub(r"[\s-]", "", str(card.get("number") or ""))
    if not number:
        raise input_error("The card number is required.", "card[number]")
    if not luhn_valid(number):
        raise input_error("The card number is invalid.", "card[number]")
    month = _card_int(card.get("expiry_month"), "card[expiry_month]", "The card expiry month is invalid.")
    year = _card_int(card.get("expiry_year"), "card[expiry_year]", "The card expiry year is invalid.")
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        raise input_error("The card expiry month is invalid.", "card[expiry_month]")
    today = time.gmtime()
    if not 2000 <= year <= today.tm_year + 50 or (year, month) < (today.tm_year, today.tm_mon):
        raise input_error("Your card has expired or the expiry date is invalid.", "card[expiry_year]")
    cvv = str(card.get("cvv") or "")
    if not cvv:
        raise input_error("The card cvv is required.", "card[cvv]")
    cvv_len = 4 if number.startswith(("34", "37")) else 3
    if not cvv.isdigit() or len(cvv) != cvv_len:
        raise input_error(f"The card cvv must be {cvv_len} digits.", "card[cvv]")
    name = card.get("name")
    return CardInput(number, name if isinstance(name, str) else None, month, year)


def _card_int(value: Any, field: str, message: str) -> int:
    if isinstance(value, bool) or value in (None, ""):
        raise input_error(message, field)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise input_error(message, field)


def vpa_input(data: dict[str, Any]) -> str:
    """The UPI collect VPA (``vpa`` or ``upi.vpa``; ``upi.flow`` must be ``collect`` if given)."""
    upi = data.get("upi") if isinstance(data.get("upi"), dict) else {}
    flow = upi.get("flow", "collect")
    if flow != "collect":
        raise input_error("Only the UPI collect flow is supported.", "upi[flow]")
    vpa = data.get("vpa") or upi.get("vpa")
    if not vpa:
        raise input_error("The vpa field is required when method is upi.", "vpa")
    if not isinstance(vpa, str) or not vpa_valid(vpa):
        raise input_error("Invalid VPA. Please enter a valid Virtual Payment Address", "vpa")
    return vpa


def bank_input(data: dict[str, Any]) -> str:
    """The netbanking bank code (e.g. ``HDFC``)."""
    bank = data.get("bank")
    if not bank:
        raise input_error("The bank field is required when method is netbanking.", "bank")
    if not isinstance(bank, str) or not _BANK.match(bank):
        raise input_error("Invalid bank code.", "bank")
    return bank.upper()


def wallet_input(data: dict[str, Any]) -> str:
    """The wallet provider (e.g. ``paytm``)."""
    wallet = data.get("wallet")
    if not wallet:
        raise input_error("The wallet field is required when method is wallet.", "wallet")
    if not isinstance(wallet, str) or not _WALLET.match(wallet.lower()):
        raise input_error("Invalid wallet.", "wallet")
    return wallet.lower()


def contact_details(data: dict[str, Any]) -> tuple[str, str]:
    """``email`` and ``contact``, both mandatory for S2S payments."""
    email = required_str(data, "email")
    if not _EMAIL.match(email):
        raise input_error("The email must be a valid email address.", "email")
    contact = data.get("contact")
    if isinstance(contact, int) and not isinstance(contact, bool):
        contact = str(contact)
    if not contact or not isinstance(contact, str):
        raise input_error("The contact field is required.", "contact")
    digits = re.sub(r"[\s()-]", "", contact).removeprefix("+")
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise input_error("Contact number should be between 8 and 15 digits, including country code.", "contact")
    return email, contact


def method_input(data: dict[str, Any]) -> str:
    """The payment method."""
    method = data.get("method")
    if not method:
        raise input_error("The method field is required.", "method")
    if method not in METHODS:
        raise input_error("Invalid payment method given.", "method")
    return str(method)


def callback_url(data: dict[str, Any]) -> str | None:
    """Optional ``callback_url`` (http or https)."""
    url = optional_str(data, "callback_url", 2048)
    if url is not None and not url.startswith(("http://", "https://")):
        raise input_error("The callback url format is invalid.", "callback_url")
    return url


def idempotency_key(value: str | None) -> str | None:
    """The ``X-Refund-Idempotency`` header: at least 10 of ``[A-Za-z0-9_-]``."""
    if value is None:
        return None
    if not _IDEMPOTENCY.match(value):
        raise input_error(
            "X-Refund-Idempotency must be at least 10 characters of letters, digits, _ or -.",
            "X-Refund-Idempotency",
        )
    return value
