"""Capabilities are checked before anything is stored or sent: a gateway that cannot refund part
of a payment answers 400 naming ``amount`` (and the whole amount still refunds)."""

from __future__ import annotations

import dataclasses

from engine.gateways import registry
from tests.e2e.test_gateways_e2e import card, pay


async def test_a_partial_refund_on_a_gateway_without_partial_refunds_is_a_400_naming_amount(merchant, monkeypatch):
    paid = (await pay(merchant, card("4111111111111111"), "razorpay", amount=40000)).json()
    assert paid["status"] == "succeeded", paid
    entry = registry._GATEWAYS["razorpay"]
    whole_only = dataclasses.replace(entry, capabilities=dataclasses.replace(entry.capabilities, partial_refund=False))
    monkeypatch.setitem(registry._GATEWAYS, "razorpay", whole_only)

    part = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"], "amount": 1000})
    assert part.status_code == 400, part.text
    error = part.json()["error"]
    assert (error["code"], error["param"]) == ("partial_refund_unsupported", "amount"), error
    shown = (await merchant.http.get(f"/v1/payments/{paid['id']}")).json()
    assert shown["amount_refunded"] == 0, "a refused refund reserves nothing"

    whole = await merchant.http.post("/v1/refunds", json={"payment_id": paid["id"]})
    assert whole.status_code == 200 and whole.json()["amount"] == 40000, whole.text
