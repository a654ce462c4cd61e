"""Razorpay refunds: ``POST /v1/payments/{id}/refund`` and their webhooks.

* A refund is ``processed`` at once (``refund.created`` showing ``pending``, then
  ``refund.processed``), unless a ``refund_pending`` / ``refund_fail`` fault is active: then it
  stays ``pending`` and resolves after ``SANDBOX_UPI_DELAY_S`` (``refund.processed``, or
  ``refund.failed`` with the amount given back to the payment's refundable balance).
* The amount defaults to what is left of the *captured* amount; more is refused with
  "The refund amount provided is greater than amount captured".
* ``X-Refund-Idempotency`` (at least 10 of ``[A-Za-z0-9_-]``, scoped to the key id): a repeated key
  returns the first refund unchanged instead of creating another.
* A payment whose captured amount is fully refunded turns ``refunded``.
* Each new refund (not a replay) is a ``refund`` in the sandbox ledger, its ``reference`` the
  ``X-Refund-Idempotency`` key, else the refund's ``receipt``, else its ``notes.refund_id``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.faults import FaultKind
from sandbox.razorpay import validation as v
from sandbox.razorpay.errors import business_error, input_error
from sandbox.razorpay.events import GATEWAY, event
from sandbox.razorpay.service import RazorpayService
from sandbox.razorpay.store import Refund, new_id


def create_refund(
    rzp: RazorpayService,
    key_id: str,
    payment_id: str,
    data: dict[str, Any],
    idempotency: str | None,
    path: str,
) -> Refund:
    """Refund (part of) a captured payment; ``path`` is matched against refund outcome faults."""
    store = rzp.store
    payment = store.payment(key_id, payment_id)
    key = v.idempotency_key(idempotency)
    if key is not None and (key_id, key) in store.refund_keys:
        existing = store.refunds[store.refund_keys[(key_id, key)]]
        if existing.payment_id != payment.id:
            raise business_error("The idempotency key was already used for another payment.")
        return existing
    if payment.status not in ("captured", "refunded"):
        raise business_error("Only captured payments can be refunded.")
    remaining = payment.amount_captured - payment.amount_refunded
    if remaining <= 0:
        raise business_error("The payment has been fully refunded already.")
    amount = remaining if data.get("amount") is None else v.integer(data["amount"], "amount")
    if amount < 1:
        raise input_error("The amount must be at least 1.", "amount")
    if amount > remaining:
        raise business_error("The refund amount provided is greater than amount captured", "amount")
    speed = data.get("speed") or "normal"
    if speed not in ("normal", "optimum"):
        raise input_error("The selected speed is invalid.", "speed")
    refund = Refund(
        id=new_id("rfnd"),
        key_id=key_id,
        payment_id=payment.id,
        amount=amount,
        currency=payment.currency,
        notes=v.notes(data),
        receipt=v.optional_str(data, "receipt", 40),
        speed_requested=speed,
        status="pending",
    )
    store.refunds[refund.id] = refund
    if key is not None:
        store.refund_keys[(key_id, key)] = refund.id
    payment.refund_ids.append(refund.id)
    reference = key or refund.receipt or _note(refund.notes, "refund_id")
    rzp.ctx.ledger.record(GATEWAY, "refund", reference, refund.id, amount, refund.currency)
    payment.amount_refunded += amount
    if payment.amount_refunded >= payment.amount_captured:
        payment.status = "refunded"
    order = store.orders[payment.order_id]
    settings = rzp.ctx.settings
    events = [event(settings, "refund.created", order, payment, refund)]
    fault = rzp.ctx.faults.take(GATEWAY, path, [FaultKind.REFUND_PENDING, FaultKind.REFUND_FAIL])
    if fault is None:
        refund.status = "processed"
        events.append(event(settings, "refund.processed", order, payment, refund))
    else:
        rzp.ctx.tasks.spawn(_settle_later(rzp, refund, succeed=fault.fault is FaultKind.REFUND_PENDING))
    rzp.emit(events)
    return refund


def _note(notes: dict[str, Any], name: str) -> str | None:
    value = notes.get(name)
    return None if value is None else str(value)


async def _settle_later(rzp: RazorpayService, refund: Refund, succeed: bool) -> None:
    await asyncio.sleep(rzp.ctx.settings.upi_delay_s)
    payment = rzp.store.payments[refund.payment_id]
    order = rzp.store.orders[payment.order_id]
    if succeed:
        refund.status = "processed"
        rzp.emit([event(rzp.ctx.settings, "refund.processed", order, payment, refund)])
        return
    refund.status = "failed"
    payment.amount_refunded -= refund.amount
    if payment.status == "refunded":
        payment.status = "captured"
    rzp.emit([event(rzp.ctx.settings, "refund.failed", order, payment, refund)])
