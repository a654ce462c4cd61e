"""Partial capture where the gateway has it (Juspay: ``amount`` + ``idempotence_key``, the order
``PARTIAL_CHARGED``), end to end over HTTP through the sandbox; elsewhere a 400 naming ``amount``."""

from __future__ import annotations

import pytest

from engine.gateways import registry
from tests.e2e.test_gateways_e2e import AMOUNT, GATEWAYS, attempts_of, card, pay, sandbox, wait_refund

PARTIAL = 30000


async def _held(merchant, gateway: str) -> dict:
    created = await pay(merchant, card("4111111111111111"), gateway, capture_method="manual")
    body = created.json()
    assert body["status"] == "requires_capture" and body["amount_capturable"] == AMOUNT, body
    return body


async def _captures(stack, order_id: str) -> list[int]:
    ledger = await sandbox(stack, "GET", f"/_sandbox/ledger?gateway=juspay&reference={order_id}")
    return [e["amount"] for e in ledger["entries"] if e["kind"] == "capture"]


async def test_a_partial_capture_on_juspay_takes_that_amount_once_and_bounds_refunds(merchant, stack):
    held = await _held(merchant, "juspay")
    path = f"/v1/payments/{held['id']}/capture"
    key = {"Idempotency-Key": f"cap-{held['id']}"}
    over = await merchant.http.post(path, json={"amount": AMOUNT + 1}, headers={"Idempotency-Key": "over"})
    assert over.status_code == 400 and over.json()["error"]["param"] == "amount", over.text
    captured = await merchant.http.post(path, json={"amount": PARTIAL}, headers=key)
    assert captured.status_code == 200, captured.text
    paid = captured.json()
    assert (paid["status"], paid["amount_received"], paid["amount_capturable"]) == ("succeeded", PARTIAL, 0)
    replay = await merchant.http.post(path, json={"amount": PARTIAL}, headers=key)
    assert replay.status_code == 200 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == captured.content
    [attempt] = await attempts_of(stack, held["id"])
    assert (attempt["status"], attempt["amount_captured"]) == ("captured", PARTIAL)
    assert await _captures(stack, attempt["gateway_order_id"]) == [PARTIAL]  # one capture, of the part
    too_much = await merchant.http.post("/v1/refunds", json={"payment_id": held["id"], "amount": PARTIAL + 1})
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount", too_much.text
    rest = await merchant.http.post("/v1/refunds", json={"payment_id": held["id"]})
    assert rest.status_code == 200 and rest.json()["amount"] == PARTIAL, rest.text
    assert (await wait_refund(merchant, rest.json()["id"], "succeeded"))["status"] == "succeeded"
    final = (await merchant.http.get(f"/v1/payments/{held['id']}")).json()
    assert (final["amount_received"], final["amount_refunded"]) == (PARTIAL, PARTIAL)


async def test_capturing_the_whole_hold_on_juspay_sends_no_partial_amount(merchant, stack):
    held = await _held(merchant, "juspay")
    captured = await merchant.http.post(f"/v1/payments/{held['id']}/capture", json={"amount": AMOUNT})
    assert captured.status_code == 200 and captured.json()["amount_received"] == AMOUNT, captured.text
    [attempt] = await attempts_of(stack, held["id"])
    order = await sandbox(stack, "GET", f"/_sandbox/ledger?gateway=juspay&reference={attempt['gateway_order_id']}")
    assert [e["amount"] for e in order["entries"] if e["kind"] == "capture"] == [AMOUNT]


WITHOUT = [
    g for g in GATEWAYS if registry.capabilities(g).manual_capture and not registry.capabilities(g).partial_capture
]


@pytest.mark.parametrize("gateway", WITHOUT)
async def test_gateways_without_partial_capture_answer_400_naming_amount(merchant, gateway):
    held = await _held(merchant, gateway)
    partial = await merchant.http.post(f"/v1/payments/{held['id']}/capture", json={"amount": PARTIAL})
    assert partial.status_code == 400, partial.text
    error = partial.json()["error"]
    assert (error["code"], error["param"]) == ("partial_capture_unsupported", "amount")
    still = (await merchant.http.get(f"/v1/payments/{held['id']}")).json()
    assert (still["status"], still["amount_capturable"]) == ("requires_capture", AMOUNT)
