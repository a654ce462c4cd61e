"""A 3-D Secure confirm cut by a crash after the gateway answered with its page, before the
engine recorded it (README "Known limitations" had it: the retry answered ``processing`` with
no ``next_action`` and the customer could never authenticate).

No gateway's status API gives the page again (reference/gateways.md), so the retry with the
same Idempotency-Key answers 502 ``authentication_pending`` (nothing stored, resumable) while the
gateway holds the unauthenticated payment open; once the gateway has failed it (its
authentication session expired: ``SANDBOX_AUTH_EXPIRE_S``), the retry starts a new attempt and
answers its page; approving it there charges the payment exactly once (the sandbox's ledger).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from paytmchecksum import PaytmChecksum

from engine.gateways.juspay.builders import order_id_for
from engine.gateways.payu.builders import txnid_for
from tests.e2e.test_crash_resume import LOCK_S, crash_during, fault_taken, ledger_of, retry, until
from tests.e2e.test_gateways_e2e import THREE_DS, browser, card, decide
from tests.support.procs import ProcessStack, process_stack
from tests.support.stack import Services, fresh_database

# Long enough for the dead request's lock to run out and the first retry to see the payment
# still open at the gateway; short enough for a test.
EXPIRE_S = 3 * LOCK_S
RETURN_URL = "https://shop.example/return"
# Where each gateway creates the payment that answers with its page (the fault holds that answer).
PAYMENT_CALL = {
    "juspay": "/txns",
    "paytm": "/processTransaction",
    "payu": "/_payment",
    "razorpay": "/v1/payments/create",
}
PAYTM_MID, PAYTM_KEY = "SANDBOXMID0000000001", "sandboxmerchkey1"
PAYU_KEY, PAYU_SALT = "sandboxkey", "sandboxsalt"


async def juspay_open(sandbox: httpx.AsyncClient, attempt: Any) -> bool:
    order = await sandbox.get(f"/juspay/orders/{order_id_for(attempt['id'])}", auth=("sandbox_api_key", ""))
    return order.status_code == 200 and order.json()["status"] == "PENDING_VBV"


async def paytm_open(sandbox: httpx.AsyncClient, attempt: Any) -> bool:
    text = json.dumps({"mid": PAYTM_MID, "orderId": attempt["id"]}, separators=(",", ":"))
    raw = '{"head":{"signature":"' + PaytmChecksum.generateSignature(text, PAYTM_KEY) + '"},"body":' + text + "}"
    answer = await sandbox.post("/paytm/v3/order/status", content=raw, headers={"Content-Type": "application/json"})
    return answer.status_code == 200 and answer.json()["body"]["resultInfo"]["resultStatus"] == "PENDING"


async def payu_open(sandbox: httpx.AsyncClient, attempt: Any) -> bool:
    txnid = txnid_for(attempt["id"])
    digest = hashlib.sha512(f"{PAYU_KEY}|verify_payment|{txnid}|{PAYU_SALT}".encode()).hexdigest()
    form = {"key": PAYU_KEY, "command": "verify_payment", "var1": txnid, "hash": digest}
    answer = await sandbox.post("/payu/merchant/postservice.php", params={"form": "2"}, data=form)
    item = answer.json().get("transaction_details", {}).get(txnid) if answer.status_code == 200 else None
    return isinstance(item, dict) and item.get("status") == "pending"


async def razorpay_open(sandbox: httpx.AsyncClient, attempt: Any) -> bool:
    if attempt["gateway_order_id"] is None:
        return False
    auth = ("rzp_test_sandbox", "sandbox_secret")
    payments = await sandbox.get(f"/razorpay/v1/orders/{attempt['gateway_order_id']}/payments", auth=auth)
    return payments.status_code == 200 and any(p["status"] == "created" for p in payments.json()["items"])


# Each gateway's own status API, asked directly: it holds the payment open, awaiting authentication.
OPEN_AT_GATEWAY = {"juspay": juspay_open, "paytm": paytm_open, "payu": payu_open, "razorpay": razorpay_open}


@pytest_asyncio.fixture(scope="module")
async def own_db(svc: Services) -> AsyncIterator[Services]:
    """A database of this module's own (see test_crash_resume)."""
    async with fresh_database(svc, "engine_crash_pages") as fresh:
        yield fresh


