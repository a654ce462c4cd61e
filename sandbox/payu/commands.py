"""PayU's command API: ``POST /merchant/postservice.php?form=2`` (also ``/merchant/postservice``).

Form fields ``key``, ``command``, ``var1``…``var5``, ``hash = sha512(key|command|var1|SALT)``; the
answer is JSON (``form=2``). A bad key or hash answers ``{"status": 0, "msg": "Invalid Hash."}`` /
``"Invalid key"``; an unknown command ``{"status": 0, "msg": "Invalid command"}``.

* ``verify_payment`` (``var1`` = txnid, several joined by ``|``): ``{"status": 1, "msg": "n out of m
  Transactions Fetched Successfully", "transaction_details": {txnid: {...}}}``; unknown ids show
  ``{"mihpayid": "Not Found", "status": "Not Found"}`` and ``status`` is 0 when none was found.
* ``check_payment`` (``var1`` = mihpayid): ``{"status": 1, "msg", "transaction_details": {...}}``.
* ``cancel_refund_transaction`` (``var1`` mihpayid, ``var2`` token, ``var3`` amount; ``var2``/``var3``
  swapped is accepted): ``{"status": 1, "msg": "Refund Request Queued", "request_id", "bank_ref_num",
  "mihpayid", "error_code": 102}`` or ``{"status": 0, "msg", "error_code"}`` with 105 invalid amount,
  106 token already used, 111 payment not captured, 116 unknown payment, 214 same amount on the
  same payment within 5 minutes.
* ``check_action_status`` (``var1`` = request_id): ``{"status": 1, "msg", "transaction_details":
  {request_id: {request_id, mihpayid, token, amt, action: "refund", status: queued|success|failure,
  bank_ref_num, ...}}}``.

Refunds settle after ``SANDBOX_UPI_DELAY_S`` (``failure`` while a ``refund_fail`` fault is active) and
then POST a JSON refund webhook ``{key, action: "refund", status, amt, token, mihpayid, request_id,
merchantTxnId, bank_ref_num, bank_arn, refund_mode, hash}``; PayU documents no signature for it, the
sandbox adds ``hash = sha512(SALT|status|amt|request_id|mihpayid|key)`` (confirm with
``check_action_status`` either way).

Each queued refund is a ``refund`` in the sandbox ledger (``reference`` = the merchant's token,
``gateway_id`` = ``request_id``); a refused one (a reused token included) records nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import msgspec

from sandbox.faults import FaultKind
from sandbox.payu import hashes as h
from sandbox.payu.service import GATEWAY, PayuService, decimal_amount, flip_hex
from sandbox.payu.store import Refund, Txn, addedon, digits, rupees
from sandbox.webhooks import Delivery


def run(payu: PayuService, form: dict[str, str], path: str) -> dict[str, Any]:
    """Authenticate and dispatch one command."""
    key, command, var1 = form.get("key", ""), form.get("command", ""), form.get("var1", "")
    salt = h.SALTS.get(key)
    if salt is None:
        return {"status": 0, "msg": "Invalid key"}
    if not h.matches(h.command_hash(key, command, var1, salt), form.get("hash")):
        return {"status": 0, "msg": "Invalid Hash."}
    if command == "verify_payment":
        return verify_payment(payu, key, var1)
    if command == "check_payment":
        txn = payu.store.txns.get(var1)
        if txn is None or txn.key != key:
            return {"status": 0, "msg": "Transaction Not Found"}
        return {"status": 1, "msg": "Transaction Fetched Successfully", "transaction_details": details(txn)}
    if command == "cancel_refund_transaction":
        return refund(payu, key, form, path)
    if command == "check_action_status":
        found = payu.store.refunds.get(var1)
        if found is None or payu.store.txns[found.mihpayid].key != key:
            return {"status": 0, "msg": "No action status found"}
        return {"status": 1, "msg": "1 out of 1 Transactions Fetched Successfully",
                "transaction_details": {var1: refund_details(payu.store.txns[found.mihpayid], found)}}  # fmt: skip
    return {"status": 0, "msg": "Invalid command"}


def details(txn: Txn) -> dict[str, Any]:
    """One transaction as ``verify_payment`` / ``check_payment`` show it."""
    p = txn.posted
    return {
        "mihpayid": txn.mihpayid,
        "request_id": "",
        "bank_ref_num": txn.bank_ref_num or None,
        "amt": rupees(txn.amount),
        "transaction_amount": rupees(txn.amount),
        "txnid": txn.txnid,
        "additional_charges": txn.additional_charges or "0.00",
        "productinfo": p.get("productinfo", ""),
        "firstname": p.get("firstname", ""),
        "bankcode": txn.bankcode,
        **{f"udf{i}": p.get(f"udf{i}", "") for i in range(1, 6)},
        "field9": "Transaction Completed Successfully" if txn.status == "success" else txn.error_message,
        "error_code": txn.error,
        "error_Message": txn.error_message,
        "addedon": addedon(txn.created_at),
        "payment_source": "payu",
        "mode": txn.mode,
        "PG_TYPE": f"{txn.mode}-PG",
        "card_no": txn.cardnum,
        "name_on_card": txn.name_on_card,
        "net_amount_debit": rupees(txn.amount) if txn.status == "success" else "0",
        "disc": "0.00",
        "status": txn.status,
        "unmappedstatus": txn.unmappedstatus,
        "refund_amount": rupees(txn.refunded),
    }


def verify_payment(payu: PayuService, key: str, var1: str) -> dict[str, Any]:
    """``verify_payment``: the latest transaction of each txnid."""
    ids = [part for part in var1.split("|") if part]
    found: dict[str, Any] = {}
    for txnid in ids:
        txn = payu.store.by_merchant_txnid(key, txnid)
        found[txnid] = details(txn) if txn else {"mihpayid": "Not Found", "status": "Not Found"}
    hits = sum(1 for item in found.values() if item["status"] != "Not Found")
    return {
        "status": 1 if hits else 0,
        "msg": f"{hits} out of {len(ids)} Transactions Fetched Successfully",
        "transaction_details": found,
    }


def refund(payu: PayuService, key: str, form: dict[str, str], path: str) -> dict[str, Any]:
    """``cancel_refund_transaction``: queue a refund of a captured payment."""
    token, amount_text = form.get("var2", ""), form.get("var3", "")
    if decimal_amount(amount_text) is None and decimal_amount(token) is not None:
        token, amount_text = amount_text, token
    txn = payu.store.txns.get(form.get("var1", ""))
    if txn is None or txn.key != key:
        return {"status": 0, "msg": "Transaction not found", "error_code": 116}
    if not token or (key, token) in payu.store.tokens:
        return {"status": 0, "msg": "Token already exists", "error_code": 106}
    if txn.status != "success":
        return {"status": 0, "msg": "Invalid transaction status", "error_code": 111}
    amount = decimal_amount(amount_text)
    if amount is None or amount > txn.amount - txn.refunded:
        return {"status": 0, "msg": "Invalid amount", "error_code": 105}
    recent = [payu.store.refunds[r] for r in txn.refund_ids]
    if any(r.amount == amount and r.status != "failure" and time.time() - r.created_at < 300 for r in recent):
        return {"status": 0, "msg": "Same amount refund requested within 5 minutes", "error_code": 214}
    item = Refund(digits(9), txn.mihpayid, token, amount)
    payu.store.refunds[item.request_id] = item
    payu.store.tokens[(key, token)] = item.request_id
    txn.refund_ids.append(item.request_id)
    txn.refunded += amount
    payu.ctx.ledger.record(GATEWAY, "refund", token, item.request_id, amount)
    fault = payu.ctx.faults.take(GATEWAY, path, [FaultKind.REFUND_PENDING, FaultKind.REFUND_FAIL])
    succeed = fault is None or fault.fault is FaultKind.REFUND_PENDING
    payu.ctx.tasks.spawn(_settle_later(payu, txn, item, succeed))
    return {
        "status": 1,
        "msg": "Refund Request Queued",
        "request_id": item.request_id,
        "bank_ref_num": None,
        "mihpayid": txn.mihpayid,
        "error_code": 102,
    }


def refund_details(txn: Txn, item: Refund) -> dict[str, Any]:
    """One refund request as ``check_action_status`` shows it."""
    return {
        "request_id": item.request_id,
        "mihpayid": item.mihpayid,
        "txnid": txn.txnid,
        "token": item.token,
        "amt": rupees(item.amount),
        "action": "refund",
        "status": item.status,
        "bank_ref_num": item.bank_ref_num or None,
        "addedon": addedon(item.created_at),
    }


async def _settle_later(payu: PayuService, txn: Txn, item: Refund, succeed: bool) -> None:
    await asyncio.sleep(payu.ctx.settings.upi_delay_s)
    item.status = "success" if succeed else "failure"
    if succeed:
        item.bank_ref_num = digits(12)
    else:
        txn.refunded -= item.amount
    payu.emit([refund_webhook(payu, txn, item)])


def refund_webhook(payu: PayuService, txn: Txn, item: Refund) -> Delivery:
    """The refund-status webhook (JSON) of a settled refund."""
    body: dict[str, Any] = {
        "key": txn.key,
        "action": "refund",
        "status": item.status,
        "amt": rupees(item.amount),
        "token": item.token,
        "mihpayid": txn.mihpayid,
        "request_id": item.request_id,
        "merchantTxnId": txn.txnid,
        "bank_ref_num": item.bank_ref_num,
        "bank_arn": item.bank_ref_num,
        "refund_mode": "Back to Source",
    }
    signed = f"{h.SALTS[txn.key]}|{item.status}|{body['amt']}|{item.request_id}|{txn.mihpayid}|{txn.key}"
    body["hash"] = h.sha512(signed)
    encoded = msgspec.json.encode(body)
    return Delivery(
        gateway=GATEWAY,
        event=f"refund.{item.status}",
        event_id=f"{item.request_id}:{item.status}",
        url=payu.ctx.settings.webhook_target(GATEWAY, txn.posted.get("udf1", "")),
        body=encoded,
        headers={"Content-Type": "application/json"},
        tamper=lambda d: replace(d, body=d.body.replace(body["hash"].encode(), flip_hex(body["hash"]).encode())),
    )
