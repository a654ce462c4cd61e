"""E2E: the sandbox's own ledger (``/_sandbox/ledger``) over real HTTP, for all four gateways.

Each gateway is driven with its real wire format through the helpers of its own sandbox e2e module
(the official ``razorpay`` client, ``paytmchecksum``, PayU hashes, Juspay Basic auth); the ledger must
show exactly one order / charge / capture / refund per merchant reference, and nothing for a
repeated capture, a replayed refund or a declined card.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
import razorpay
from razorpay.errors import BadRequestError

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.e2e import test_sandbox_juspay as js
from tests.e2e import test_sandbox_paytm as pt
from tests.e2e import test_sandbox_payu as pu
from tests.e2e import test_sandbox_razorpay as rz
from tests.e2e.conftest import WebhookReceiver
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.e2e

OK_CARD, DECLINED_CARD, OTP_CARD = "4111111111111111", "4000000000000002", "4000000000003220"
Row = tuple[str, str | None, str, int]


@dataclass
class Sandboxes:
    """One sandbox app, seen through each gateway test module's own ``Sandbox`` wrapper."""

    http: httpx.AsyncClient
    rz: rz.Sandbox
    pt: pt.Sandbox
    pu: pu.Sandbox
    js: js.Sandbox


@pytest_asyncio.fixture(scope="module")
async def sb(webhook_receiver: WebhookReceiver) -> Any:
    port, hooks = free_port(), webhook_receiver.base_url + "/v1/webhooks/{gateway}/{merchant_id}"
    settings = SandboxSettings(public_url=f"http://127.0.0.1:{port}", webhook_url=hooks, upi_delay_s=0.2,
                               hang_s=1.0, webhook_retry_delays_s=(0.05, 0.1))  # fmt: skip
    async with serve_asgi(create_app(settings), port=port) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            args = (base, http, webhook_receiver)
            yield Sandboxes(http, rz.Sandbox(*args), pt.Sandbox(*args), pu.Sandbox(*args), js.Sandbox(*args))


@pytest_asyncio.fixture(autouse=True)
async def _clean(sb: Sandboxes) -> Any:
    await sb.http.delete("/_sandbox/ledger")
    yield
    await sb.http.delete("/_sandbox/faults")


@pytest.fixture
def acct(sb: Sandboxes) -> rz.Account:
    key_id = f"rzp_test_{uuid.uuid4().hex[:12]}"
    client = razorpay.Client(auth=(key_id, rz.KEY_SECRET), base_url=f"{sb.rz.base}/razorpay")
    return rz.Account(sb.rz, key_id, f"m_{uuid.uuid4().hex[:12]}", client)


@pytest.fixture
def merchant() -> str:
    return f"m_{uuid.uuid4().hex[:12]}"


def ref(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:14]}"


