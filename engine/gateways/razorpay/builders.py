"""Request bodies for Razorpay, built from the engine's contract (pure, no IO)."""

from __future__ import annotations

from typing import Any

from engine.gateways.base import ChargeRequest, RefundRequest
from engine.gateways.razorpay.wire import (
    CardWire,
    OrderCreate,
    OrderNotes,
    PaymentCreate,
    RefundCreate,
    UpiWire,
)

# Razorpay requires ``email`` and ``contact`` on every S2S payment; when the merchant gave none
# we send these placeholders (the values Razorpay's own samples use). Assumption: acceptable
# for test mode; live accounts should collect the customer's real details.
PLACEHOLDER_EMAIL = "customer@example.com"
PLACEHOLDER_CONTACT = "9999999999"


class UnsupportedMethod(ValueError):
    """The payment method cannot be sent to Razorpay (unknown type or missing details)."""


def build_order(request: ChargeRequest) -> OrderCreate:
    """The order for an attempt: receipt = attempt id, our ids in ``notes``."""
    notes = OrderNotes(request.merchant_id, request.payment_id, request.attempt_id)
    return OrderCreate(request.amount, request.currency, request.attempt_id, notes, request.capture)


def build_payment(request: ChargeRequest, order_id: str) -> PaymentCreate:
    """The S2S JSON payment for an attempt. Raises ``UnsupportedMethod`` before any IO.

    Divergence from Razorpay's live S2S JSON API (an on-demand feature; answers 404 on accounts
    without it): live card payments also require the customer's ``ip``, ``referer``,
    ``user_agent`` and a 3DS2 ``browser`` object, which ``ChargeRequest`` does not carry yet.
    """
    method = request.method
    block: dict[str, Any] = {}
    if method.type == "card" and method.card is not None:
        card = method.card
        block["card"] = CardWire(
            number=card.number,
            name=card.holder_name or "Card Holder",
            expiry_month=f"{card.exp_month:02d}",
            expiry_year=f"{card.exp_year % 100:02d}",
            cvv=card.cvc,
        )
    elif method.type == "upi" and method.vpa:
        block["vpa"] = method.vpa
        block["upi"] = UpiWire(vpa=method.vpa)
    elif method.type == "netbanking" and method.bank_code:
        block["bank"] = method.bank_code
    elif method.type == "wallet" and method.wallet_provider:
        block["wallet"] = method.wallet_provider
    else:
        raise UnsupportedMethod(f"payment method {method.type!r} is not supported or incomplete")
    return PaymentCreate(
        amount=request.amount,
        currency=request.currency,
        order_id=order_id,
        email=request.customer_email or PLACEHOLDER_EMAIL,
        contact=request.customer_phone or PLACEHOLDER_CONTACT,
        method=method.type,
        callback_url=request.callback_url,
        notes={
            "merchant_id": request.merchant_id,
            "payment_id": request.payment_id,
            "attempt_id": request.attempt_id,
        },
        description=request.description,
        **block,
    )


def build_refund(request: RefundRequest) -> RefundCreate:
    """The refund body; our refund id rides in ``notes`` and ``receipt`` to be echoed back."""
    return RefundCreate(amount=request.amount, notes={"refund_id": request.refund_id}, receipt=request.refund_id)
