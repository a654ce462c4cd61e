"""Stateful property tests of the settle rules: any interleaving of gateway news never moves a
status backwards or counts money twice.

``PaymentMachine`` models one payment with its attempts the way the services drive the pure
rules (engine/services/charging.py, confirm.py):

- settle (``_settle`` / ``settle_in``): read the payment and attempt as stored, ``conclude_absent``
  then ``apply_charge_result``, write the attempt (and the payment when it changed) with their
  versions bumped -- either at once, or (``read_for_settle`` / ``write_settlement``) with other
  steps in between, the write guarded by the versions read as ``phases.write_settlement`` is
  (stale: nothing written, fold again from a fresh read);
- confirm (``_start``): a fresh pending attempt and the payment ``processing``, only from
  ``CONFIRMABLE``; failover (``failover.hand_over``): ``fail_over`` then a fresh attempt, only while the
  latest attempt is pending/unknown and the payment processing; cancel (void or in place);
- news of every outcome for the latest or an older attempt, duplicated and reordered, and "the
  gateway has no payment" at random attempt ages.

``RefundMachine`` models refunds of one succeeded payment as ``create_refund`` (reserve) and
``settle_refund`` (move, release on failure) do, with duplicated and reordered answers.

Every stored version of every row is kept, so the invariants see each write, not only the state
between steps. The clock is a fixed base moved forward by the steps, never the wall clock.
"""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine.gateways.base import ChargeResult, Outcome, RefundOutcome, RefundResult
from engine.model import Attempt, Payment, Refund
from engine.payment_rules import INTERNAL_ERROR, NO_PAYMENT, apply_charge_result, conclude_absent, fail_over
from engine.services.charging import FIRST_CHECK_UNKNOWN_S
from engine.services.confirm import PENDING_CHECK_AFTER
from engine.services.refunds import _STATUS as REFUND_STATUS_FOR
from engine.states import (
    ATTEMPT_TRANSITIONS,
    CANCELABLE,
    CONFIRMABLE,
    PAYMENT_TRANSITIONS,
    REFUND_TRANSITIONS,
    AttemptStatus,
    PaymentStatus,
    RefundStatus,
    can_move,
)

BASE = datetime(2026, 1, 1, tzinfo=UTC)
# ``absent_after_s``: twice the idempotency lock timeout; the exact value only scales the clock.
QUIET_S = 60.0
SETTINGS = settings(max_examples=200, stateful_step_count=40, deadline=None)

TERMINAL_PAYMENT = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED})
TERMINAL_ATTEMPT = frozenset({AttemptStatus.CAPTURED, AttemptStatus.FAILED, AttemptStatus.VOIDED})
TERMINAL_REFUND = frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED})
HOLDS_MONEY = frozenset({AttemptStatus.AUTHORIZED, AttemptStatus.CAPTURED})
NOTHING_CHARGED = "nothing was charged"
GATEWAYS = ("razorpay", "paytm", "payu", "juspay")

_refs = st.sampled_from([None, "pay_gw_1", "pay_gw_2"])
_orders = st.sampled_from([None, "order_1", "order_2"])
_raw = st.sampled_from([None, "created", "attempted", "success", "failure"])


def _charge_result(fields: dict[str, Any]) -> ChargeResult:
    return ChargeResult(**fields)


