"""The pure rules that fold gateway answers into attempts and payments (no IO)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.gateways.base import ChargeResult, Outcome
from engine.model import Attempt, Payment
from engine.payment_rules import INTERNAL_ERROR, apply_charge_result, conclude_absent
from engine.states import (
    ATTEMPT_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    AttemptStatus,
    PaymentStatus,
    can_move,
    payment_status_for,
    sources_of,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def payment(status: str = "processing", **kw) -> Payment:
    base = dict(
        id="pay_1",
        merchant_id="mer_1",
        amount=1000,
        currency="INR",
        status=status,
        capture_method="automatic",
        created_at=NOW,
        updated_at=NOW,
    )
    return Payment(**{**base, **kw})


def attempt(status: str = "pending", **kw) -> Attempt:
    base = dict(
        id="att_1",
        payment_id="pay_1",
        merchant_id="mer_1",
        gateway="razorpay",
        gateway_account_id="gwa_1",
        status=status,
        amount=1000,
        method_type="card",
        created_at=NOW,
        updated_at=NOW,
    )
    return Attempt(**{**base, **kw})


def test_captured_result_succeeds_payment_with_received_amount():
    change = apply_charge_result(payment(), attempt(), ChargeResult(Outcome.CAPTURED, "pay_gw", amount_captured=1000))
    assert change is not None
    assert change.attempt.status == "captured" and change.attempt.amount_captured == 1000
    assert change.payment.status == "succeeded" and change.payment.amount_received == 1000
    assert change.payment.gateway_reference == "pay_gw"
    assert change.events == ("attempt.captured", "payment.succeeded")


def test_authorized_result_makes_amount_capturable():
    change = apply_charge_result(payment(), attempt(), ChargeResult(Outcome.AUTHORIZED, "pay_gw"))
    assert change.payment.status == "requires_capture" and change.payment.amount_capturable == 1000


def test_decline_returns_payment_to_requires_payment_method_with_last_error():
    result = ChargeResult(Outcome.DECLINED, decline_code="insufficient_funds", error_message="Declined")
    change = apply_charge_result(payment(), attempt(), result)
    assert change.attempt.status == "failed"
    assert change.payment.status == "requires_payment_method"
    assert change.payment.last_error["decline_code"] == "insufficient_funds"
    assert change.payment.last_error["code"] == "card_declined"


def test_retryable_failure_is_a_gateway_error_not_a_decline():
    change = apply_charge_result(payment(), attempt(), ChargeResult(Outcome.RETRYABLE, error_code="SERVER_ERROR"))
    assert change.payment.last_error["code"] == "gateway_unavailable"
    assert change.payment.last_error["decline_code"] is None


def test_unknown_never_fails_the_payment():
    change = apply_charge_result(payment(), attempt(), ChargeResult(Outcome.UNKNOWN))
    assert change.attempt.status == "unknown"
    assert change.payment.status == "processing" and change.payment.last_error is None


def test_requires_action_sets_redirect_next_action():
    change = apply_charge_result(
        payment(), attempt(), ChargeResult(Outcome.REQUIRES_ACTION, redirect_url="https://gw/3ds")
    )
    assert change.payment.next_action == {"type": "redirect", "redirect_url": "https://gw/3ds"}


@pytest.mark.parametrize(
    "late", [Outcome.PROCESSING, Outcome.AUTHORIZED, Outcome.DECLINED, Outcome.UNKNOWN, Outcome.REQUIRES_ACTION]
)
def test_late_news_never_moves_a_captured_attempt_backwards(late):
    done_payment = payment("succeeded", amount_received=1000, gateway_reference="pay_gw")
    done_attempt = attempt("captured", amount_captured=1000, gateway_reference="pay_gw")
    assert apply_charge_result(done_payment, done_attempt, ChargeResult(late, "pay_gw")) is None


def test_duplicate_capture_news_is_a_no_op():
    p = payment("succeeded", amount_received=1000, gateway_reference="g")
    a = attempt("captured", amount_captured=1000, gateway_reference="g")
    assert apply_charge_result(p, a, ChargeResult(Outcome.CAPTURED, "g", amount_captured=1000)) is None


def test_first_capture_amount_wins_over_a_later_full_amount():
    p = payment("requires_capture", amount_capturable=1000)
    a = attempt("authorized", gateway_reference="g")
    first = apply_charge_result(p, a, ChargeResult(Outcome.CAPTURED, "g", amount_captured=600))
    assert first.payment.amount_received == 600 and first.payment.amount_capturable == 0
    assert (
        apply_charge_result(first.payment, first.attempt, ChargeResult(Outcome.CAPTURED, "g", amount_captured=1000))
        is None
    )


def test_capture_cannot_exceed_the_attempt_amount():
    change = apply_charge_result(payment(), attempt(), ChargeResult(Outcome.CAPTURED, "g", amount_captured=5000))
    assert change.attempt.amount_captured == 1000 and change.payment.amount_received == 1000


def test_capture_after_cancel_records_the_money_but_keeps_the_payment_canceled():
    change = apply_charge_result(payment("canceled"), attempt("authorized"), ChargeResult(Outcome.CAPTURED, "g"))
    assert change.attempt.status == "captured"
    assert change.payment.status == "canceled"


def test_void_cancels_an_authorized_payment():
    change = apply_charge_result(
        payment("requires_capture", amount_capturable=1000), attempt("authorized"), ChargeResult(Outcome.VOIDED)
    )
    assert change.payment.status == "canceled" and change.payment.amount_capturable == 0


def test_transition_tables_never_leave_a_terminal_status():
    for terminal in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED):
        assert PAYMENT_TRANSITIONS[terminal] == frozenset()
    for terminal in (AttemptStatus.CAPTURED, AttemptStatus.FAILED, AttemptStatus.VOIDED):
        assert ATTEMPT_TRANSITIONS[terminal] == frozenset()
    assert not can_move(ATTEMPT_TRANSITIONS, AttemptStatus.UNKNOWN, AttemptStatus.PENDING)
    assert not can_move(PAYMENT_TRANSITIONS, PaymentStatus.SUCCEEDED, PaymentStatus.PROCESSING)
    assert can_move(PAYMENT_TRANSITIONS, PaymentStatus.PROCESSING, PaymentStatus.PROCESSING)


def test_every_attempt_status_maps_to_a_reachable_payment_status():
    for status in AttemptStatus:
        target = payment_status_for(status)
        assert target in PaymentStatus
    assert "processing" in sources_of(PAYMENT_TRANSITIONS, "succeeded")


def test_late_failure_of_an_older_attempt_leaves_the_retry_alone():
    retrying = payment("processing", gateway_reference=None)
    old_failed = attempt("failed", id="att_old", error_code="card_declined")
    change = apply_charge_result(retrying, old_failed, ChargeResult(Outcome.DECLINED, "pay_old"))
    assert change is None or (not change.payment_changed and change.payment == retrying and change.events == ())


# --- "the gateway has no payment": nothing was charged, once no live request can create one ---

NO_PAYMENT = ChargeResult(Outcome.UNKNOWN, gateway_order_id="order_1", raw_status="no_payment")


@pytest.mark.parametrize("status", ["pending", "unknown"])
def test_no_payment_at_the_gateway_long_after_the_attempt_began_means_nothing_was_charged(status):
    old = attempt(status)
    concluded = conclude_absent(old, NO_PAYMENT, NOW + timedelta(seconds=121), quiet_s=120)
    assert concluded.outcome is Outcome.RETRYABLE and concluded.gateway_order_id == "order_1"
    change = apply_charge_result(payment(), old, concluded)
    assert change is not None
    assert change.attempt.status == AttemptStatus.FAILED
    assert change.payment.status == PaymentStatus.REQUIRES_PAYMENT_METHOD
    assert "nothing was charged" in change.payment.last_error["message"]
    assert change.payment.amount_received == 0


def test_no_payment_while_a_live_request_may_still_create_one_is_only_not_yet():
    young = attempt("pending")
    assert conclude_absent(young, NO_PAYMENT, NOW + timedelta(seconds=119), quiet_s=120) is NO_PAYMENT


@pytest.mark.parametrize("status", ["processing", "requires_action", "authorized", "captured"])
def test_no_payment_never_fails_an_attempt_the_gateway_already_answered(status):
    answered = attempt(status)
    assert conclude_absent(answered, NO_PAYMENT, NOW + timedelta(days=1), quiet_s=120) is NO_PAYMENT


def test_only_no_payment_concludes_anything():
    timeout = ChargeResult(Outcome.UNKNOWN, error_code="transport_ReadTimeout")
    assert conclude_absent(attempt("unknown"), timeout, NOW + timedelta(days=1), quiet_s=120) is timeout


def test_a_connector_bug_keeps_its_own_failure_code():
    bug = ChargeResult(Outcome.RETRYABLE, error_code=INTERNAL_ERROR)
    change = apply_charge_result(payment(), attempt("pending"), bug)
    assert change is not None and change.attempt.error_code == INTERNAL_ERROR
    outage = ChargeResult(Outcome.RETRYABLE, error_code="order_http_500")
    change = apply_charge_result(payment(), attempt("pending"), outage)
    assert change is not None and change.attempt.error_code == "gateway_unavailable"


@pytest.mark.parametrize("status", ["requires_action", "processing"])
def test_could_not_tell_is_no_news_for_an_attempt_the_gateway_acknowledged(status):
    acknowledged = attempt(status, redirect_url="https://gw.test/otp" if status == "requires_action" else None)
    shown = payment(status, next_action={"type": "redirect", "redirect_url": "https://gw.test/otp"}
                    if status == "requires_action" else None)  # fmt: skip
    for news in (ChargeResult(Outcome.UNKNOWN, error_code="transport_ReadTimeout"), NO_PAYMENT):
        change = apply_charge_result(shown, acknowledged, news)
        assert change is None or (change.attempt.status == status and change.payment.status == status), change
