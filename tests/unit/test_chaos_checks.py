"""The chaos suite's checks detect each violation they exist for (and pass a clean run).

Each test starts from one consistent run (two checkouts: one paid and partly refunded at
Razorpay, one declined) and breaks exactly one thing: the matching check -- and only it -- speaks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.checks import CHECKS, Snapshot, run_checks
from chaos.client import Answer, Journal, retryable
from chaos.plan import make_plan
from chaos.scan import find_in, scan_files

PAID = {"id": "pay_1", "object": "payment", "status": "succeeded", "amount": 5000}
DECLINE = {"error": {"type": "card_error", "code": "card_declined", "payment_id": "pay_2"}}
CARDS, CVVS = ["4111111111111111"], ["737"]


def clean() -> Snapshot:
    journal = Journal()
    journal.add(Answer("k1", "/v1/payments", 0, b"ConnectError"))  # killed mid-request, then retried
    journal.add(Answer("k1", "/v1/payments", 201, json.dumps(PAID).encode()))
    journal.add(Answer("k1", "/v1/payments", 201, json.dumps(PAID).encode(), replayed=True))
    journal.add(Answer("k2", "/v1/payments", 402, json.dumps(DECLINE).encode()))
    journal.add(Answer("k1-refund-0", "/v1/refunds", 201, json.dumps({"id": "re_1", "amount": 1200}).encode()))
    return Snapshot(
        journal=journal,
        payments=[
            {
                "id": "pay_1",
                "amount": 5000,
                "status": "succeeded",
                "amount_received": 5000,
                "amount_refunded": 1200,
                "merchant_order_id": "k1",
            },
            {
                "id": "pay_2",
                "amount": 700,
                "status": "requires_payment_method",
                "amount_received": 0,
                "amount_refunded": 0,
                "merchant_order_id": "k2",
            },
        ],
        attempts=[
            {
                "id": "att_1",
                "payment_id": "pay_1",
                "gateway": "razorpay",
                "status": "captured",
                "gateway_order_id": "order_1",
                "gateway_reference": "pay_rzp1",
            },
            {
                "id": "att_2",
                "payment_id": "pay_2",
                "gateway": "razorpay",
                "status": "failed",
                "gateway_order_id": "order_2",
                "gateway_reference": None,
            },
        ],
        refunds=[
            {
                "id": "re_1",
                "payment_id": "pay_1",
                "attempt_id": "att_1",
                "amount": 1200,
                "status": "succeeded",
                "gateway_refund_id": "rfnd_1",
            }
        ],
        keys=[
            {"key": "k1", "object_id": "pay_1", "state": "done"},
            {"key": "k2", "object_id": "pay_2", "state": "done"},
        ],
        work=[],
        ledger=[
            {"gateway": "razorpay", "kind": "order", "reference": "att_1", "gateway_id": "order_1", "amount": 5000},
            {"gateway": "razorpay", "kind": "charge", "reference": "att_1", "gateway_id": "pay_rzp1", "amount": 5000},
            {"gateway": "razorpay", "kind": "capture", "reference": "att_1", "gateway_id": "pay_rzp1", "amount": 5000},
            {"gateway": "razorpay", "kind": "order", "reference": "att_2", "gateway_id": "order_2", "amount": 700},
            {"gateway": "razorpay", "kind": "refund", "reference": "re_1", "gateway_id": "rfnd_1", "amount": 1200},
        ],
        seen={"pay_1": {"id": "pay_1", "status": "succeeded"}},
    )


def only(snap: Snapshot, check: str) -> list[str]:
    """The violations of ``check``; every other check must be clean."""
    found = run_checks(snap)
    others = {name: v for name, v in found.items() if name != check and v}
    assert others == {}, others
    assert found[check], f"{check} found nothing"
    return found[check]


def test_a_consistent_run_passes_every_check() -> None:
    assert run_checks(clean()) == {name: [] for name in CHECKS}


# --- lost ------------------------------------------------------------------------------------


def test_a_payment_answered_2xx_but_missing_is_lost() -> None:
    snap = clean()
    snap.payments = [p for p in snap.payments if p["id"] != "pay_1"]
    snap.refunds, snap.attempts = [], [a for a in snap.attempts if a["payment_id"] != "pay_1"]
    snap.ledger = [e for e in snap.ledger if e["reference"] not in ("att_1", "re_1")]
    snap.seen = {}
    assert any("pay_1" in v and "missing" in v for v in only(snap, "lost"))


def test_a_refund_answered_2xx_but_missing_is_lost() -> None:
    snap = clean()
    snap.journal.add(Answer("k1-refund-1", "/v1/refunds", 201, json.dumps({"id": "re_9"}).encode()))
    assert only(snap, "lost") == ["refund re_9 (key k1-refund-1) was answered 2xx but is missing"]


def test_a_payment_seen_succeeded_that_is_no_longer_is_lost() -> None:
    snap = clean()
    snap.seen["pay_2"] = {"id": "pay_2", "status": "succeeded"}
    assert only(snap, "lost") == ["payment pay_2 was seen succeeded, is now requires_payment_method"]


def test_money_at_the_gateway_the_engine_never_recorded_is_lost() -> None:
    snap = clean()
    snap.ledger.append({"gateway": "paytm", "kind": "charge", "reference": "att_x", "gateway_id": "T9", "amount": 10})
    assert only(snap, "lost") == ["paytm charge T9 (10) has no engine record"]


# --- double ----------------------------------------------------------------------------------


def test_a_doubled_charge_is_found() -> None:
    snap = clean()
    snap.attempts.append(
        {
            "id": "att_3",
            "payment_id": "pay_1",
            "gateway": "paytm",
            "status": "failed",
            "gateway_order_id": "att_3",
            "gateway_reference": None,
        }
    )
    snap.ledger.append({"gateway": "paytm", "kind": "charge", "reference": "att_3", "gateway_id": "T1", "amount": 5000})
    assert only(snap, "double") == ["payment pay_1: 2 charges at the gateway"]


def test_a_refund_sent_twice_to_the_gateway_is_a_double_refund() -> None:
    snap = clean()
    second = {"gateway": "razorpay", "kind": "refund", "reference": "re_1", "gateway_id": "rfnd_2", "amount": 1200}
    snap.ledger.append(second)
    snap.payments[0]["amount_refunded"] = 2400  # even if the engine counted both, it is one refund
    assert "refund re_1: 2 refunds at the gateway" in only(snap, "double")


def test_more_refunded_than_captured_at_the_gateway_is_a_double_refund() -> None:
    snap = clean()
    snap.refunds.append(
        {
            "id": "re_2",
            "payment_id": "pay_1",
            "attempt_id": "att_1",
            "amount": 4000,
            "status": "succeeded",
            "gateway_refund_id": "rfnd_3",
        }
    )
    snap.ledger.append(
        {"gateway": "razorpay", "kind": "refund", "reference": "re_2", "gateway_id": "rfnd_3", "amount": 4000}
    )
    snap.payments[0]["amount_refunded"] = 5200
    assert only(snap, "double") == ["payment pay_1: 5200 refunded at the gateway of 5000 captured"]


# --- mismatch --------------------------------------------------------------------------------


def test_captured_amounts_that_differ_from_the_gateway_are_a_mismatch() -> None:
    snap = clean()
    snap.payments[1]["amount_received"] = 700
    assert only(snap, "mismatch") == ["payment pay_2: engine captured 700, gateway 0"]


def test_refunded_amounts_that_differ_from_the_gateway_are_a_mismatch() -> None:
    snap = clean()
    snap.ledger = [e for e in snap.ledger if e["kind"] != "refund"]
    assert only(snap, "mismatch") == ["payment pay_1: engine refunded 1200, gateway 0"]


def test_a_client_told_declined_whose_card_was_charged_is_a_mismatch() -> None:
    snap = clean()
    snap.ledger.append(
        {"gateway": "razorpay", "kind": "charge", "reference": "att_2", "gateway_id": "p2", "amount": 700}
    )
    assert only(snap, "mismatch") == ["key k2: told 402 card_declined, but the gateway charged payment pay_2"]


# --- idem ------------------------------------------------------------------------------------


def test_one_key_answered_with_two_payments_is_found() -> None:
    snap = clean()
    other = {**PAID, "id": "pay_9"}
    snap.journal.add(Answer("k1", "/v1/payments", 201, json.dumps(other).encode()))
    found = run_checks(snap)
    assert "key k1 answered with 2 objects: ['pay_1', 'pay_9']" in found["idem"]
    assert found["lost"] == ["payment pay_9 was seen succeeded, is now None"]  # and the second one is nowhere


def test_a_replay_that_differs_from_the_first_answer_is_found() -> None:
    snap = clean()
    snap.journal.add(Answer("k2", "/v1/payments", 402, json.dumps({**DECLINE, "x": 1}).encode(), replayed=True))
    assert only(snap, "idem") == ["key k2 got 2 different decided answers: [402, 402]"]


def test_a_stored_key_naming_another_object_is_found() -> None:
    snap = clean()
    snap.keys[0]["object_id"] = "pay_2"
    assert only(snap, "idem") == ["key k1: told pay_1, stored pay_2"]


def test_two_payments_for_one_order_are_found() -> None:
    snap = clean()
    snap.payments.append(
        {
            "id": "pay_3",
            "amount": 5000,
            "status": "requires_payment_method",
            "amount_received": 0,
            "amount_refunded": 0,
            "merchant_order_id": "k1",
        }
    )
    assert only(snap, "idem") == ["order k1: 2 payments"]


def test_retryable_answers_are_not_decided() -> None:
    busy = json.dumps({"error": {"code": "idempotency_key_in_use"}}).encode()
    assert retryable(Answer("k", "/v1/payments", 0, b""))
    assert retryable(Answer("k", "/v1/payments", 503, b"{}"))
    assert retryable(Answer("k", "/v1/payments", 409, busy))
    assert not retryable(Answer("k", "/v1/payments", 402, json.dumps(DECLINE).encode()))
    assert not retryable(Answer("k", "/v1/payments", 502, json.dumps({"error": {"code": "gateway_error"}}).encode()))


# --- stuck -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "index", "field", "value", "expected"),
    [
        ("payments", 1, "status", "processing", "payment pay_2 still processing"),
        ("attempts", 1, "status", "unknown", "attempt att_2 still unknown"),
        ("refunds", 0, "status", "pending", "refund re_1 still pending"),
    ],
)
def test_anything_left_open_after_reconciliation_is_stuck(table, index, field, value, expected) -> None:
    snap = clean()
    getattr(snap, table)[index][field] = value
    assert only(snap, "stuck") == [expected]


def test_a_pending_work_row_or_an_undecided_key_is_stuck() -> None:
    snap = clean()
    snap.work.append({"id": 7, "kind": "capture", "payment_id": "pay_1"})
    snap.journal.gave_up.append("k3")
    assert only(snap, "stuck") == ["work row 7 (capture) still pending", "key k3 never got a decided answer"]


# --- leaks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "blob",
    [
        b'{"number": "4111111111111111"}',
        b"card 4111 1111 1111 1111 ok",
        b"pan=4111-1111-1111-1111",
        b'{"card": {"cvc": "737"}}',
        b"card%5Bcvv%5D=x&card[cvv]=737",
        b"ccvv=737&ccnum=xx",
    ],
)
def test_card_data_in_a_log_is_a_leak(blob: bytes) -> None:
    assert find_in(b"noise\x00" + blob + b"\x00noise", "engine.log", CARDS, CVVS, names=False)


def test_masked_card_data_is_no_leak() -> None:
    blob = b'{"brand": "visa", "last4": "1111", "exp_month": 12, "amount": 737, "cvc_check": null}'
    assert find_in(blob, "engine.log", CARDS, CVVS, names=False) == []


def test_a_cvv_field_stored_in_the_database_is_a_leak_even_without_its_value(tmp_path: Path) -> None:
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pg_wal" / "000000010000000000000001").write_bytes(b'\x00\x01jsonb\x00"cvc"\x00\x00')
    (tmp_path / "base.heap").write_bytes(b"\x00last4 1111\x00")
    found = scan_files([tmp_path], CARDS, CVVS, names=True)
    assert len(found) == 1 and "000000010000000000000001" in found[0] and "CVV field name" in found[0]


@pytest.mark.parametrize(
    "blob",
    [
        b'{"card": {"number": "x", "cvc": "x"}}',
        b"card[number]=x&card[cvv]=x",
        b"amount=5&ccvv=x",
        b"\x07\x00\x00\x10cvcnumberexp_yearexp_month",  # jsonb: an object's keys one after another
    ],
)
def test_a_cvv_field_name_without_its_value_is_found(blob: bytes) -> None:
    assert find_in(b"\x00\x93" + blob + b"\x00", "heap", CARDS, CVVS, names=True)


@pytest.mark.parametrize("blob", [b'\x93\x01cvc"\x8f\x00', b"\xfe\x00cvv:\x11", b'pay_Kcvc"', b'{"cvc_check": null}'])
def test_random_bytes_or_ids_around_a_cvv_name_are_no_leak(blob: bytes) -> None:
    assert find_in(blob, "pg_wal", CARDS, CVVS, names=True) == []


# --- plan ------------------------------------------------------------------------------------


def test_a_seed_always_gives_the_same_plan_and_another_seed_another() -> None:
    one, again, other = make_plan(7, 200, 4), make_plan(7, 200, 4), make_plan(8, 200, 4)
    assert one == again
    assert one != other
    assert (len(one.checkouts), one.count("kill"), one.count("postgres"), one.count("redis")) == (200, 4, 1, 1)
    assert len({c.key for c in one.checkouts}) == 200
    assert all(f.at < 200 for f in one.faults)
    assert {c.kind for c in one.checkouts} >= {"card_ok", "card_decline", "threeds_approve", "upi_ok", "upi_fail"}
    refunded = [c for c in one.checkouts if c.refunds]
    assert refunded and all(sum(c.refunds) <= c.amount and c.expected == "succeeded" for c in refunded)


def test_a_payment_answered_succeeded_that_is_no_longer_is_lost() -> None:
    snap = clean()
    snap.seen = {}
    snap.payments[0]["status"] = "requires_payment_method"
    found = run_checks(snap)["lost"]
    assert found == ["payment pay_1 was seen succeeded, is now requires_payment_method"], found
