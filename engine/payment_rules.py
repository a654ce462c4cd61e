"""Pure rules: how a gateway's answer changes an attempt and its payment.

No IO here. The services lock the rows, call ``apply_charge_result`` and write what it returns,
so a webhook, a browser callback, a status sync and the original call can all deliver the same
or older news in any order without moving anything backwards or counting money twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.gateways.base import ChargeResult, Outcome
from engine.model import Attempt, Payment
from engine.states import (
    ATTEMPT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    AttemptStatus,
    PaymentStatus,
    attempt_status_for,
    can_move,
    payment_status_for,
)

# Which public code a failure reports when the gateway gave no decline code.
# The failure code of an attempt no gateway could take (nothing moved), as opposed to a decline.
GATEWAY_UNAVAILABLE = "gateway_unavailable"
_FAILURE_CODES = {Outcome.DECLINED: "card_declined", Outcome.RETRYABLE: GATEWAY_UNAVAILABLE}
# Failures whose own code is kept: a connector bug raised before any request left.
INTERNAL_ERROR = "internal_error"
# What connectors report when the gateway has no payment at all for an attempt.
NO_PAYMENT = "no_payment"
_NEVER_ANSWERED = frozenset({AttemptStatus.PENDING, AttemptStatus.UNKNOWN})
_ANSWERED_OPEN = frozenset({AttemptStatus.REQUIRES_ACTION, AttemptStatus.PROCESSING})


def conclude_absent(attempt: Attempt, result: ChargeResult, now: datetime, quiet_s: float) -> ChargeResult:
    """A gateway that has no payment for an attempt we never heard back about, once no live
    request can still be creating one (``quiet_s`` after the attempt began), proves that nothing
    was charged: the attempt fails as safe to retry. Younger, it is only "not yet"."""
    if (
        result.outcome is Outcome.UNKNOWN
        and result.raw_status == NO_PAYMENT
        and attempt.status in _NEVER_ANSWERED
        and (now - attempt.created_at).total_seconds() > quiet_s
    ):
        return ChargeResult(
            Outcome.RETRYABLE,
            gateway_order_id=result.gateway_order_id,
            error_code="not_found_at_gateway",
            error_message="The gateway has no payment for this attempt: nothing was charged.",
            raw_status=NO_PAYMENT,
        )
    return result


class Change(msgspec.Struct, frozen=True):
    """What to write: the new attempt and payment, whether each changed, and event types."""

    attempt: Attempt
    payment: Payment
    events: tuple[str, ...]
    attempt_changed: bool = True
    payment_changed: bool = True


def apply_charge_result(payment: Payment, attempt: Attempt, result: ChargeResult) -> Change | None:
    """Fold ``result`` into ``attempt`` and ``payment``; ``None`` when it changes nothing.

    A result that would move the attempt backwards (a late "processing" after "captured") only
    fills in missing references; statuses never regress.
    """
    new_status = attempt_status_for(result.outcome)
    current = AttemptStatus(attempt.status)
    if not can_move(ATTEMPT_TRANSITIONS, current, new_status):
        new_status = current
    if current is AttemptStatus.REQUIRES_ACTION and new_status is AttemptStatus.PROCESSING:
        # "Still pending" while the customer is on the gateway's page is no news: keep the
        # redirect (a status check or an unsigned callback must not take it away).
        new_status = current
    if current in _ANSWERED_OPEN and new_status is AttemptStatus.UNKNOWN:
        # "Could not tell" about an attempt the gateway already acknowledged (a status check
        # that timed out, "no payment yet") is no news either: only an attempt whose own
        # answer was lost is unknown -- and only such an attempt can later prove "nothing
        # was charged" (``conclude_absent``).
        new_status = current
    new_attempt = _next_attempt(attempt, new_status, result)
    # The payment follows an attempt only when that attempt's status moves. News that leaves the
    # attempt where it was (a late failure for an older attempt while a retry is in flight, a
    # duplicate) must not touch the payment, which may already belong to a newer attempt.
    new_payment = _next_payment(payment, new_attempt) if new_attempt.status != attempt.status else payment
    events: list[str] = []
    if new_attempt.status != attempt.status:
        events.append(f"attempt.{new_attempt.status}")
    if new_payment.status != payment.status:
        events.append(_payment_event(PaymentStatus(new_payment.status)))
    if new_attempt == attempt and new_payment == payment:
        return None
    return Change(
        attempt=new_attempt,
        payment=new_payment,
        events=tuple(events),
        attempt_changed=new_attempt != attempt,
        payment_changed=new_payment != payment,
    )


def _next_attempt(attempt: Attempt, status: AttemptStatus, result: ChargeResult) -> Attempt:
    changes: dict[str, Any] = {
        "status": str(status),
        "gateway_reference": attempt.gateway_reference or result.gateway_reference,
        "gateway_order_id": attempt.gateway_order_id or result.gateway_order_id,
    }
    if status != attempt.status or attempt.raw_status is None:
        # Late news that could not move the status must not rewrite the row either.
        changes["raw_status"] = result.raw_status or attempt.raw_status
    if status is AttemptStatus.CAPTURED and attempt.status != AttemptStatus.CAPTURED:
        # The first answer that proves the capture fixes the amount: later news (a webhook
        # carrying the authorized amount after a partial capture) must not inflate it.
        captured = result.amount_captured or attempt.amount
        changes["amount_captured"] = min(captured, attempt.amount)
    if status is AttemptStatus.REQUIRES_ACTION and result.redirect_url:
        changes["redirect_url"] = result.redirect_url
    if status is AttemptStatus.FAILED and attempt.status != AttemptStatus.FAILED:
        retryable = result.outcome is Outcome.RETRYABLE
        # A gateway failure is not a decline: it keeps its own public code so the API can
        # answer 502 instead of 402 (and failover can tell the two apart).
        changes["decline_code"] = None if retryable else result.decline_code
        if result.error_code == INTERNAL_ERROR:
            changes["error_code"] = INTERNAL_ERROR
        elif retryable:
            changes["error_code"] = _FAILURE_CODES[Outcome.RETRYABLE]
        else:
            changes["error_code"] = result.error_code or _FAILURE_CODES[Outcome.DECLINED]
        changes["error_message"] = result.error_message or "The payment was not completed."
    return msgspec.structs.replace(attempt, **changes)


def _next_payment(payment: Payment, attempt: Attempt) -> Payment:
    target = payment_status_for(AttemptStatus(attempt.status))
    status = PaymentStatus(payment.status)
    if can_move(PAYMENT_TRANSITIONS, status, target):
        status = target
    changes: dict[str, Any] = {"status": str(status), "gateway_reference": attempt.gateway_reference}
    next_action = {"type": "redirect", "redirect_url": attempt.redirect_url}
    changes["next_action"] = next_action if status is PaymentStatus.REQUIRES_ACTION else None
    if attempt.status == AttemptStatus.CAPTURED:
        changes["amount_received"] = max(payment.amount_received, attempt.amount_captured)
        changes["amount_capturable"] = 0
    elif attempt.status == AttemptStatus.AUTHORIZED:
        changes["amount_capturable"] = attempt.amount
    if status is PaymentStatus.REQUIRES_PAYMENT_METHOD and attempt.status == AttemptStatus.FAILED:
        changes["last_error"] = {
            "code": attempt.error_code,
            "message": attempt.error_message,
            "decline_code": attempt.decline_code,
            "attempt_id": attempt.id,
        }
    elif status in (PaymentStatus.SUCCEEDED, PaymentStatus.REQUIRES_CAPTURE):
        changes["last_error"] = None
    if status is PaymentStatus.CANCELED:
        changes["amount_capturable"] = 0
    return msgspec.structs.replace(payment, **changes)


def _payment_event(status: PaymentStatus) -> str:
    return {
        PaymentStatus.SUCCEEDED: "payment.succeeded",
        PaymentStatus.REQUIRES_CAPTURE: "payment.amount_capturable_updated",
        PaymentStatus.REQUIRES_ACTION: "payment.requires_action",
        PaymentStatus.PROCESSING: "payment.processing",
        PaymentStatus.REQUIRES_PAYMENT_METHOD: "payment.payment_failed",
        PaymentStatus.CANCELED: "payment.canceled",
    }.get(status, f"payment.{status}")


def fail_over(payment: Payment, attempt: Attempt, result: ChargeResult, next_gateway: str) -> Change:
    """A retryable failure handed to the next gateway: the attempt fails with its reason, the
    payment stays ``processing`` and its routing records the failover."""
    reason = result.error_code or result.raw_status or GATEWAY_UNAVAILABLE
    failed = msgspec.structs.replace(_next_attempt(attempt, AttemptStatus.FAILED, result), failover_reason=reason)
    routing = dict(payment.routing or {})
    routing["failovers"] = [
        *routing.get("failovers", []),
        {"from": attempt.gateway, "to": next_gateway, "attempt_id": attempt.id, "reason": reason},
    ]
    routing["gateway"] = next_gateway
    new_payment = msgspec.structs.replace(payment, routing=routing, gateway=next_gateway)
    return Change(attempt=failed, payment=new_payment, events=("attempt.failed", "payment.failover"))