async def ledger(sb: Sandboxes, **filters: str) -> list[dict[str, Any]]:
    response = await sb.http.get("/_sandbox/ledger", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


async def rows(sb: Sandboxes, gateway: str, reference: str, count: int | None = None) -> list[Row]:
    """``(kind, reference, gateway_id, amount)`` of one reference (waiting up to 5 s for ``count`` entries)."""
    deadline, entries = time.monotonic() + 5, await ledger(sb, gateway=gateway, reference=reference)
    while count is not None and len(entries) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        entries = await ledger(sb, gateway=gateway, reference=reference)
    assert all(e["gateway"] == gateway and e["currency"] == "INR" for e in entries)
    assert all(isinstance(e["at"], float) and abs(e["at"] - time.time()) < 60 for e in entries)
    assert all(set(e) == {"gateway", "kind", "reference", "gateway_id", "amount", "currency", "at"} for e in entries)
    return [(e["kind"], e["reference"], e["gateway_id"], e["amount"]) for e in entries]


async def totals(sb: Sandboxes, gateway: str) -> Counter[str]:
    """How many entries of each kind the gateway recorded (the ledger is emptied before each test)."""
    return Counter(e["kind"] for e in await ledger(sb, gateway=gateway))


def paid(reference: str, order_id: str, payment_id: str, amount: int) -> list[Row]:
    return [("order", reference, order_id, amount), ("charge", reference, payment_id, amount),
            ("capture", reference, payment_id, amount)]  # fmt: skip


# ---- Razorpay ------------------------------------------------------------------------------------
async def test_razorpay_auto_capture_repeat_capture_and_refund_replay(sb: Sandboxes, acct: rz.Account) -> None:
    receipt = ref("rcpt_")
    order = await rz.new_order(acct, amount=50000, capture=True, receipt=receipt)
    pay_id = (await rz.pay_card(acct, order))["razorpay_payment_id"]
    assert await rows(sb, "razorpay", receipt) == paid(receipt, order["id"], pay_id, 50000)
    with pytest.raises(BadRequestError, match="already been captured"):
        await rz.call(acct.client.payment.capture, pay_id, 50000, {"currency": "INR"})
    assert len(await rows(sb, "razorpay", receipt)) == 3
    key = ref("rfk_")
    first = await rz.call(acct.client.payment.refund, pay_id, {"amount": 20000}, headers={"X-Refund-Idempotency": key})
    again = await rz.call(acct.client.payment.refund, pay_id, {"amount": 20000}, headers={"X-Refund-Idempotency": key})
    assert again["id"] == first["id"]
    assert await rows(sb, "razorpay", key) == [("refund", key, first["id"], 20000)]
    other = await rz.call(acct.client.payment.refund, pay_id, {"amount": 1000, "receipt": "rf-receipt-1"})
    assert await rows(sb, "razorpay", "rf-receipt-1") == [("refund", "rf-receipt-1", other["id"], 1000)]
    assert await totals(sb, "razorpay") == {"order": 1, "charge": 1, "capture": 1, "refund": 2}


async def test_razorpay_manual_capture_and_decline(sb: Sandboxes, acct: rz.Account) -> None:
    receipt = ref("rcpt_")
    order = await rz.new_order(acct, amount=30000, receipt=receipt)
    pay_id = (await rz.pay_card(acct, order))["razorpay_payment_id"]
    charged = [("order", receipt, order["id"], 30000), ("charge", receipt, pay_id, 30000)]
    assert await rows(sb, "razorpay", receipt) == charged
    await rz.call(acct.client.payment.capture, pay_id, 30000, {"currency": "INR"})
    with pytest.raises(BadRequestError):
        await rz.call(acct.client.payment.capture, pay_id, 30000, {"currency": "INR"})
    assert await rows(sb, "razorpay", receipt) == [*charged, ("capture", receipt, pay_id, 30000)]
    declined = ref("rcpt_")
    order = await rz.new_order(acct, amount=30000, capture=True, receipt=declined)
    with pytest.raises(BadRequestError):
        await rz.pay_card(acct, order, DECLINED_CARD)
    assert await rows(sb, "razorpay", declined) == [("order", declined, order["id"], 30000)]
    assert await totals(sb, "razorpay") == {"order": 2, "charge": 1, "capture": 1}


async def test_razorpay_otp_upi_and_pending_refund(sb: Sandboxes, acct: rz.Account) -> None:
    otp, upi = ref("rcpt_"), ref("rcpt_")
    order = await rz.new_order(acct, amount=12345, capture=True, receipt=otp)
    created = await rz.pay_card(acct, order, OTP_CARD)
    pay_id = created["razorpay_payment_id"]
    assert len(await rows(sb, "razorpay", otp)) == 1
    for decision in ("approve", "approve", "reject"):  # only the first decision moves money
        await sb.http.get(created["next"][0]["url"], params={"decision": decision})
    assert await rows(sb, "razorpay", otp) == paid(otp, order["id"], pay_id, 12345)
    upi_order = await rz.new_order(acct, amount=5000, capture=True, receipt=upi)
    body = rz.payment_body(upi_order, "upi", vpa="success@upi")
    upi_id = (await rz.call(acct.client.payment.createUpi, body))["razorpay_payment_id"]
    assert [r[0] for r in await rows(sb, "razorpay", upi)] == ["order"]
    assert await rows(sb, "razorpay", upi, count=3) == paid(upi, upi_order["id"], upi_id, 5000)
    await sb.http.post("/_sandbox/faults", json={"gateway": "razorpay", "fault": "refund_pending", "count": 1})
    key = ref("rfk_")
    refund = await rz.call(acct.client.payment.refund, upi_id, {"amount": 5000}, headers={"X-Refund-Idempotency": key})
    assert refund["status"] == "pending"
    await asyncio.sleep(0.5)  # settles (refund.processed) after the UPI delay: no second entry
    assert (await rz.call(acct.client.refund.fetch, refund["id"]))["status"] == "processed"
    assert await rows(sb, "razorpay", key) == [("refund", key, refund["id"], 5000)]
    assert await totals(sb, "razorpay") == {"order": 2, "charge": 2, "capture": 2, "refund": 1}


# ---- Paytm ---------------------------------------------------------------------------------------
async def test_paytm_sale_duplicate_and_refund_replay(sb: Sandboxes, merchant: str) -> None:
    order_id, token = await pt.initiate(sb.pt, merchant, "100.00")
    answer = await pt.process(sb.pt, order_id, token, "CREDIT_CARD", **pt.card(OK_CARD))
    txn_id = answer.body["txnInfo"]["TXNID"]
    assert await rows(sb, "paytm", order_id) == paid(order_id, order_id, txn_id, 10000)
    assert (await pt.process(sb.pt, order_id, token, "CREDIT_CARD", **pt.card(OK_CARD))).result == ("F", "325")
    reinit = await pt.post(sb.pt, "/theia/api/v1/initiateTransaction", pt.order_body(order_id, merchant, "100.00"))
    assert reinit.result == ("F", "325")
    assert len(await rows(sb, "paytm", order_id)) == 3
    ref_id = ref("RF_")
    applied = await pt.post(sb.pt, "/refund/apply", pt.refund_body(order_id, txn_id, ref_id, "40.00"))
    replay = await pt.post(sb.pt, "/refund/apply", pt.refund_body(order_id, txn_id, ref_id, "40.00"))
    assert (applied.result, replay.result) == (("PENDING", "601"), ("F", "617"))
    assert await rows(sb, "paytm", ref_id) == [("refund", ref_id, applied.body["refundId"], 4000)]
    assert await totals(sb, "paytm") == {"order": 1, "charge": 1, "capture": 1, "refund": 1}


async def test_paytm_decline_otp_and_upi(sb: Sandboxes, merchant: str) -> None:
    declined, token = await pt.initiate(sb.pt, merchant, "10.00")
    answer = await pt.process(sb.pt, declined, token, "CREDIT_CARD", **pt.card(DECLINED_CARD))
    assert answer.result[0] == "F"
    assert await rows(sb, "paytm", declined) == [("order", declined, declined, 1000)]
    otp, token = await pt.initiate(sb.pt, merchant, "12.34")
    answer = await pt.process(sb.pt, otp, token, "CREDIT_CARD", **pt.card(OTP_CARD))
    assert len(await rows(sb, "paytm", otp)) == 1
    await sb.http.get(answer.body["bankForm"]["redirectForm"]["actionUrl"], params={"decision": "approve"})
    txn_id = (await pt.status(sb.pt, otp)).body["txnId"]
    assert await rows(sb, "paytm", otp) == paid(otp, otp, txn_id, 1234)
    upi, token = await pt.initiate(sb.pt, merchant, "5.00")
    answer = await pt.process(sb.pt, upi, token, "UPI", payerAccount="success@upi")
    assert [r[0] for r in await rows(sb, "paytm", upi)] == ["order"]
    assert await rows(sb, "paytm", upi, count=3) == paid(upi, upi, answer.body["transId"], 500)
    assert await totals(sb, "paytm") == {"order": 3, "charge": 2, "capture": 2}


# ---- PayU ----------------------------------------------------------------------------------------
async def test_payu_sale_duplicate_and_refund_replay(sb: Sandboxes, merchant: str) -> None:
    f = pu.form(merchant, "100", **pu.card(OK_CARD))
    mihpayid = (await pu.pay(sb.pu, f)).json()["result"]["mihpayid"]
    txnid = f["txnid"]
    assert await rows(sb, "payu", txnid) == paid(txnid, mihpayid, mihpayid, 10000)
    assert (await pu.pay(sb.pu, pu.form(merchant, "100", txnid=txnid, **pu.card(OK_CARD)))).json()["error"] == "E1004"
    assert len(await rows(sb, "payu", txnid)) == 3
    token = ref("tok")
    queued = await pu.command(sb.pu, "cancel_refund_transaction", mihpayid, var2=token, var3="30.00")
    replay = await pu.command(sb.pu, "cancel_refund_transaction", mihpayid, var2=token, var3="30.00")
    assert (queued["status"], replay["error_code"]) == (1, 106)
    assert await rows(sb, "payu", token) == [("refund", token, queued["request_id"], 3000)]
    assert await totals(sb, "payu") == {"order": 1, "charge": 1, "capture": 1, "refund": 1}


async def test_payu_decline_otp_and_upi(sb: Sandboxes, merchant: str) -> None:
    f = pu.form(merchant, "10", **pu.card(DECLINED_CARD))
    answer = (await pu.pay(sb.pu, f)).json()
    assert answer["metaData"]["txnStatus"] == "failure"
    assert await rows(sb, "payu", f["txnid"]) == [("order", f["txnid"], answer["metaData"]["referenceId"], 1000)]
    f = pu.form(merchant, "12.34", **pu.card(OTP_CARD))
    answer = (await pu.pay(sb.pu, f)).json()
    mihpayid = answer["metaData"]["referenceId"]
    assert len(await rows(sb, "payu", f["txnid"])) == 1
    await sb.http.get(answer["result"]["issuerUrl"], params={"decision": "approve"})
    assert await rows(sb, "payu", f["txnid"]) == paid(f["txnid"], mihpayid, mihpayid, 1234)
    f = pu.form(merchant, "5", pg="UPI", bankcode="UPI", vpa="success@upi")
    mihpayid = (await pu.pay(sb.pu, f)).json()["metaData"]["referenceId"]
    assert [r[0] for r in await rows(sb, "payu", f["txnid"])] == ["order"]
    assert await rows(sb, "payu", f["txnid"], count=3) == paid(f["txnid"], mihpayid, mihpayid, 500)
    assert await totals(sb, "payu") == {"order": 3, "charge": 2, "capture": 2}


# ---- Juspay --------------------------------------------------------------------------------------
async def test_juspay_charge_and_refund_replay(sb: Sandboxes, merchant: str) -> None:
    order_id = await js.new_order(sb.js, merchant, "100.00")
    txn_uuid = (await js.txn(sb.js, order_id, **js.card(OK_CARD))).json()["txn_uuid"]
    juspay_id = (await js.status(sb.js, order_id))["id"]
    assert await rows(sb, "juspay", order_id) == paid(order_id, juspay_id, txn_uuid, 10000)
    assert (await sb.js.api("POST", "/orders", data={"order_id": order_id, "amount": "100.00"})).status_code == 200
    assert (await js.txn(sb.js, order_id, **js.card(OK_CARD))).status_code == 400
    assert len(await rows(sb, "juspay", order_id)) == 3
    request_id, body = ref("rf"), {"amount": "40.00"}
    for _ in range(2):  # the replay of a unique_request_id answers the order unchanged
        answer = await sb.js.api("POST", f"/orders/{order_id}/refunds", data={"unique_request_id": request_id, **body})
        assert answer.status_code == 200
    [refund] = answer.json()["refunds"]
    assert await rows(sb, "juspay", request_id) == [("refund", request_id, refund["id"], 4000)]
    assert await totals(sb, "juspay") == {"order": 1, "charge": 1, "capture": 1, "refund": 1}


async def test_juspay_preauth_capture_void_and_decline(sb: Sandboxes, merchant: str) -> None:
    held = await js.new_order(sb.js, merchant, "20.00", **js.PREAUTH)
    txn_uuid = (await js.txn(sb.js, held, **js.card(OK_CARD))).json()["txn_uuid"]
    juspay_id = (await js.status(sb.js, held))["id"]
    authorized = [("order", held, juspay_id, 2000), ("charge", held, txn_uuid, 2000)]
    assert await rows(sb, "juspay", held) == authorized
    for expected in (200, 400):  # the second capture is refused and records nothing
        assert (await sb.js.api("POST", f"/v2/txns/{txn_uuid}/capture")).status_code == expected
    assert await rows(sb, "juspay", held) == [*authorized, ("capture", held, txn_uuid, 2000)]
    voided = await js.new_order(sb.js, merchant, "30.00", **js.PREAUTH)
    txn_uuid = (await js.txn(sb.js, voided, **js.card(OK_CARD))).json()["txn_uuid"]
    for expected in (200, 400):
        assert (await sb.js.api("POST", f"/v2/txns/{txn_uuid}/void")).status_code == expected
    assert [r[0] for r in await rows(sb, "juspay", voided)] == ["order", "charge", "void"]
    declined = await js.new_order(sb.js, merchant, "10.00")
    assert (await js.txn(sb.js, declined, **js.card(DECLINED_CARD))).json()["status"] == "AUTHORIZATION_FAILED"
    assert [r[0] for r in await rows(sb, "juspay", declined)] == ["order"]
    assert await totals(sb, "juspay") == {"order": 3, "charge": 2, "capture": 1, "void": 1}


# ---- filters and DELETE --------------------------------------------------------------------------
async def test_filters_and_delete(sb: Sandboxes, acct: rz.Account, merchant: str) -> None:
    receipt = ref("rcpt_")
    await rz.pay_card(acct, await rz.new_order(acct, amount=50000, capture=True, receipt=receipt))
    f = pu.form(merchant, "100", **pu.card(OK_CARD))
    await pu.pay(sb.pu, f)
    assert len(await ledger(sb)) == 6
    assert {e["gateway"] for e in await ledger(sb, gateway="razorpay")} == {"razorpay"}
    assert [e["amount"] for e in await ledger(sb, kind="capture")] == [50000, 10000]
    assert [e["reference"] for e in await ledger(sb, gateway="payu", kind="order")] == [f["txnid"]]
    assert len(await ledger(sb, reference=receipt)) == 3
    assert await ledger(sb, gateway="paytm") == [] and await ledger(sb, reference="nobody") == []
    for bad in ({"kind": "payout"}, {"gateway": "stripe"}):
        assert (await sb.http.get("/_sandbox/ledger", params=bad)).status_code == 400
    assert (await sb.http.delete("/_sandbox/ledger")).json() == {"cleared": 6}
    assert await ledger(sb) == []
    assert (await sb.http.delete("/_sandbox/ledger")).json() == {"cleared": 0}
