"""PayU's statuses and error codes, mapped to the engine's outcomes and decline codes.

A transaction's ``status`` (``success`` / ``failure`` / ``pending``) with ``unmappedstatus``
(``captured``, ``auth``, ``userCancelled``, …) decides the outcome (reference §3.3-3.4, JP-CS
mapping): ``success`` + ``captured`` is captured, ``success`` + ``auth`` authorized, ``pending``
processing, ``failure``/``failed``/``cancel`` declined. An unknown status is ``UNKNOWN``.

Decline codes: PayU's ``error`` codes are many and poorly documented, so known codes are mapped
first (including the sandbox's published choices) and then the ``error_Message`` / ``field9``
text; anything else under a failure is ``generic_decline``.
"""

from __future__ import annotations

from engine.gateways.base import Outcome, RefundOutcome

PAYMENT_STATUS: dict[str, Outcome] = {
    "success": Outcome.CAPTURED,  # refined by unmappedstatus (auth -> AUTHORIZED)
    "pending": Outcome.PROCESSING,
    "failure": Outcome.DECLINED,
    "failed": Outcome.DECLINED,
    "cancel": Outcome.DECLINED,
    "cancelled": Outcome.DECLINED,
    "usercancelled": Outcome.DECLINED,
    "dropped": Outcome.DECLINED,
    "bounced": Outcome.DECLINED,
}

# ``unmappedstatus`` values that, under ``success``, mean "authorized, not captured".
AUTH_ONLY = frozenset({"auth", "authorized"})

DECLINE_CODES: dict[str, str] = {
    "E308": "card_declined",
    "E208": "insufficient_funds",
    "E217": "expired_card",
    "E1605": "customer_canceled",
    "E1904": "invalid_vpa",  # UPI collect declined by the payer / VPA
    "E1005": "incorrect_number",  # invalid card details
    "E1006": "invalid_vpa",
}

# Message fragments (lower case) -> decline code, for codes not listed above.
_MESSAGE_CODES: tuple[tuple[str, str], ...] = (
    ("insufficient", "insufficient_funds"),
    ("expired", "expired_card"),
    ("cvv", "incorrect_cvc"),
    ("invalid card", "incorrect_number"),
    ("card number", "incorrect_number"),
    ("vpa", "invalid_vpa"),
    ("cancel", "customer_canceled"),
    ("authenticat", "authentication_failed"),
    ("declined", "card_declined"),
)

# ``_payment`` request errors (``{"status": "failure", "error": code}``), by what they prove.
# The merchant's request was refused before a transaction existed: our setup at PayU (hash,
# key) -> another gateway may take it; a malformed request -> declined as invalid.
REQUEST_RETRYABLE = frozenset({"E1001", "E1007", "E500"})
REQUEST_INVALID = frozenset({"E1002", "E1003"})
# A "duplicate txnid": an earlier request with this txnid reached PayU -- its fate is open.
REQUEST_DUPLICATE = frozenset({"E1004"})

# ``cancel_refund_transaction`` ``error_code`` values (PayU "error codes for refund initiation").
REFUND_PENDING_CODES = frozenset({"101", "102", "104", "109", "123", "126", "127", "225", "226"})
REFUND_DUPLICATE_CODES = frozenset({"106", "109", "227"})  # this token / request already exists
REFUND_SUCCESS_CODES = frozenset({"100"})

# Refund action ``status`` (check_action_status, refund callback): JP-CS maps success -> success,
# failure/failed -> failure, everything else (queued, od_hit, requested, …) -> pending.
REFUND_STATUS: dict[str, RefundOutcome] = {
    "success": RefundOutcome.SUCCEEDED,
    "failure": RefundOutcome.FAILED,
    "failed": RefundOutcome.FAILED,
}


def payment_outcome(status: str | None, unmapped: str | None) -> Outcome:
    """The outcome of a ``(status, unmappedstatus)`` pair; ``UNKNOWN`` when the status is new."""
    outcome = PAYMENT_STATUS.get((status or "").lower(), Outcome.UNKNOWN)
    if outcome is Outcome.CAPTURED and (unmapped or "").lower() in AUTH_ONLY:
        return Outcome.AUTHORIZED
    return outcome


def decline_code(error: str | None, message: str | None) -> str:
    """The engine decline code for a PayU ``error`` code and its message."""
    if error and error in DECLINE_CODES:
        return DECLINE_CODES[error]
    text = (message or "").lower()
    for fragment, code in _MESSAGE_CODES:
        if fragment in text:
            return code
    return "generic_decline"