@functools.cache
def charge_results(amount: int) -> st.SearchStrategy[ChargeResult]:
    """Any mapped answer (original call, webhook, callback, status sync) for an attempt of ``amount``."""

    def of(outcome: Outcome, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[ChargeResult]:
        # Not ``st.builds``: it resolves ChargeResult's type hints on every draw (slow).
        base = {
            "outcome": st.just(outcome),
            "gateway_reference": _refs,
            "gateway_order_id": _orders,
            "raw_status": _raw,
        }
        return st.fixed_dictionaries({**base, **fields}).map(_charge_result)

    authorized = of(Outcome.AUTHORIZED)
    # 0 means "the full amount"; anything below ``amount`` is a partial capture.
    captured = of(Outcome.CAPTURED, amount_captured=st.one_of(st.just(0), st.just(amount), st.integers(0, amount)))
    return st.one_of(
        # The outcomes that move money come twice: runs should reach (and then re-hear) them.
        authorized,
        captured,
        authorized,
        captured,
        of(Outcome.PROCESSING),
        of(Outcome.REQUIRES_ACTION, redirect_url=st.sampled_from(["https://gw.test/3ds/1", "https://gw.test/3ds/2"])),
        of(
            Outcome.DECLINED,
            decline_code=st.sampled_from([None, "insufficient_funds", "do_not_honor"]),
            error_code=st.sampled_from([None, "card_declined", "BAD_REQUEST_ERROR"]),
        ),
        of(Outcome.RETRYABLE, error_code=st.sampled_from([None, "SERVER_ERROR", INTERNAL_ERROR])),
        of(Outcome.UNKNOWN, error_code=st.sampled_from([None, "connector_error", "timeout"])),
        of(Outcome.VOIDED),
        of(Outcome.UNKNOWN, raw_status=st.just(NO_PAYMENT)),
    )


def _legal_moves(history: list[str], table: dict, terminal: frozenset[str], what: str) -> None:
    for old, new in itertools.pairwise(history):
        assert can_move(table, old, new), f"{what} moved backwards: {old} -> {new} (history {history})"
        assert old not in terminal or new == old, f"{what} left terminal {old} for {new} (history {history})"


class PaymentMachine(RuleBasedStateMachine):
    """One payment, its attempts, and every kind of news about them in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.now = BASE
        self.payment: Payment
        self.attempts: list[Attempt] = []
        # Every stored version of each row, oldest first: the invariants check each write.
        self.payment_versions: list[Payment] = []
        self.attempt_versions: list[list[Attempt]] = []
        # (attempt index, result) of every news delivered, for duplicates and reorders.
        self.delivered: list[tuple[int, ChargeResult]] = []
        # Settles that read their rows and have not written yet: (attempt index, payment read,
        # attempt read, result, when read). Other steps run before they write.
        self.in_flight: list[tuple[int, Payment, Attempt, ChargeResult, datetime]] = []

    # -- the store -------------------------------------------------------------------------------
    # Every UPDATE bumps the row's ``version`` (``version = version + 1``), as the SQL does.

    def _store_payment(self, payment: Payment) -> None:
        self.payment = msgspec.structs.replace(payment, version=self.payment.version + 1, updated_at=self.now)
        self.payment_versions.append(self.payment)

    def _store_attempt(self, index: int, attempt: Attempt) -> None:
        stored = self.attempts[index]
        self.attempts[index] = msgspec.structs.replace(attempt, version=stored.version + 1, updated_at=self.now)
        self.attempt_versions[index].append(self.attempts[index])

    def _insert_attempt(self, gateway: str) -> Attempt:
        """A new ``pending`` attempt for the payment's amount (``start_attempt``, ``insert_attempt``)."""
        attempt = Attempt(
            id=f"att_{len(self.attempts) + 1}",
            payment_id=self.payment.id,
            merchant_id=self.payment.merchant_id,
            gateway=gateway,
            gateway_account_id=f"gwa_{gateway}",
            status=AttemptStatus.PENDING,
            amount=self.payment.amount,
            method_type="card",
            next_sync_at=self.now + PENDING_CHECK_AFTER,
            created_at=self.now,
            updated_at=self.now,
        )
        self.attempts.append(attempt)
        self.attempt_versions.append([attempt])
        return attempt

    def _fold(
        self, payment: Payment, attempt: Attempt, result: ChargeResult, now: datetime
    ) -> tuple[Attempt, Payment | None] | None:
        """``charging.settle_in``'s fold of the rows as read: what ``write_settlement`` is given
        (the attempt, and the payment only when it changed), or ``None`` when nothing changes."""
        result = conclude_absent(attempt, result, now, QUIET_S)
        change = apply_charge_result(payment, attempt, result)
        if change is None:
            return None
        settled_attempt = change.attempt
        if settled_attempt.status == AttemptStatus.UNKNOWN and attempt.status != AttemptStatus.UNKNOWN:
            settled_attempt = msgspec.structs.replace(
                settled_attempt, next_sync_at=now + timedelta(seconds=FIRST_CHECK_UNKNOWN_S)
            )
        return settled_attempt, change.payment if change.payment_changed else None

    def _write_settlement(self, index: int, attempt: Attempt, payment: Payment | None) -> None:
        # One statement: the payment (only when it changed) and always the attempt.
        if payment is not None:
            self._store_payment(payment)
        self._store_attempt(index, attempt)

    def _settle(self, index: int, result: ChargeResult) -> None:
        """``charging._settle``: read the rows, fold, write (no other writer in between)."""
        folded = self._fold(self.payment, self.attempts[index], result, self.now)
        if folded is not None:
            self._write_settlement(index, *folded)

    def _deliver(self, index: int, result: ChargeResult) -> None:
        self.delivered.append((index, result))
        self._settle(index, result)

    @property
    def latest(self) -> int:
        return len(self.attempts) - 1

    # -- steps -----------------------------------------------------------------------------------

    @initialize(
        amount=st.one_of(st.sampled_from([1, 2, 1000]), st.integers(1, 100_000)),
        status=st.sampled_from(sorted(CONFIRMABLE)),
        capture_method=st.sampled_from(["automatic", "manual"]),
    )
    def create_payment(self, amount: int, status: str, capture_method: str) -> None:
        self.payment = Payment(
            id="pay_1",
            merchant_id="mer_1",
            amount=amount,
            currency="INR",
            status=status,
            capture_method=capture_method,
            created_at=BASE,
            updated_at=BASE,
        )
        self.payment_versions.append(self.payment)

    @rule(gateway=st.sampled_from(GATEWAYS))
    def confirm(self, gateway: str) -> None:
        """``confirm._start`` (``start_attempt``): a pending attempt, the payment processing --
        only from ``CONFIRMABLE``; otherwise ``require`` refuses and nothing is written. (Always
        enabled, so a run that canceled early still has a step to take.)"""
        if self.payment.status not in CONFIRMABLE:
            return  # IllegalTransition
        attempt = self._insert_attempt(gateway)
        self._store_payment(
            msgspec.structs.replace(
                self.payment,
                status=PaymentStatus.PROCESSING,
                gateway=attempt.gateway,
                payment_method={"type": "card", "last4": "4242"},
                last_error=None,
                next_action=None,
                routing={"gateway": attempt.gateway, "candidates": list(GATEWAYS)},
            )
        )

    @precondition(
        lambda self: (
            self.attempts
            and self.payment.status == PaymentStatus.PROCESSING
            and self.attempts[-1].status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN)
        )
    )
    @rule(
        happens=st.integers(0, 2),
        error_code=st.sampled_from([None, "SERVER_ERROR", "gateway_timeout"]),
        raw_status=st.sampled_from([None, "503"]),
        gateway=st.sampled_from(GATEWAYS),
    )
    def failover(self, happens: int, error_code: str | None, raw_status: str | None, gateway: str) -> None:
        """``failover.hand_over``: fail the attempt, keep the payment processing, open the next.

        Only one time in three (``happens == 0``): otherwise it is enabled as often as news and
        most runs would be chains of pending attempts."""
        if happens:
            return
        result = ChargeResult(Outcome.RETRYABLE, error_code=error_code, raw_status=raw_status)
        index = self.latest
        change = fail_over(self.payment, self.attempts[index], result, gateway)
        self._store_attempt(index, change.attempt)
        self._store_payment(change.payment)
        self._insert_attempt(gateway)

    @precondition(lambda self: self.payment.status in CANCELABLE)
    @rule(happens=st.integers(0, 9))
    def cancel(self, happens: int) -> None:
        """``charging.cancel``: void an authorization at the gateway, else cancel in place.

        Only one time in ten (``happens == 0``): canceling ends the run's interesting part."""
        if happens:
            return
        if self.payment.status == PaymentStatus.REQUIRES_CAPTURE and self.payment.capture_method == "automatic":
            return  # its capture work row is open: "a capture of this payment is in progress"
        if self.attempts and self.attempts[-1].status == AttemptStatus.AUTHORIZED:
            self._deliver(self.latest, ChargeResult(Outcome.VOIDED))
        else:
            self._store_payment(
                msgspec.structs.replace(
                    self.payment, status=PaymentStatus.CANCELED, amount_capturable=0, next_action=None
                )
            )

    @precondition(lambda self: self.attempts)
    @rule(data=st.data())
    def news(self, data: st.DataObject) -> None:
        """An original answer, webhook, callback or status sync, mostly for the current attempt."""
        index = data.draw(st.one_of(st.just(self.latest), st.integers(0, self.latest)), label="attempt")
        self._deliver(index, data.draw(charge_results(self.payment.amount), label="result"))

    @precondition(lambda self: len(self.attempts) > 1)
    @rule(data=st.data())
    def late_news_for_older_attempt(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, self.latest - 1), label="older attempt")
        self._deliver(index, data.draw(charge_results(self.payment.amount), label="result"))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def duplicate_or_reorder(self, data: st.DataObject) -> None:
        """A news delivered before arrives again: the last one (duplicate) or any older one."""
        index, result = data.draw(
            st.one_of(st.just(self.delivered[-1]), st.sampled_from(self.delivered)), label="replayed"
        )
        self._deliver(index, result)

    @precondition(lambda self: self.attempts)
    @rule(data=st.data(), seconds=st.integers(0, int(3 * QUIET_S)))
    def gateway_has_no_payment(self, data: st.DataObject, seconds: int) -> None:
        """A status sync finding nothing at the gateway, at a random age of the attempt."""
        self.now += timedelta(seconds=seconds)
        index = data.draw(st.one_of(st.just(self.latest), st.integers(0, self.latest)), label="attempt")
        self._deliver(index, ChargeResult(Outcome.UNKNOWN, raw_status=NO_PAYMENT))

    @precondition(lambda self: self.attempts)
    @rule(data=st.data())
    def read_for_settle(self, data: st.DataObject) -> None:
        """A settle reads its rows (``phases.read_for_settle``, no lock) and folds; its write
        comes in a later step, after whatever other steps run in between."""
        index = data.draw(st.one_of(st.just(self.latest), st.integers(0, self.latest)), label="attempt")
        result = data.draw(charge_results(self.payment.amount), label="result")
        self.in_flight.append((index, self.payment, self.attempts[index], result, self.now))

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def write_settlement(self, data: st.DataObject) -> None:
        """The guarded write of a settle read earlier (``phases.write_settlement``): stale, with
        nothing written, when the attempt's version moved or -- only if the payment is written
        -- the payment's; then ``charging._settle`` folds again from a fresh read."""
        which = data.draw(st.integers(0, len(self.in_flight) - 1), label="in flight")
        index, payment, attempt, result, read_at = self.in_flight.pop(which)
        self.delivered.append((index, result))
        folded = self._fold(payment, attempt, result, read_at)
        if folded is None:
            return
        settled_attempt, settled_payment = folded
        moved = self.attempts[index].version != attempt.version
        if moved or (settled_payment is not None and self.payment.version != payment.version):
            self._settle(index, result)  # StaleWrite: read again, fold again
        else:
            self._write_settlement(index, settled_attempt, settled_payment)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def statuses_never_move_backwards(self) -> None:
        history = [p.status for p in self.payment_versions]
        _legal_moves(history, PAYMENT_TRANSITIONS, TERMINAL_PAYMENT, "payment")
        for versions in self.attempt_versions:
            history = [a.status for a in versions]
            _legal_moves(history, ATTEMPT_TRANSITIONS, TERMINAL_ATTEMPT, f"attempt {versions[0].id}")

    @invariant()
    def amounts_stay_in_bounds(self) -> None:
        received = [p.amount_received for p in self.payment_versions]
        assert received == sorted(received), f"amount_received decreased: {received}"
        for p in self.payment_versions:
            assert 0 <= p.amount_received <= p.amount, p
            assert 0 <= p.amount_capturable <= p.amount, p

    @invariant()
    def money_is_counted_once(self) -> None:
        holding = [a.id for a in self.attempts if a.status in HOLDS_MONEY]
        assert len(holding) <= 1, f"several attempts authorized or captured (one_success_per_payment): {holding}"
        captured = [a.amount_captured for a in self.attempts if a.status == AttemptStatus.CAPTURED]
        assert self.payment.amount_received == max(captured, default=0), (self.payment, self.attempts)

    @invariant()
    def payment_agrees_with_its_attempts(self) -> None:
        if self.payment.status == PaymentStatus.SUCCEEDED:
            assert self.payment.amount_received > 0, self.payment
        if self.payment.status == PaymentStatus.REQUIRES_CAPTURE:
            assert self.attempts and self.attempts[-1].status == AttemptStatus.AUTHORIZED, self.attempts

    @invariant()
    def first_proof_fixes_the_captured_amount(self) -> None:
        for versions in self.attempt_versions:
            amounts = {a.amount_captured for a in versions if a.status == AttemptStatus.CAPTURED}
            assert len(amounts) <= 1, f"{versions[0].id} captured amount changed: {amounts}"
            assert all(0 < amount <= versions[0].amount for amount in amounts), amounts

    @invariant()
    def nothing_charged_only_if_never_charged(self) -> None:
        for versions in self.attempt_versions:
            last = versions[-1]
            if last.status == AttemptStatus.FAILED and NOTHING_CHARGED in (last.error_message or ""):
                seen = [a.status for a in versions]
                assert not HOLDS_MONEY & set(seen), f"{last.id} 'nothing was charged' after {seen}"


