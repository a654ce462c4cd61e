"""E2E: the PayU sandbox over real HTTP; hashes are computed and checked in the test with hashlib.

Request hash ``sha512(key|txnid|amount|productinfo|firstname|email|udf1..udf5||||||SALT)``, reverse
hash ``sha512([additionalCharges|]SALT|status||||||udf5..udf1|email|firstname|productinfo|amount|txnid|key)``,
command hash ``sha512(key|command|var1|SALT)`` (gateways.md §3), written here independently.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import pytest_asyncio

from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.e2e.conftest import WebhookReceiver
from tests.support.servers import free_port, serve_asgi

pytestmark = pytest.mark.e2e

KEY, SALT = "sandboxkey", "sandboxsalt"
SURL, FURL = "https://merchant.example/payu/success", "https://merchant.example/payu/failure"


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def request_hash(f: dict[str, str]) -> str:
    udfs = "|".join(f.get(f"udf{i}", "") for i in range(1, 6))
    return sha512(
        f"{f['key']}|{f['txnid']}|{f['amount']}|{f['productinfo']}|{f['firstname']}|{f['email']}|{udfs}||||||{SALT}"
    )


def reverse_ok(f: dict[str, str], with_charges: bool = True) -> bool:
    udfs = "|".join(f.get(f"udf{i}", "") for i in range(5, 0, -1))
    text = f"{SALT}|{f['status']}||||||{udfs}|{f['email']}|{f['firstname']}|{f['productinfo']}|{f['amount']}|{f['txnid']}|{f['key']}"
    if with_charges and f.get("additionalCharges"):
        text = f"{f['additionalCharges']}|{text}"
    return sha512(text) == f["hash"]


def test_reference_vectors() -> None:
    f = {"key": "C0Dr8m", "txnid": "12345", "amount": "10", "productinfo": "Shopping", "firstname": "Test",
         "email": "test@test.com", "udf2": "abc", "udf4": "15"}  # fmt: skip
    assert (
        hashlib.sha512(b"C0Dr8m|12345|10|Shopping|Test|test@test.com||abc||15|||||||3sf0jURk")
        .hexdigest()
        .startswith("ffcdbf04")
    )
    from sandbox.payu import hashes

    assert hashes.request_hash(f, "3sf0jURk").startswith("ffcdbf04fa5beefd")
    assert hashes.reverse_hash({**f, "status": "success"}, "3sf0jURk").startswith("012af4d4cc8a3d93")
    assert hashes.reverse_hash({**f, "status": "success", "additionalCharges": "2.00"}, "3sf0jURk").startswith(
        "597a5f85"
    )
    assert hashes.command_hash("C0Dr8m", "verify_payment", "12345", "3sf0jURk").startswith("26e3f2b1fdc9c224")


@dataclass
class Sandbox:
    base: str
    http: httpx.AsyncClient
    receiver: WebhookReceiver


@pytest_asyncio.fixture(scope="module")
async def sandbox(webhook_receiver: WebhookReceiver) -> Any:
    port = free_port()
    settings = SandboxSettings(
        public_url=f"http://127.0.0.1:{port}",
        webhook_url=webhook_receiver.base_url + "/v1/webhooks/{gateway}/{merchant_id}",
        upi_delay_s=0.2,
        hang_s=1.0,
        webhook_retry_delays_s=(0.05, 0.1),
    )
    async with serve_asgi(create_app(settings), port=port) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Sandbox(base, http, webhook_receiver)


@pytest_asyncio.fixture(autouse=True)
async def _reset(sandbox: Sandbox) -> Any:
    yield
    await sandbox.http.delete("/_sandbox/faults")
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "normal"})


@pytest.fixture
def merchant() -> str:
    return f"m_{uuid.uuid4().hex[:12]}"


def form(merchant: str, amount: str = "100", s2s: bool = True, **extra: str) -> dict[str, str]:
    f = {
        "key": KEY, "txnid": f"T{uuid.uuid4().hex[:20]}", "amount": amount, "productinfo": "Medicines",
        "firstname": "Asha", "email": "asha@example.com", "phone": "9876543210", "surl": SURL, "furl": FURL,
        "udf1": merchant, "udf2": "pay_123", **extra,
    }  # fmt: skip
    if s2s:
        f["txn_s2s_flow"] = "4"
    f["hash"] = request_hash(f)
    return f


def card(number: str, pg: str = "CC") -> dict[str, str]:
    return {
        "pg": pg,
        "bankcode": "CC",
        "ccnum": number,
        "ccname": "Asha",
        "ccvv": "123",
        "ccexpmon": "12",
        "ccexpyr": "2031",
    }


async def pay(sandbox: Sandbox, f: dict[str, str]) -> httpx.Response:
    return await sandbox.http.post("/payu/_payment", data=f)


async def command(sandbox: Sandbox, name: str, var1: str, salt: str = SALT, **more: str) -> dict[str, Any]:
    data = {"key": KEY, "command": name, "var1": var1, "hash": sha512(f"{KEY}|{name}|{var1}|{salt}"), **more}
    response = await sandbox.http.post("/payu/merchant/postservice.php", params={"form": "2"}, data=data)
    assert response.status_code == 200
    return response.json()


async def verify(sandbox: Sandbox, txnid: str) -> dict[str, Any]:
    answer = await command(sandbox, "verify_payment", txnid)
    return answer["transaction_details"][txnid]


async def hooks(sandbox: Sandbox, merchant: str, count: int) -> list[dict[str, str]]:
    received = await sandbox.receiver.wait_for(merchant, count)
    assert len(received) == count
    fields = [dict(parse_qsl(h.body.decode(), keep_blank_values=True)) for h in received if h.body[:1] != b"{"]
    assert all(reverse_ok(f) for f in fields)
    return fields


def query_fields(response: httpx.Response) -> tuple[str, dict[str, str]]:
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    return f"{location.scheme}://{location.netloc}{location.path}", dict(
        parse_qsl(location.query, keep_blank_values=True)
    )


def form_fields(page: httpx.Response) -> tuple[str, dict[str, str]]:
    action = re.search(r"action='([^']+)'", page.text)
    assert action is not None
    return action[1], dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))


# ---- server-to-server cards ----------------------------------------------------------------------


async def test_healthz_lists_payu(sandbox: Sandbox) -> None:
    assert "payu" in (await sandbox.http.get("/healthz")).json()["gateways"]


@pytest.mark.parametrize("number", ["4111111111111111", "4242424242424242", "5555555555554444", "6521111111111110"])
async def test_s2s_success_cards(sandbox: Sandbox, merchant: str, number: str) -> None:
    f = form(merchant, "100", **card(number))
    answer = (await pay(sandbox, f)).json()
    meta, result = answer["metaData"], answer["result"]
    assert (meta["txnStatus"], meta["unmappedStatus"], meta["txnId"]) == ("success", "captured", f["txnid"])
    assert reverse_ok(result) and result["amount"] == "100.00" and result["error"] == "E000"
    assert (result["status"], result["unmappedstatus"], result["mode"], result["udf1"]) == (
        "success",
        "captured",
        "CC",
        merchant,
    )
    assert result["cardnum"].endswith(number[-4:]) and number not in json.dumps(answer)
    details = await verify(sandbox, f["txnid"])
    assert (details["status"], details["unmappedstatus"], details["mihpayid"], details["amt"]) == (
        "success", "captured", result["mihpayid"], "100.00")  # fmt: skip
    [hook] = await hooks(sandbox, merchant, 1)
    assert hook["mihpayid"] == result["mihpayid"]
    duplicate = (await pay(sandbox, form(merchant, "100", txnid=f["txnid"], **card(number)))).json()
    assert duplicate["status"] == "failure" and duplicate["error"] == "E1004"


@pytest.mark.parametrize(
    ("number", "error"), [("4000000000000002", "E308"), ("4000000000009995", "E208"), ("4000000000000069", "E217")]
)
async def test_s2s_declines(sandbox: Sandbox, merchant: str, number: str, error: str) -> None:
    f = form(merchant, **card(number, "DC"))
    answer = (await pay(sandbox, f)).json()
    assert (answer["metaData"]["txnStatus"], answer["metaData"]["statusCode"]) == ("failure", error)
    result = answer["result"]
    assert reverse_ok(result) and (result["status"], result["error"], result["mode"]) == ("failure", error, "DC")
    assert result["field9"] == result["error_Message"] != ""
    assert (await verify(sandbox, f["txnid"]))["status"] == "failure"
    [hook] = await hooks(sandbox, merchant, 1)
    assert hook["status"] == "failure"
    retry = (await pay(sandbox, form(merchant, txnid=f["txnid"], **card("4111111111111111")))).json()
    assert retry["result"]["status"] == "success"


async def test_gateway_error_and_charge_then_drop(sandbox: Sandbox, merchant: str) -> None:
    f = form(merchant, **card("4000000000000119"))
    response = await pay(sandbox, f)
    assert response.status_code == 502 and response.json()["status"] == "failure"
    answer = await command(sandbox, "verify_payment", f["txnid"])
    assert answer["status"] == 0 and answer["transaction_details"][f["txnid"]]["status"] == "Not Found"
    f = form(merchant, **card("4000000000000259"))
    with pytest.raises(httpx.HTTPError):
        await pay(sandbox, f)
    assert (await verify(sandbox, f["txnid"]))["status"] == "success"
    assert await sandbox.receiver.wait_for(merchant, 1, within=0.4) == []


async def test_otp_card_s2s_then_page(sandbox: Sandbox, merchant: str) -> None:
    f = form(merchant, "1234.5", **card("4000000000003220"))
    answer = (await pay(sandbox, f)).json()
    assert answer["metaData"]["txnStatus"] == "pending" and answer["result"]["enrolled"] == "1"
    url = answer["result"]["issuerUrl"]
    import base64

    assert url in base64.b64decode(answer["result"]["acsTemplate"]).decode()
    assert (await verify(sandbox, f["txnid"]))["status"] == "pending"
    page = await sandbox.http.get(url)
    assert "1234.50" in page.text and "approve" in page.text
    target, fields = query_fields(await sandbox.http.get(url, params={"decision": "approve"}))
    assert target == SURL and reverse_ok(fields) and fields["amount"] == "1234.50" and fields["status"] == "success"
    assert (await verify(sandbox, f["txnid"]))["status"] == "success"
    await hooks(sandbox, merchant, 1)


async def test_otp_card_reject(sandbox: Sandbox, merchant: str) -> None:
    answer = (await pay(sandbox, form(merchant, **card("4000000000003220")))).json()
    page = await sandbox.http.post(answer["result"]["issuerUrl"], data={"decision": "reject"})
    target, fields = form_fields(page)
    assert target == FURL and reverse_ok(fields)
    assert (fields["status"], fields["unmappedstatus"], fields["error"]) == ("failure", "userCancelled", "E1605")


# ---- browser flow ----------------------------------------------------------------------------------


async def test_browser_card_posts_back_to_surl(sandbox: Sandbox, merchant: str) -> None:
    response = await pay(sandbox, form(merchant, s2s=False, **card("4111111111111111")))
    assert response.status_code == 302
    page = await sandbox.http.get(response.headers["location"])
    target, fields = form_fields(page)
    assert target == SURL and reverse_ok(fields) and fields["status"] == "success"


@pytest.mark.parametrize(("pg", "bankcode", "mode"), [("NB", "HDFC", "NB"), ("CASH", "PAYTM", "CASH"), ("", "", "CC")])
async def test_browser_netbanking_wallet_hosted(
    sandbox: Sandbox, merchant: str, pg: str, bankcode: str, mode: str
) -> None:
    extra = {"pg": pg, "bankcode": bankcode} if pg else {}
    response = await pay(sandbox, form(merchant, s2s=False, **extra))
    url = response.headers["location"]
    assert "approve" in (await sandbox.http.get(url)).text
    target, fields = form_fields(await sandbox.http.post(url, data={"decision": "approve"}))
    assert target == SURL and reverse_ok(fields) and (fields["status"], fields["mode"]) == ("success", mode)
    await hooks(sandbox, merchant, 1)


@pytest.mark.parametrize("charges_field", ["additional_charges", "additionalCharges"])
async def test_additional_charges_change_reverse_hash(sandbox: Sandbox, merchant: str, charges_field: str) -> None:
    answer = (await pay(sandbox, form(merchant, **card("4111111111111111"), **{charges_field: "2"}))).json()
    result = answer["result"]
    assert result["additionalCharges"] == "2.00"
    assert reverse_ok(result, with_charges=True) and not reverse_ok(result, with_charges=False)


async def test_request_errors(sandbox: Sandbox, merchant: str) -> None:
    bad = {**form(merchant, **card("4111111111111111")), "hash": "0" * 128}
    answer = (await pay(sandbox, bad)).json()
    assert (answer["status"], answer["error"]) == ("failure", "E1001") and "hash" in answer["message"]
    page = await pay(sandbox, {**form(merchant, s2s=False), "hash": "0" * 128})
    assert page.status_code == 200 and "incorrectly calculated hash" in page.text
    missing = form(merchant)
    del missing["phone"]
    assert (await pay(sandbox, missing)).json()["error"] == "E1002"
    assert (await pay(sandbox, form(merchant, "10.001"))).json()["error"] == "E1003"
    assert (await pay(sandbox, form(merchant, **card("4111111111111112")))).json()["error"] == "E1005"
    assert (await pay(sandbox, form(merchant, pg="UPI", bankcode="UPI", vpa="nope"))).json()["error"] == "E1006"
    assert (await pay(sandbox, form(merchant, txnid="x" * 26))).json()["error"] == "E1004"


# ---- UPI collect -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("vpa", "status"), [("success@upi", "success"), ("failure@upi", "failure")])
async def test_upi_collect(sandbox: Sandbox, merchant: str, vpa: str, status: str) -> None:
    f = form(merchant, pg="UPI", bankcode="UPI", vpa=vpa)
    answer = (await pay(sandbox, f)).json()
    assert answer["metaData"]["txnStatus"] == "pending" and answer["result"]["status"] == "pending"
    assert answer["result"]["paymentId"] == answer["metaData"]["referenceId"]
    assert (await verify(sandbox, f["txnid"]))["status"] == "pending"
    [hook] = await hooks(sandbox, merchant, 1)
    assert (hook["status"], hook["mode"], hook["upi_va"]) == (status, "UPI", vpa)
    assert (await verify(sandbox, f["txnid"]))["status"] == status


# ---- command API -----------------------------------------------------------------------------------


async def test_command_auth_and_verify_many(sandbox: Sandbox, merchant: str) -> None:
    assert await command(sandbox, "verify_payment", "x", salt="wrong") == {"status": 0, "msg": "Invalid Hash."}
    assert (await command(sandbox, "no_such_command", "x"))["status"] == 0
    one = form(merchant, **card("4111111111111111"))
    two = form(merchant, **card("4000000000000002"))
    await pay(sandbox, one)
    await pay(sandbox, two)
    answer = await command(sandbox, "verify_payment", f"{one['txnid']}|{two['txnid']}|missing")
    assert answer["status"] == 1 and answer["msg"] == "2 out of 3 Transactions Fetched Successfully"
    details = answer["transaction_details"]
    assert (details[one["txnid"]]["status"], details[two["txnid"]]["status"], details["missing"]["status"]) == (
        "success", "failure", "Not Found")  # fmt: skip
    check = await command(sandbox, "check_payment", details[one["txnid"]]["mihpayid"])
    assert check["status"] == 1 and check["transaction_details"]["txnid"] == one["txnid"]


async def test_refunds(sandbox: Sandbox, merchant: str) -> None:
    f = form(merchant, "100", **card("4111111111111111"))
    mihpayid = (await pay(sandbox, f)).json()["result"]["mihpayid"]
    token = f"tok{uuid.uuid4().hex[:10]}"
    queued = await command(sandbox, "cancel_refund_transaction", mihpayid, var2=token, var3="30.00")
    assert (queued["status"], queued["msg"], queued["error_code"], queued["mihpayid"]) == (
        1,
        "Refund Request Queued",
        102,
        mihpayid,
    )
    request_id = queued["request_id"]
    assert (await command(sandbox, "cancel_refund_transaction", mihpayid, var2=token, var3="1.00"))["error_code"] == 106
    assert (await command(sandbox, "cancel_refund_transaction", mihpayid, var2=token + "b", var3="70.01"))[
        "error_code"
    ] == 105
    assert (await command(sandbox, "cancel_refund_transaction", mihpayid, var2=token + "c", var3="30.00"))[
        "error_code"
    ] == 214
    assert (await command(sandbox, "cancel_refund_transaction", "999", var2=token + "d", var3="1.00"))[
        "error_code"
    ] == 116
    swapped = await command(sandbox, "cancel_refund_transaction", mihpayid, var2="10.00", var3=token + "e")
    assert swapped["status"] == 1
    status = await command(sandbox, "check_action_status", request_id)
    assert status["transaction_details"][request_id]["status"] == "queued"
    received = await sandbox.receiver.wait_for(merchant, 3)
    refund_events = [json.loads(h.body) for h in received if h.body[:1] == b"{"]
    event = next(e for e in refund_events if e["request_id"] == request_id)
    signed = f"{SALT}|{event['status']}|{event['amt']}|{event['request_id']}|{event['mihpayid']}|{KEY}"
    assert event["hash"] == sha512(signed) and (event["status"], event["action"], event["amt"]) == (
        "success",
        "refund",
        "30.00",
    )
    done = (await command(sandbox, "check_action_status", request_id))["transaction_details"][request_id]
    assert (done["status"], done["amt"], done["token"]) == ("success", "30.00", token)
    declined = form(merchant, **card("4000000000000002"))
    failed_id = (await pay(sandbox, declined)).json()["result"]["mihpayid"]
    assert (await command(sandbox, "cancel_refund_transaction", failed_id, var2=token + "f", var3="1.00"))[
        "error_code"
    ] == 111


async def test_refund_fail_fault(sandbox: Sandbox, merchant: str) -> None:
    mihpayid = (await pay(sandbox, form(merchant, **card("4111111111111111")))).json()["result"]["mihpayid"]
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "payu", "fault": "refund_fail", "count": 1})
    queued = await command(
        sandbox, "cancel_refund_transaction", mihpayid, var2=f"t{uuid.uuid4().hex[:8]}", var3="100.00"
    )
    received = await sandbox.receiver.wait_for(merchant, 2)
    assert json.loads(received[-1].body)["status"] == "failure"
    details = (await command(sandbox, "check_action_status", queued["request_id"]))["transaction_details"]
    assert details[queued["request_id"]]["status"] == "failure"


# ---- faults ----------------------------------------------------------------------------------------


async def test_faults_and_tampered_webhook(sandbox: Sandbox, merchant: str) -> None:
    await sandbox.http.post(
        "/_sandbox/faults", json={"gateway": "payu", "fault": "http_500", "path_contains": "_payment", "count": 1}
    )
    f = form(merchant, **card("4111111111111111"))
    assert (await pay(sandbox, f)).status_code == 500
    assert (await verify(sandbox, f["txnid"]))["status"] == "Not Found"
    await sandbox.http.post("/_sandbox/faults", json={"gateway": "payu", "fault": "timeout", "count": 1})
    with pytest.raises(httpx.ReadTimeout):
        await sandbox.http.post("/payu/_payment", data=f, timeout=0.3)
    assert (await verify(sandbox, f["txnid"]))["status"] == "success"
    await sandbox.http.post("/_sandbox/webhooks", json={"mode": "tamper"})
    other = merchant + "t"
    await pay(sandbox, form(other, **card("4111111111111111")))
    [hook] = await sandbox.receiver.wait_for(other, 1)
    assert not reverse_ok(dict(parse_qsl(hook.body.decode(), keep_blank_values=True)))
    assert (await sandbox.http.get("/payu/nothing/here")).status_code == 404
