"""Status enums and the legal-transition tables (pure; mirrored by sql/0001_core.sql).

A status never moves backwards: each table lists, for a current status, the statuses it may
move to. Staying in the same status is always allowed (field updates). The SQL trigger
``enforce_status_transition`` checks the same pairs, and a test compares the two tables.
"""

from __future__ import annotations

import enum

from engine.gateways.base import Outcome


class PaymentStatus(enum.StrEnum):
    """Public payment statuses (Stripe's model)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    PROCESSING = "processing"
    REQUIRES_ACTION = "requires_action"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class AttemptStatus(enum.StrEnum):
    """Detailed status of one gateway attempt; ``unknown`` is never turned into ``failed``."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    UNKNOWN = "unknown"
    VOIDED = "voided"


class RefundStatus(enum.StrEnum):
    """Refund statuses; ``unknown`` until the gateway answers."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


P, A, R = PaymentStatus, AttemptStatus, RefundStatus

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.REQUIRES_PAYMENT_METHOD: frozenset({P.REQUIRES_CONFIRMATION, P.PROCESSING, P.CANCELED}),
    P.REQUIRES_CONFIRMATION: frozenset({P.PROCESSING, P.REQUIRES_PAYMENT_METHOD, P.CANCELED}),
    P.PROCESSING: frozenset({P.REQUIRES_ACTION, P.REQUIRES_CAPTURE, P.SUCCEEDED, P.REQUIRES_PAYMENT_METHOD}),
    P.REQUIRES_ACTION: frozenset(
        {P.PROCESSING, P.REQUIRES_CAPTURE, P.SUCCEEDED, P.REQUIRES_PAYMENT_METHOD, P.CANCELED}
    ),
    P.REQUIRES_CAPTURE: frozenset({P.SUCCEEDED, P.CANCELED}),
    P.SUCCEEDED: frozenset(),
    P.CANCELED: frozenset(),
}

_OPEN_ATTEMPT = frozenset({A.REQUIRES_ACTION, A.PROCESSING, A.AUTHORIZED, A.CAPTURED, A.FAILED, A.UNKNOWN})
ATTEMPT_TRANSITIONS: dict[AttemptStatus, frozenset[AttemptStatus]] = {
    A.PENDING: _OPEN_ATTEMPT,
    A.REQUIRES_ACTION: _OPEN_ATTEMPT - {A.REQUIRES_ACTION},
    A.PROCESSING: _OPEN_ATTEMPT - {A.PROCESSING},
    A.UNKNOWN: _OPEN_ATTEMPT - {A.UNKNOWN},
    A.AUTHORIZED: frozenset({A.CAPTURED, A.VOIDED}),
    A.CAPTURED: frozenset(),
    A.FAILED: frozenset(),
    A.VOIDED: frozenset(),
}

REFUND_TRANSITIONS: dict[RefundStatus, frozenset[RefundStatus]] = {
    R.PENDING: frozenset({R.SUCCEEDED, R.FAILED, R.UNKNOWN}),
    R.UNKNOWN: frozenset({R.PENDING, R.SUCCEEDED, R.FAILED}),
    R.SUCCEEDED: frozenset(),
    R.FAILED: frozenset(),
}

# Payments the merchant may still confirm, cancel, and so on.
CONFIRMABLE = frozenset({P.REQUIRES_PAYMENT_METHOD, P.REQUIRES_CONFIRMATION})
# Not ``requires_action``: the customer is on the gateway's page and may still be charged there;
# canceling now could hide a real charge behind a canceled payment. Such a payment is canceled
# once its attempt resolves (declined, expired) -- or it succeeds.
CANCELABLE = frozenset({P.REQUIRES_PAYMENT_METHOD, P.REQUIRES_CONFIRMATION, P.REQUIRES_CAPTURE})
# Attempts whose outcome is still open: the status sync and the reconciler look at these.
UNRESOLVED_ATTEMPTS = frozenset({A.PENDING, A.REQUIRES_ACTION, A.PROCESSING, A.UNKNOWN})


def can_move(table: dict, current: str, new: str) -> bool:
    """Whether ``current -> new`` is legal in ``table`` (same status is always legal)."""
    return current == new or new in table[current]


def sources_of(table: dict, target: str) -> list[str]:
    """Every status from which ``target`` may be reached (itself included), for guarded UPDATEs."""
    return [str(src) for src, targets in table.items() if target in targets or src == target]


def attempt_status_for(outcome: Outcome) -> AttemptStatus:
    """The attempt status a connector outcome proves."""
    return _ATTEMPT_BY_OUTCOME[outcome]


_ATTEMPT_BY_OUTCOME = {
    Outcome.AUTHORIZED: A.AUTHORIZED,
    Outcome.CAPTURED: A.CAPTURED,
    Outcome.PROCESSING: A.PROCESSING,
    Outcome.REQUIRES_ACTION: A.REQUIRES_ACTION,
    Outcome.DECLINED: A.FAILED,
    Outcome.RETRYABLE: A.FAILED,
    Outcome.UNKNOWN: A.UNKNOWN,
    Outcome.VOIDED: A.VOIDED,
}


def payment_status_for(attempt: AttemptStatus) -> PaymentStatus:
    """The payment status implied by its current attempt."""
    if attempt is A.CAPTURED:
        return P.SUCCEEDED
    if attempt is A.AUTHORIZED:
        return P.REQUIRES_CAPTURE
    if attempt is A.REQUIRES_ACTION:
        return P.REQUIRES_ACTION
    if attempt is A.FAILED:
        return P.REQUIRES_PAYMENT_METHOD
    if attempt is A.VOIDED:
        return P.CANCELED
    return P.PROCESSING  # pending, processing, unknown: money may be moving
