"""Smoke: a card payment end to end through the sandbox."""

from __future__ import annotations

CARD = {
    "type": "card",
    "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
}


async def test_create_and_confirm_card_payment_succeeds(merchant):
    response = await merchant.http.post(
        "/v1/payments",
        json={"amount": 49900, "currency": "INR", "confirm": True, "payment_method": CARD},
        headers={"Idempotency-Key": "smoke-1"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["amount_received"] == 49900
    assert body["payment_method"] == {
        "type": "card",
        "brand": "visa",
        "last4": "1111",
        "exp_month": 12,
        "exp_year": 2030,
    }
    assert "4111111111111111" not in response.text
