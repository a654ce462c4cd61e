"""A payment's customer is known to the gateway: its email and phone travel with the charge
(Razorpay's S2S API requires both and gets a documented placeholder only when none is known)."""

from __future__ import annotations

import httpx

from tests.e2e.test_gateways_e2e import card, pay


async def razorpay_payment(stack, payment_id: str) -> dict:
    async with httpx.AsyncClient(
        base_url=f"{stack.sandbox_url}/razorpay", auth=("rzp_test_sandbox", "sandbox_secret"), timeout=10
    ) as razorpay:
        response = await razorpay.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_customers_email_and_phone_reach_the_gateway(merchant, stack):
    customer = (
        await merchant.http.post("/v1/customers", json={"email": "meera@example.com", "phone": "+919812345678"})
    ).json()
    paid = (await pay(merchant, card("4111111111111111"), "razorpay", customer_id=customer["id"])).json()
    assert paid["status"] == "succeeded", paid
    remote = await razorpay_payment(stack, paid["gateway_reference"])
    assert (remote["email"], remote["contact"]) == ("meera@example.com", "+919812345678"), remote

    anonymous = (await pay(merchant, card("4111111111111111"), "razorpay")).json()
    remote = await razorpay_payment(stack, anonymous["gateway_reference"])
    assert remote["email"] != "meera@example.com" and remote["email"], remote  # the placeholder
