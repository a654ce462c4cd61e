"""Juspay's order/transaction statuses and error codes, mapped to the engine's outcomes.

Statuses (reference §4.5 appendix table, plus the pre-auth statuses of Juspay's capture/void
docs): an unlisted status is ``UNKNOWN``. Decline codes come from ``bank_error_code``, which
carries the acquirer's ISO 8583 response code for cards (``05`` do not honour, ``51``
insufficient funds, ``54`` expired card -- the codes the sandbox publishes too) or NPCI's UPI
codes; an unlisted code falls back on the status.
"""

from __future__ import annotations

from engine.gateways.base import Outcome, RefundOutcome

ORDER_STATUS: dict[str, Outcome] = {
    "CHARGED": Outcome.CAPTURED,
    # A partial capture (Capture API: "the order status updates to PARTIAL_CHARGED"): captured for
    # the order's amount_captured, the rest of the hold released.
    "PARTIAL_CHARGED": Outcome.CAPTURED,
    "AUTHORIZED": Outcome.AUTHORIZED,  # pre-auth held (order metadata txns.auto_capture=false)
    "CAPTURE_INITIATED": Outcome.AUTHORIZED,  # capture pending: the hold still stands
    "CAPTURE_FAILED": Outcome.AUTHORIZED,  # capture refused: still authorized
    "VOID_INITIATED": Outcome.AUTHORIZED,
    "VOID_FAILED": Outcome.AUTHORIZED,
    "VOIDED": Outcome.VOIDED,
    "PENDING_VBV": Outcome.PROCESSING,  # authentication in progress
    "VBV_SUCCESSFUL": Outcome.PROCESSING,
    "AUTHORIZING": Outcome.PROCESSING,
    "STARTED": Outcome.PROCESSING,
    "JUSPAY_DECLINED": Outcome.DECLINED,
    "AUTHENTICATION_FAILED": Outcome.DECLINED,
    "AUTHORIZATION_FAILED": Outcome.DECLINED,
    "AUTO_REFUNDED": Outcome.DECLINED,  # charged late, given back: the payment did not succeed
    # CREATED / NEW / NOT_FOUND: no transaction yet -> UNKNOWN with raw "no_payment" (see
    # transformers); COD_INITIATED and anything new -> UNKNOWN.
}
NO_TRANSACTION = frozenset({"CREATED", "NEW", "NOT_FOUND"})

# Default decline code per failed status when the bank code says nothing we know.
STATUS_DECLINES: dict[str, str] = {
    "AUTHENTICATION_FAILED": "authentication_failed",
    "AUTHORIZATION_FAILED": "card_declined",
    "JUSPAY_DECLINED": "generic_decline",
    "AUTO_REFUNDED": "processing_error",
}

BANK_DECLINES: dict[str, str] = {
    # ISO 8583 (cards)
    "05": "card_declined",
    "57": "card_declined",
    "62": "card_declined",
    "51": "insufficient_funds",
    "54": "expired_card",
    "14": "incorrect_number",
    "55": "incorrect_pin",
    "N7": "incorrect_cvc",
    "41": "lost_card",
    "43": "stolen_card",
    "59": "fraudulent",
    # NPCI (UPI)
    "ZA": "customer_canceled",  # declined by the payer
    "Z9": "insufficient_funds",
    "ZM": "incorrect_pin",
    "ZH": "invalid_vpa",
    "U17": "invalid_vpa",
}

# ``/txns`` and order-create error codes (``{"status": "error", "error_code"}``).
INPUT_DECLINES: dict[str, str] = {
    "invalid_card": "incorrect_number",
    "invalid_vpa": "invalid_vpa",
}
# "Order is already paid or has a transaction in progress": an earlier /txns got through.
ALREADY_STARTED = frozenset({"invalid_order_state"})
# A 5xx naming the payment gateway as unreachable: Juspay did not reach it, nothing moved.
NOT_FORWARDED = frozenset({"gateway_error"})

REFUND_STATUS: dict[str, RefundOutcome] = {
    "PENDING": RefundOutcome.PENDING,
    "MANUAL_REVIEW": RefundOutcome.PENDING,  # ambiguous at the PG: still unresolved
    "SUCCESS": RefundOutcome.SUCCEEDED,
    "FAILURE": RefundOutcome.FAILED,
}


def order_outcome(status: str | None) -> Outcome:
    """The outcome of an order / transaction status; ``UNKNOWN`` when unlisted."""
    return ORDER_STATUS.get(status or "", Outcome.UNKNOWN)


def decline_code(status: str | None, bank_code: str | None) -> str:
    """The engine decline code of a failed status and its ``bank_error_code``."""
    if bank_code and bank_code in BANK_DECLINES:
        return BANK_DECLINES[bank_code]
    return STATUS_DECLINES.get(status or "", "generic_decline")