# -- "nothing was charged" only for an attempt the gateway never answered ----------------------
# This machine found it: ``conclude_absent`` trusted the attempt's current status, and a "could
# not tell" answer (a "no payment" sync) moved an acknowledged ``requires_action``/``processing``
# attempt to ``unknown`` -- dropping the redirect -- so a later "no payment" failed it as "nothing
# was charged" while the customer could still pay on the gateway's page (shrunk: confirm,
# PROCESSING, no_payment at age 0, no_payment at age 61 s). An unknown answer is now no news for an
# acknowledged attempt (``payment_rules``), and this invariant holds.
ANSWERED = frozenset({AttemptStatus.REQUIRES_ACTION, AttemptStatus.PROCESSING})


class AnsweredAttemptMachine(PaymentMachine):
    """``PaymentMachine`` with one more invariant: "nothing was charged" never follows an answer."""

    @invariant()
    def nothing_charged_only_if_never_answered(self) -> None:
        for versions in self.attempt_versions:
            last = versions[-1]
            if last.status == AttemptStatus.FAILED and NOTHING_CHARGED in (last.error_message or ""):
                seen = [a.status for a in versions]
                assert not ANSWERED & set(seen), f"{last.id} 'nothing was charged' after {seen}"


class TestNothingChargedOnlyIfNeverAnswered(AnsweredAttemptMachine.TestCase):
    # Deterministic and quick: no shrinking (the example that found it is in the comment above).
    settings = settings(SETTINGS, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])


