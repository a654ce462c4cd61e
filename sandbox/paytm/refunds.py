"""Paytm refunds: ``POST /refund/apply`` (asynchronous), ``POST /v2/refund/status`` and the refund webhook.

* A refund is accepted as ``PENDING`` / ``601`` and settles after ``SANDBOX_UPI_DELAY_S``: ``SUCCESS``
  (refund status ``TXN_SUCCESS`` / ``10``), or ``FAILED`` (``TXN_FAILURE`` / ``602``, the amount given
  back) while a ``refund_fail`` fault is active (``refund_pending`` behaves like the default).
* Each settlement sends the "Accept Refund" webhook: JSON ``{"head": {"signature", "version"},
  "body": {...}}`` with ``body.status`` ``SUCCESS`` or ``FAILED``, signed like an API response.
* Refusals (``resultStatus: F``; codes other than 601 are UNCONFIRMED, chosen here): ``617`` duplicate
  ``refId``, ``619`` invalid amount, ``620`` more than the refundable balance, ``600`` payment not
  successful, ``631`` unknown order / transaction / refund.
* Each accepted refund is a ``refund`` in the sandbox ledger (``reference`` = ``refId``); a refused
  one (a duplicate ``refId`` included) records nothing.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from typing import Any

from sandbox.faults import FaultKind
from sandbox.paytm import wire as w
from sandbox.paytm.api import Answer, PaytmError, authenticate, envelope
from sandbox.paytm.service import GATEWAY, PaytmService
from sandbox.paytm.store import Order, Refund, digits
from sandbox.webhooks import Delivery

ACCEPTED = ("PENDING", "601", "Refund request was raised for this transaction. But it is pending state.")
REFUND_OK = ("TXN_SUCCESS", "10", "Refund Successfull")
REFUND_FAILED = ("TXN_FAILURE", "602", "Refund failed at bank.")
DUPLICATE = ("F", "617", "Refund Already Raised")
BAD_AMOUNT = ("F", "619", "Invalid refund amount")
TOO_MUCH = ("F", "620", "Refund amount exceeds the refundable amount")
NOT_PAID = ("F", "600", "Refund can only be raised on a successful transaction")
NOT_FOUND = ("F", "631", "Record not found")
_REF_ID = re.compile(r"^[A-Za-z0-9@._-]{1,50}$")


def apply(paytm: PaytmService, data: dict[str, Any], text: str, path: str) -> Answer:
    """``POST /refund/apply``: register a refund of a successful transaction."""
    head, body = envelope(data)
    mid = authenticate(head, body, text)
    ref_id = body.get("refId")
    if body.get("txnType", "REFUND") != "REFUND" or not isinstance(ref_id, str) or not _REF_ID.match(ref_id):
        raise PaytmError(w.BAD_PARAMS)
    if (mid, ref_id) in paytm.store.refunds:
        raise PaytmError(DUPLICATE)
    order = paytm.store.orders.get((mid, str(body.get("orderId"))))
    txn = next((t for t in order.txns if t.txn_id == body.get("txnId")), None) if order else None
    if order is None or txn is None:
        raise PaytmError(NOT_FOUND)
    if txn.status != "TXN_SUCCESS":
        raise PaytmError(NOT_PAID)
    amount = w.paise(body.get("refundAmount"))
    if amount is None:
        raise PaytmError(BAD_AMOUNT)
    if amount > order.amount - order.refunded:
        raise PaytmError(TOO_MUCH)
    refund = Refund(ref_id, digits(20), order.order_id, txn.txn_id, amount)
    paytm.store.refunds[(mid, ref_id)] = refund
    order.refunded += amount
    paytm.ctx.ledger.record(GATEWAY, "refund", ref_id, refund.refund_id, amount)
    fault = paytm.ctx.faults.take(GATEWAY, path, [FaultKind.REFUND_PENDING, FaultKind.REFUND_FAIL])
    succeed = fault is None or fault.fault is FaultKind.REFUND_PENDING
    paytm.ctx.tasks.spawn(_settle_later(paytm, order, refund, succeed))
    return Answer(
        {
            "txnTimestamp": w.txn_date(txn.created_at),
            "orderId": order.order_id,
            "mid": mid,
            "refId": ref_id,
            "resultInfo": w.result_info(ACCEPTED),
            "refundId": refund.refund_id,
            "txnId": txn.txn_id,
            "refundAmount": w.rupees(amount),
            "txnAmount": w.rupees(order.amount),
        }
    )


def status(paytm: PaytmService, data: dict[str, Any], text: str) -> Answer:
    """``POST /v2/refund/status``."""
    head, body = envelope(data)
    mid = authenticate(head, body, text)
    refund = paytm.store.refunds.get((mid, str(body.get("refId"))))
    if refund is None or refund.order_id != body.get("orderId"):
        raise PaytmError(NOT_FOUND)
    order = paytm.store.orders[(mid, refund.order_id)]
    code = {"PENDING": ACCEPTED, "SUCCESS": REFUND_OK, "FAILED": REFUND_FAILED}[refund.status]
    return Answer(
        {
            "orderId": order.order_id,
            "mid": mid,
            "refId": refund.ref_id,
            "refundId": refund.refund_id,
            "txnId": refund.txn_id,
            "txnAmount": w.rupees(order.amount),
            "refundAmount": w.rupees(refund.amount),
            "totalRefundAmount": w.rupees(order.refunded),
            "txnTimestamp": w.txn_date(order.txns[0].created_at),
            "merchantRefundRequestTimestamp": w.txn_date(refund.created_at),
            "acceptRefundTimestamp": w.txn_date(refund.created_at),
            "acceptRefundStatus": "SUCCESS",
            "userCreditInitiateStatus": refund.status,
            "resultInfo": w.result_info(code),
            "refundDetailInfoList": [{"refundType": "TO_SOURCE", "refundAmount": w.rupees(refund.amount)}],
        }
    )


async def _settle_later(paytm: PaytmService, order: Order, refund: Refund, succeed: bool) -> None:
    await asyncio.sleep(paytm.ctx.settings.upi_delay_s)
    refund.status, refund.settled_at = ("SUCCESS" if succeed else "FAILED"), time.time()
    if not succeed:
        order.refunded -= refund.amount
    paytm.emit([refund_webhook(paytm, order, refund)])


def refund_webhook(paytm: PaytmService, order: Order, refund: Refund) -> Delivery:
    """The signed "Accept Refund" webhook for a settled refund."""
    body: dict[str, Any] = {
        "txnTimestamp": w.txn_date(order.txns[0].created_at),
        "orderId": order.order_id,
        "mid": order.mid,
        "refundAmount": w.rupees(refund.amount),
        "refundId": refund.refund_id,
        "txnAmount": w.rupees(order.amount),
        "txnId": refund.txn_id,
        "merchantRefundRequestTimestamp": w.txn_date(refund.created_at),
        "acceptRefundTimestamp": w.txn_date(refund.settled_at or refund.created_at),
        "refId": refund.ref_id,
        "status": refund.status,
    }
    if refund.status == "FAILED":
        body["rejectRefundReasonCode"], body["rejectRefundReasonMessage"] = REFUND_FAILED[1], REFUND_FAILED[2]
    return Delivery(
        gateway=GATEWAY,
        event=f"refund.{refund.status}",
        event_id=f"{refund.refund_id}:{refund.status}",
        url=paytm.ctx.settings.webhook_target(GATEWAY, order.merc_unq_ref),
        body=w.signed(body, w.KEYS[order.mid]),
        headers={"Content-Type": "application/json"},
        tamper=_tamper_json,
    )


def _tamper_json(delivery: Delivery) -> Delivery:
    text = delivery.body.decode()
    start = text.index('"signature":"') + len('"signature":"')
    end = text.index('"', start)
    body_text = text[text.index(',"body":') + len(',"body":') : -1]
    return replace(delivery, body=(text[:start] + w.forged(body_text) + text[end:]).encode())