@pytest_asyncio.fixture(scope="module")
async def procs(own_db: Services, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProcessStack]:
    """A sandbox whose undecided pages expire after ``EXPIRE_S``, and an engine to kill."""
    env = {"IDEMPOTENCY_LOCK_TIMEOUT_S": str(LOCK_S), "SHUTDOWN_GRACE_S": "5"}
    sandbox_env = {"SANDBOX_AUTH_EXPIRE_S": str(EXPIRE_S)}
    log_dir = Path(tmp_path_factory.mktemp("crash_pages"))
    async with process_stack(own_db, engine_env=env, sandbox_env=sandbox_env, log_dir=log_dir) as stack:
        yield stack


def awaiting_authentication(procs: ProcessStack, db: Services, gateway: str) -> Callable[[], Awaitable[bool]]:
    """The gateway created the payment and waits for its authentication (its own status API
    says so), while its answer -- the page -- is held back from the engine."""

    async def check() -> bool:
        if not await fault_taken(procs)():
            return False
        conn = await asyncpg.connect(db.database_url)
        try:
            attempt = await conn.fetchrow(
                "SELECT id, gateway_order_id FROM payment_attempts WHERE status = 'pending'"
                " ORDER BY created_at DESC LIMIT 1"
            )
        finally:
            await conn.close()
        if attempt is None:
            return False
        async with procs.sandbox_client() as sandbox:
            return await OPEN_AT_GATEWAY[gateway](sandbox, attempt)

    return check


@pytest.mark.parametrize("gateway", sorted(PAYMENT_CALL))
async def test_a_3ds_confirm_whose_page_was_lost_gets_a_new_page_once_the_old_one_failed(procs, http, own_db, gateway):
    amount = 31000 + len(gateway)
    body = {"amount": amount, "currency": "INR", "confirm": True, "payment_method": card(THREE_DS),
            "gateway": gateway, "return_url": RETURN_URL}  # fmt: skip
    await procs.add_sandbox_fault(gateway, "timeout", path_contains=PAYMENT_CALL[gateway], count=1)
    sent = http.post("/v1/payments", json=body, headers={"Idempotency-Key": "3ds"})
    await crash_during(procs, sent, awaiting_authentication(procs, own_db, gateway))

    # The page is gone and the gateway still holds the payment open: say so, store nothing.
    pending = await retry(http, "/v1/payments", body, "3ds")
    assert pending.status_code == 502, f"{pending.text}\n{procs.engine_log_tail()}"
    assert pending.json()["error"]["code"] == "authentication_pending", pending.text
    assert int(pending.headers["retry-after"]) > 0
    assert pending.headers.get("idempotent-replayed") != "true"

    async def decided() -> httpx.Response | None:
        response = await retry(http, "/v1/payments", body, "3ds")
        waiting = response.status_code == 502 and response.json()["error"]["code"] == "authentication_pending"
        if waiting:
            await asyncio.sleep(0.5)  # a client honouring Retry-After, only less patient
        return None if waiting else response

    # The gateway failed the unauthenticated payment: the same key starts a new attempt.
    final = await until(decided, within=EXPIRE_S + 4 * LOCK_S)
    assert final.status_code == 201, f"{final.text}\n{procs.engine_log_tail()}"
    payment = final.json()
    assert payment["status"] == "requires_action", f"{payment}\n{procs.engine_log_tail()}"
    redirect = payment["next_action"]["redirect_url"]
    callback = await decide(redirect, "approve")
    async with browser() as client:
        await client.get(callback)

    async def succeeded() -> dict | None:
        shown = (await http.get(f"/v1/payments/{payment['id']}")).json()
        return shown if shown["status"] == "succeeded" else None

    shown = await until(succeeded)
    assert shown["amount_received"] == amount, shown
    kinds = await ledger_of(procs, own_db, payment["id"], gateway)
    assert kinds.get("charge") == [amount], kinds
    listed = (await http.get("/v1/payments", params={"limit": 10})).json()["data"]
    assert len(listed) == 1, "the retries continue the first payment"
    # Decided now: the key replays the answer that carried the new page.
    again = await http.post("/v1/payments", json=body, headers={"Idempotency-Key": "3ds"})
    assert again.status_code == 201 and again.content == final.content