@pytest.mark.parametrize(
    "answer",
    [
        ChargeResult(Outcome.REQUIRES_ACTION, "pay_gw_1", redirect_url="https://gw.test/3ds/1"),
        ChargeResult(Outcome.PROCESSING, "pay_gw_1"),
    ],
    ids=["requires_action", "processing"],
)
def test_an_answered_attempt_is_not_concluded_absent(answer: ChargeResult) -> None:
    machine = PaymentMachine()
    machine.create_payment(amount=1000, status=PaymentStatus.REQUIRES_CONFIRMATION, capture_method="automatic")
    machine.confirm("juspay")
    machine._deliver(0, answer)
    no_payment = ChargeResult(Outcome.UNKNOWN, raw_status=NO_PAYMENT)
    machine._deliver(0, no_payment)  # a status sync while the customer is still on the page
    machine.now += timedelta(seconds=QUIET_S + 1)
    machine._deliver(0, no_payment)
    machine._deliver(0, ChargeResult(Outcome.CAPTURED, "pay_gw_1", amount_captured=1000))  # they paid
    assert machine.attempts[0].status != AttemptStatus.FAILED, machine.attempts[0]
    assert machine.payment.status == PaymentStatus.SUCCEEDED, machine.payment


class RefundMachine(RuleBasedStateMachine):
    """Refunds of one succeeded payment: reserve on create, settle any answer, release on failure."""

    def __init__(self) -> None:
        super().__init__()
        self.amount_received = 0
        self.amount_refunded = 0
        self.refunded_history: list[int] = []
        self.refunds: list[Refund] = []
        self.refund_versions: list[list[Refund]] = []
        self.delivered: list[tuple[int, RefundResult]] = []

    @initialize(data=st.data())
    def succeeded_payment(self, data: st.DataObject) -> None:
        amount = data.draw(st.one_of(st.sampled_from([1, 2, 1000]), st.integers(1, 100_000)), label="amount")
        self.amount_received = data.draw(st.one_of(st.just(amount), st.integers(1, amount)), label="received")
        self.refunded_history.append(self.amount_refunded)

    def _set_refunded(self, value: int) -> None:
        self.amount_refunded = value
        self.refunded_history.append(value)

    def _reserve(self, amount: int) -> bool:
        """``reserve_refund``: only while the total stays within what was received."""
        if self.amount_refunded + amount > self.amount_received:
            return False
        self._set_refunded(self.amount_refunded + amount)
        return True

    def _release(self, amount: int) -> None:
        """``release_refund``."""
        if self.amount_refunded >= amount:
            self._set_refunded(self.amount_refunded - amount)

    @rule(data=st.data())
    def create_refund(self, data: st.DataObject) -> None:
        """``create_refund``: validate against what remains, reserve, insert a pending refund."""
        remaining = self.amount_received - self.amount_refunded
        requested = data.draw(st.one_of(st.none(), st.integers(1, self.amount_received)), label="amount")
        amount = remaining if requested is None else requested
        if amount <= 0 or amount > remaining:
            return  # ValidationError before anything is written
        if not self._reserve(amount):
            return
        refund = Refund(
            id=f"re_{len(self.refunds) + 1}",
            merchant_id="mer_1",
            payment_id="pay_1",
            attempt_id="att_1",
            amount=amount,
            currency="INR",
            status=RefundStatus.PENDING,
            created_at=BASE,
            updated_at=BASE,
        )
        self.refunds.append(refund)
        self.refund_versions.append([refund])

    def _settle_refund(self, index: int, result: RefundResult) -> None:
        """``settle_refund`` on the locked refund."""
        self.delivered.append((index, result))
        refund = self.refunds[index]
        status = REFUND_STATUS_FOR[result.outcome]
        if status == refund.status or not can_move(REFUND_TRANSITIONS, RefundStatus(refund.status), status):
            if result.gateway_refund_id and not refund.gateway_refund_id:
                self._store(index, msgspec.structs.replace(refund, gateway_refund_id=result.gateway_refund_id))
            return
        self._store(
            index,
            msgspec.structs.replace(
                refund,
                status=status,
                gateway_refund_id=result.gateway_refund_id or refund.gateway_refund_id,
                error_code=result.error_code,
                error_message=result.error_message,
            ),
        )
        if status is RefundStatus.FAILED:
            self._release(refund.amount)

    def _store(self, index: int, refund: Refund) -> None:
        self.refunds[index] = refund
        self.refund_versions[index].append(refund)

    @precondition(lambda self: self.refunds)
    @rule(
        data=st.data(),
        outcome=st.sampled_from(list(RefundOutcome)),
        gateway_refund_id=st.sampled_from([None, "rfnd_gw_1", "rfnd_gw_2"]),
    )
    def refund_news(self, data: st.DataObject, outcome: RefundOutcome, gateway_refund_id: str | None) -> None:
        index = data.draw(st.integers(0, len(self.refunds) - 1), label="refund")
        error = "GATEWAY_ERROR" if outcome is RefundOutcome.FAILED else None
        self._settle_refund(index, RefundResult(outcome, gateway_refund_id=gateway_refund_id, error_code=error))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def duplicate_or_reorder(self, data: st.DataObject) -> None:
        index, result = data.draw(
            st.one_of(st.just(self.delivered[-1]), st.sampled_from(self.delivered)), label="replayed"
        )
        self._settle_refund(index, result)

    @invariant()
    def refund_statuses_never_move_backwards(self) -> None:
        for versions in self.refund_versions:
            history = [r.status for r in versions]
            _legal_moves(history, REFUND_TRANSITIONS, TERMINAL_REFUND, f"refund {versions[0].id}")

    @invariant()
    def refunded_total_within_received(self) -> None:
        for value in self.refunded_history:
            assert 0 <= value <= self.amount_received, self.refunded_history
        live = sum(r.amount for r in self.refunds if r.status != RefundStatus.FAILED)
        assert self.amount_refunded == live, (self.amount_refunded, self.refunds)


TestPaymentSettleRules = PaymentMachine.TestCase
TestPaymentSettleRules.settings = SETTINGS
TestRefundSettleRules = RefundMachine.TestCase
TestRefundSettleRules.settings = SETTINGS
