"""Juspay refunds: ``POST /orders/{order_id}/refunds`` (and the legacy ``POST /order/refund``).

* ``unique_request_id`` of 1-20 characters ``[A-Za-z0-9_-]``; repeating one on the order returns the
  order unchanged. Only a ``CHARGED`` order is refundable; the amount defaults to what is left.
* Refunds are ``PENDING`` then ``SUCCESS`` (``ORDER_REFUNDED``) after ``SANDBOX_UPI_DELAY_S``, or
  ``FAILURE`` (``ORDER_REFUND_FAILED``) under a ``refund_fail`` fault, or ``MANUAL_REVIEW``
  (``REFUND_MANUAL_REVIEW_NEEDED``, the amount stays counted) under ``refund_review``.
* Each new refund (not a replay) is a ``refund`` in the sandbox ledger: ``reference`` is the
  ``unique_request_id``, ``gateway_id`` the refund id (``rfd_…``).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from sandbox.faults import FaultKind
from sandbox.juspay import wire as w
from sandbox.juspay.service import GATEWAY, JuspayService
from sandbox.juspay.store import Order, Refund, new_id

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{1,20}$")


def refund(juspay: JuspayService, order_id: str, data: dict[str, str], path: str) -> dict[str, Any]:
    """Refund (part of) a charged order: idempotent on ``unique_request_id``; answers the order."""
    order = juspay.order(order_id)
    request_id = data.get("unique_request_id", "")
    if not _REQUEST_ID.match(request_id):
        raise w.bad_request("unique_request_id is mandatory: 1-20 characters of letters, digits, _ or -")
    if any(r.unique_request_id == request_id for r in order.refunds):
        return w.order_wire(order)
    if order.status not in ("CHARGED", "PARTIAL_CHARGED"):
        raise w.bad_request("Order is not in a successful state", "invalid.order.not_successful")
    remaining = order.captured - order.refunded
    amount = remaining if data.get("amount") in (None, "") else w.amount_of(data["amount"])
    if amount > remaining or remaining <= 0:
        raise w.bad_request("Refund amount exceeds the amount left to refund", "invalid.refund.amount")
    item = Refund(new_id("rfd_", 14), request_id, amount)
    order.refunds.append(item)
    order.refunded += amount
    juspay.ctx.ledger.record(GATEWAY, "refund", request_id, item.id, amount, order.currency)
    kinds = [FaultKind.REFUND_PENDING, FaultKind.REFUND_FAIL, FaultKind.REFUND_REVIEW]
    fault = juspay.ctx.faults.take(GATEWAY, path, kinds)
    final = {FaultKind.REFUND_FAIL: "FAILURE", FaultKind.REFUND_REVIEW: "MANUAL_REVIEW"}
    status = final.get(fault.fault, "SUCCESS") if fault else "SUCCESS"
    juspay.ctx.tasks.spawn(_settle_later(juspay, order, item, status))
    return w.order_wire(order)


async def _settle_later(juspay: JuspayService, order: Order, item: Refund, status: str) -> None:
    await asyncio.sleep(juspay.ctx.settings.upi_delay_s)
    item.status, item.ref = status, str(int(time.time() * 1000))
    if status == "FAILURE":
        order.refunded -= item.amount
    events = {"SUCCESS": "ORDER_REFUNDED", "FAILURE": "ORDER_REFUND_FAILED"}
    juspay.emit([juspay.webhook(order, events.get(status, "REFUND_MANUAL_REVIEW_NEEDED"))])


__all__ = ["refund"]
