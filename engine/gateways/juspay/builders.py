"""Form bodies for Juspay's Express Checkout API (pure, no IO).

Juspay's SDKs post ``/customers``, ``/orders``, ``/txns`` and refunds form-encoded (reference
§4.1), with nested fields as dot keys (``metadata.txns.auto_capture``). Amounts go as decimal
strings in major units (``"10.00"``).
"""

from __future__ import annotations

import re

from engine.gateways.base import ChargeRequest, RefundRequest
from engine.money import to_decimal_string

# Juspay: order_id "alphanumeric with character length less than 21" (Create Order API docs);
# unique_request_id "less than 21 chars, no special chars" (reference §4.6).
ID_MAX = 20
PLACEHOLDER_PHONE = "9999999999"  # Juspay requires mobile_number on a customer (assumption)
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


class UnsupportedMethod(ValueError):
    """The payment method cannot be sent to Juspay (unknown type or missing details)."""


def order_id_for(attempt_id: str) -> str:
    """Juspay's ``order_id`` for an attempt: its letters and digits, the last 20.

    Deterministic (status sync works from the attempt alone) and, for engine ids (``att_`` + 24
    random base62 characters), 20 random characters -- unique for all practical purposes even
    though Juspay compares order ids case-insensitively. The full attempt id rides in ``udf6``.
    """
    return _NOT_ALNUM.sub("", attempt_id)[-ID_MAX:]


def request_id_for(refund_id: str) -> str:
    """Juspay's ``unique_request_id`` for an engine refund (same rule as ``order_id_for``)."""
    return _NOT_ALNUM.sub("", refund_id)[-ID_MAX:]


def order_form(request: ChargeRequest) -> dict[str, str]:
    """``POST /orders`` for an attempt.

    ``udf1`` = engine merchant id (the sandbox routes webhooks by it, as the dashboard's
    webhook URL would); ``udf6`` / ``udf7`` = attempt and payment ids (udf6-10 are the ones
    Juspay allows special characters in). ``return_url`` is the engine's callback URL. Manual
    capture asks for a pre-authorization: ``metadata.txns.auto_capture=false`` (Juspay's
    pre-auth docs).
    """
    form = {
        "order_id": order_id_for(request.attempt_id),
        "amount": to_decimal_string(request.amount, request.currency),
        "currency": request.currency,
        "return_url": request.callback_url,
        "udf1": request.merchant_id,
        "udf6": request.attempt_id,
        "udf7": request.payment_id,
    }
    if request.description:
        form["description"] = request.description[:255]
    if request.customer_email:
        form["customer_email"] = request.customer_email
    if request.customer_phone:
        form["customer_phone"] = request.customer_phone
    if not request.capture:
        form["metadata.txns.auto_capture"] = "false"
    return form


def txn_form(request: ChargeRequest, *, order_id: str, merchant_id: str) -> dict[str, str]:
    """``POST /txns`` (server-to-server) for the attempt's method. Raises ``UnsupportedMethod``.

    ``redirect_after_payment=true`` + ``format=json``: Juspay answers JSON with the
    authentication URL instead of redirecting.
    """
    form = {"order_id": order_id, "merchant_id": merchant_id, "redirect_after_payment": "true", "format": "json"}
    method = request.method
    if method.type == "card" and method.card is not None:
        card = method.card
        form.update(
            payment_method_type="CARD",
            card_number=card.number,
            card_exp_month=f"{card.exp_month:02d}",
            card_exp_year=f"{card.exp_year % 100:02d}",  # YY, as Juspay's samples send
            card_security_code=card.cvc,
            save_to_locker="false",
        )
        if card.holder_name:
            form["name_on_card"] = card.holder_name
        brand = card_brand(card.number)
        if brand:
            form["payment_method"] = brand
    elif method.type == "upi" and method.vpa:
        form.update(payment_method_type="UPI", payment_method="UPI", txn_type="UPI_COLLECT", upi_vpa=method.vpa)
    elif method.type == "netbanking" and method.bank_code:
        code = method.bank_code.upper()
        form.update(payment_method_type="NB", payment_method=code if code.startswith("NB_") else f"NB_{code}")
    elif method.type == "wallet" and method.wallet_provider:
        form.update(payment_method_type="WALLET", payment_method=method.wallet_provider.upper())
    else:
        raise UnsupportedMethod(f"payment method {method.type!r} is not supported or incomplete")
    return form


def card_brand(number: str) -> str | None:
    """Juspay's ``payment_method`` for a card number (its brand), ``None`` when unsure."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in ("34", "37"):
        return "AMEX"
    prefix2, prefix4 = int(number[:2] or 0), int(number[:4] or 0)
    if 51 <= prefix2 <= 55 or 2221 <= prefix4 <= 2720:
        return "MASTERCARD"
    if number.startswith(("60", "65", "81", "82", "508")):
        return "RUPAY"
    return None


def capture_form(attempt_id: str, amount: int, authorized: int, currency: str) -> dict[str, str]:
    """``POST /v2/txns/{txn_uuid}/capture``: empty for the whole hold; a partial capture sends
    ``amount`` and an ``idempotence_key`` derived from the attempt (one capture per attempt), so a
    retry after a lost answer can never capture twice."""
    if amount >= authorized:
        return {}
    return {"amount": to_decimal_string(amount, currency), "idempotence_key": f"cap_{attempt_id}"[:64]}


def refund_form(request: RefundRequest) -> dict[str, str]:
    """``POST /orders/{order_id}/refunds``: always an explicit amount (never "the rest")."""
    return {
        "unique_request_id": request_id_for(request.refund_id),
        "amount": to_decimal_string(request.amount, request.currency),
    }


def customer_form(customer_id: str, email: str | None, phone: str | None, name: str | None) -> dict[str, str]:
    """``POST /customers``: ``object_reference_id`` = our customer id (Juspay: ≥ 8 chars).

    ``mobile_number`` is mandatory at Juspay, without ``+`` or country code: a longer number is
    split into ``mobile_country_code`` and its last 10 digits; none at all sends a placeholder.
    """
    digits = re.sub(r"\D", "", phone or "")
    form = {"object_reference_id": customer_id, "mobile_number": digits[-10:] or PLACEHOLDER_PHONE}
    if len(digits) > 10:
        form["mobile_country_code"] = digits[:-10]
    if email:
        form["email_address"] = email
    first, _, last = (name or "").strip().partition(" ")
    if first:
        form["first_name"] = first
    if last.strip():
        form["last_name"] = last.strip()
    return form
