"""Juspay partial capture on the wire: what the connector sends and how ``PARTIAL_CHARGED`` reads."""

from __future__ import annotations

import pytest

from engine.gateways.base import Outcome
from engine.gateways.juspay import builders
from engine.gateways.juspay import transformers as tf
from tests.unit.test_juspay_transformers import REF, order


def test_a_whole_capture_sends_nothing_and_a_partial_one_its_amount_and_a_stable_key() -> None:
    assert builders.capture_form(REF.attempt_id, 50000, 50000, "INR") == {}
    form = builders.capture_form(REF.attempt_id, 30000, 50000, "INR")
    assert form == {"amount": "300.00", "idempotence_key": f"cap_{REF.attempt_id}"}
    # the same attempt always gets the same key: a retry after a lost answer cannot capture twice
    assert builders.capture_form(REF.attempt_id, 30000, 50000, "INR") == form


def test_partial_charged_is_captured_for_the_amount_the_order_says() -> None:
    result = tf.map_order(order("PARTIAL_CHARGED", amount_captured=300.0), REF)
    assert (result.outcome, result.amount_captured, result.raw_status) == (Outcome.CAPTURED, 30000, "PARTIAL_CHARGED")


@pytest.mark.parametrize("captured", [None, "", 0, 500.0, 600.0, "abc", 300.001, True])
def test_partial_charged_without_a_plausible_captured_amount_stays_open(captured: object) -> None:
    body = order("PARTIAL_CHARGED") if captured is None else order("PARTIAL_CHARGED", amount_captured=captured)
    result = tf.map_order(body, REF)
    assert result.outcome is Outcome.UNKNOWN and result.error_code == "capture_amount_unknown"
    assert result.amount_captured == 0
