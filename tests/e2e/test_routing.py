"""Routing order and the routing decision shown on payments."""

from __future__ import annotations

import pytest

CARD = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}


async def test_routing_reads_and_sets_the_order(merchant):
    current = (await merchant.http.get("/v1/merchant/routing")).json()
    assert current["gateways"][0] == "razorpay" and "razorpay" in current["available"]
    updated = await merchant.http.put("/v1/merchant/routing", json={"gateways": current["available"]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["gateways"] == current["available"]


@pytest.mark.parametrize(
    "body, param",
    [
        ({"gateways": []}, "gateways"),
        ({"gateways": ["razorpay", "razorpay"]}, "gateways"),
        ({"gateways": ["stripe"]}, "gateways"),
        ({"gateways": "razorpay"}, "gateways"),
        ({"order": ["razorpay"]}, None),
    ],
)
async def test_bad_routing_is_rejected_and_changes_nothing(merchant, body, param):
    before = (await merchant.http.get("/v1/merchant/routing")).json()
    response = await merchant.http.put("/v1/merchant/routing", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if param:
        assert error["param"].startswith(param)
    assert (await merchant.http.get("/v1/merchant/routing")).json() == before


async def test_payment_shows_the_routing_decision(merchant):
    body = (
        await merchant.http.post(
            "/v1/payments", json={"amount": 1000, "currency": "INR", "confirm": True, "payment_method": CARD}
        )
    ).json()
    assert body["routing"]["gateway"] == "razorpay"
    assert body["routing"]["failovers"] == []


async def test_disabled_gateway_is_not_routed_to(merchant, stack):
    await stack.engine.pool.execute("UPDATE gateway_accounts SET enabled = false WHERE merchant_id = $1", merchant.id)
    stack.engine.gateways.forget(merchant.id)
    response = await merchant.http.post(
        "/v1/payments", json={"amount": 1000, "currency": "INR", "confirm": True, "payment_method": CARD}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "no_gateway_available"
    count = await stack.engine.pool.fetchval("SELECT count(*) FROM payments WHERE merchant_id = $1", merchant.id)
    assert count == 0
