"""engine/services/methods.py: what the connector gets and what may be stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.commands import NetbankingInput, PaymentMethodInput, WalletInput
from engine.errors import ValidationError
from engine.services.methods import prepare_method
from tests.unit.services.helpers import card, upi


def test_a_card_reaches_the_connector_whole_and_is_stored_masked():
    method, masked = prepare_method(card("5555555555554444"))
    assert method.card.number == "5555555555554444" and method.card.cvc == "123"
    assert masked == {"type": "card", "brand": "mastercard", "last4": "4444", "exp_month": 12, "exp_year": 2030}
    assert "5555555555554444" not in repr(method)


def test_other_methods_and_their_checks():
    assert prepare_method(upi("asha@okbank"))[1] == {"type": "upi", "vpa": "asha@okbank"}
    nb = PaymentMethodInput(type="netbanking", netbanking=NetbankingInput(bank_code="HDFC"))
    assert prepare_method(nb)[0].bank_code == "HDFC"
    wallet = PaymentMethodInput(type="wallet", wallet=WalletInput(provider="paytm"))
    assert prepare_method(wallet)[1] == {"type": "wallet", "provider": "paytm"}


@pytest.mark.parametrize(
    "method",
    [
        PaymentMethodInput(type="card"),
        PaymentMethodInput(type="upi"),
        upi("not-a-vpa"),
        card("4111111111111112"),
    ],
)
def test_bad_methods_are_refused(method):
    with pytest.raises(ValidationError):
        prepare_method(method)


def test_an_expired_card_is_refused():
    with pytest.raises(ValidationError):
        prepare_method(card(), now=datetime(2031, 1, 1, tzinfo=UTC))
