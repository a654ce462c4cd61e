"""Razorpay's statuses and error reasons, mapped to the engine's outcomes and decline codes.

Unlisted statuses never become failures: an unknown payment status maps to ``UNKNOWN`` and an
unknown refund status to ``PENDING`` (the refund exists; its end is still to come).
"""

from __future__ import annotations

from engine.gateways.base import Outcome, RefundOutcome

# Razorpay ``error_reason`` / ``reason`` -> the engine's (Stripe-style) decline codes. A reason
# not listed keeps ``generic_decline``; the raw reason is still reported as ``error_code``.
DECLINE_CODES: dict[str, str] = {
    "card_declined": "card_declined",
    "payment_declined": "card_declined",
    "insufficient_funds": "insufficient_funds",
    "insufficient_balance": "insufficient_funds",
    "card_expired": "expired_card",
    "expired_card": "expired_card",
    "incorrect_cvv": "incorrect_cvc",
    "invalid_cvv": "incorrect_cvc",
    "incorrect_card_number": "incorrect_number",
    "invalid_card_number": "incorrect_number",
    "incorrect_otp": "authentication_failed",
    "authentication_failed": "authentication_failed",
    "payment_authentication_failed": "authentication_failed",
    "payment_cancelled": "customer_canceled",
    "payment_cancelled_by_user": "customer_canceled",
    "payment_risk_check_failed": "fraudulent",
    "transaction_limit_exceeded": "card_velocity_exceeded",
    "invalid_vpa": "invalid_vpa",
    "payment_timed_out": "payment_timeout",
    "bank_technical_error": "processing_error",
    "gateway_technical_error": "processing_error",
    "server_error": "processing_error",
}

# ``input_validation_failed`` means Razorpay rejected our request before creating anything. It
# is a decline (nothing moved, and resending the same data cannot succeed); the ``field`` says
# whether the customer's instrument was at fault, otherwise it is our request (``invalid_request``).
_INVALID_FIELD_CODES: dict[str, str] = {
    "number": "incorrect_number",
    "card[number]": "incorrect_number",
    "cvv": "invalid_cvc",
    "card[cvv]": "invalid_cvc",
    "expiry_month": "invalid_expiry_month",
    "card[expiry_month]": "invalid_expiry_month",
    "expiry_year": "invalid_expiry_year",
    "card[expiry_year]": "invalid_expiry_year",
    "vpa": "invalid_vpa",
    "upi[vpa]": "invalid_vpa",
}

PAYMENT_STATUS: dict[str, Outcome] = {
    "created": Outcome.PROCESSING,
    "authorized": Outcome.AUTHORIZED,
    "captured": Outcome.CAPTURED,
    "refunded": Outcome.CAPTURED,  # it was captured; refunds are tracked separately
    "failed": Outcome.DECLINED,
}

REFUND_STATUS: dict[str, RefundOutcome] = {
    "pending": RefundOutcome.PENDING,
    "processed": RefundOutcome.SUCCEEDED,
    "failed": RefundOutcome.FAILED,
}


def decline_code(reason: str | None, field: str | None = None) -> str:
    """Map a Razorpay error reason (and the offending field) to an engine decline code."""
    if reason == "input_validation_failed":
        return _INVALID_FIELD_CODES.get(field or "", "invalid_request")
    return DECLINE_CODES.get(reason or "", "generic_decline")
