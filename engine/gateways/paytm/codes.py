"""Paytm's statuses and result codes, mapped to the engine's outcomes and decline codes.

Paytm reports a payment with ``STATUS`` / ``resultStatus`` (``TXN_SUCCESS``, ``TXN_FAILURE``,
``PENDING``) plus a ``RESPCODE`` / ``resultCode``. A failure code that says nothing about the
customer's money -- "no record found", "server down", "MID invalid" -- is *not* a decline: the
payment's fate is still open (``UNKNOWN``, to settle by status sync). An unlisted failure code
under ``TXN_FAILURE`` is a ``generic_decline`` (Paytm did say the transaction failed); an
unlisted *status* is ``UNKNOWN``.

Sources: reference/gateways.md §1.4 (connector-service's ``map_paytm_sync_status``) and
Paytm's "Transaction response codes and messages" list (codes 141, 202-210).
"""

from __future__ import annotations

from engine.gateways.base import Outcome, RefundOutcome

SUCCESS = "TXN_SUCCESS"
FAILURE = "TXN_FAILURE"
PENDING = "PENDING"

# RESPCODE / resultCode under TXN_FAILURE -> engine decline code.
DECLINE_CODES: dict[str, str] = {
    "227": "card_declined",  # declined by bank
    "401": "card_declined",  # declined by bank
    "205": "card_declined",  # declined by the bank
    "208": "card_declined",  # declined by the acquirer bank
    "843": "card_declined",  # remitting account blocked or frozen
    "207": "expired_card",
    "209": "incorrect_number",  # card details invalid
    "210": "lost_card",
    "202": "insufficient_funds",  # not enough credit limit
    "235": "insufficient_funds",  # wallet balance insufficient
    "295": "invalid_vpa",
    "141": "customer_canceled",  # user has not completed the transaction
    "267": "generic_decline",  # mandate gap
    "820": "generic_decline",  # mobile number linked to the account changed
    "810": "generic_decline",  # transaction failed
    "931": "authentication_failed",  # incorrect passcode
    "312": "card_not_supported",
    "315": "invalid_expiry_year",
}

# Failure codes that do not decide the payment: Paytm has no such transaction (331, 334) or
# could not answer (501, 335). ``no_payment`` mirrors Razorpay's "order without a payment".
UNDECIDED_CODES: dict[str, str] = {
    "331": "no_payment",  # no record found
    "334": "no_payment",  # invalid order id (unknown to Paytm)
    "501": "server_down",
    "335": "mid_invalid",
}

PENDING_CODES = frozenset({"400", "402"})
# "Record not found" (assumption from the sandbox, not Paytm's published list): on a refund
# status read, no refund exists under that refId.
RECORD_NOT_FOUND = "631"

# Process-transaction ``resultInfo`` (``F``) codes: Paytm refused to start the transaction.
# Our request or session was at fault (nothing was charged; another gateway may do better).
PROCESS_RETRYABLE_CODES = frozenset(
    {
        "501",  # system error
        "510",  # merchant transaction failure
        "1006",  # session (txn token) expired
        "2004",  # invalid user token
        "372",  # retry count breached
        "1005",  # duplicate request handling
        "RC-00018",  # merchant acceptance limit crossed
    }
)
# Request-validation refusals: our request is malformed for Paytm (resending cannot succeed).
PROCESS_INVALID_CODES = frozenset({"309", "1001", "1007", "0001"})

# Refund ``resultInfo.resultStatus`` values (the refund-status enum is UNCONFIRMED in the
# reference; modelled like the payment API, plus the refund webhook's SUCCESS / FAILED).
REFUND_STATUS: dict[str, RefundOutcome] = {
    "TXN_SUCCESS": RefundOutcome.SUCCEEDED,
    "SUCCESS": RefundOutcome.SUCCEEDED,
    "PENDING": RefundOutcome.PENDING,
    "TXN_FAILURE": RefundOutcome.FAILED,
    "FAILED": RefundOutcome.FAILED,
    "FAILURE": RefundOutcome.FAILED,
}


def payment_outcome(status: str | None, code: str | None) -> tuple[Outcome, str | None]:
    """The outcome of a ``(STATUS, RESPCODE)`` pair and, for a decline, its decline code.

    ``UNKNOWN`` for unknown statuses and for failure codes that decide nothing.
    """
    code = code or ""
    if status == SUCCESS:
        return Outcome.CAPTURED, None
    if status == PENDING or (status == FAILURE and code in PENDING_CODES):
        return Outcome.PROCESSING, None
    if status == FAILURE:
        if code in UNDECIDED_CODES:
            return Outcome.UNKNOWN, None
        return Outcome.DECLINED, DECLINE_CODES.get(code, "generic_decline")
    return Outcome.UNKNOWN, None


def process_failure(code: str | None) -> tuple[Outcome, str]:
    """A process-transaction ``F``: retryable (Paytm-side), invalid request, or a decline."""
    code = code or ""
    if code in PROCESS_RETRYABLE_CODES:
        return Outcome.RETRYABLE, "processing_error"
    if code in PROCESS_INVALID_CODES:
        return Outcome.DECLINED, "invalid_request"
    return Outcome.DECLINED, DECLINE_CODES.get(code, "generic_decline")
