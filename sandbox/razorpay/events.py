"""Razorpay webhook events, built and signed the way Razorpay sends them.

Target URL: Razorpay sends webhooks to the URL configured per account on its dashboard. The
sandbox has no dashboard, so it derives the URL from ``SANDBOX_WEBHOOK_URL`` with
``gateway="razorpay"`` and ``merchant_id`` = the order's ``notes.merchant_id`` (empty when the order
has no such note). Every account is signed with the published webhook secret
``sandbox_webhook_secret``.

Body: ``{"entity": "event", "account_id", "event", "contains", "payload", "created_at"}`` where
``payload`` holds ``{"<entity>": {"entity": {...}}}`` for each name in ``contains``
(payment events: ``["payment"]``; ``order.paid``: ``["payment", "order"]``; refund events:
``["refund", "payment"]``). Each entity is a snapshot taken when the event happened.

Headers: ``Content-Type: application/json``, ``X-Razorpay-Signature`` (hex HMAC-SHA256 of the raw
body with the webhook secret) and ``x-razorpay-event-id`` (unique per event; duplicates reuse it).
"""

from __future__ import annotations

from dataclasses import replace

import msgspec

from sandbox.config import SandboxSettings
from sandbox.razorpay.store import Order, Payment, Refund, new_id, now
from sandbox.razorpay.wire import (
    ACCOUNT_ID,
    WEBHOOK_SECRET,
    order_wire,
    payment_wire,
    refund_wire,
    webhook_signature,
)
from sandbox.webhooks import Delivery

GATEWAY = "razorpay"


def event(
    settings: SandboxSettings,
    name: str,
    order: Order,
    payment: Payment,
    refund: Refund | None = None,
) -> Delivery:
    """One signed webhook delivery for event ``name`` (entities rendered as they are now)."""
    payload: dict[str, object] = {}
    if refund is not None:
        payload["refund"] = {"entity": refund_wire(refund)}
    payload["payment"] = {"entity": payment_wire(payment)}
    if name.startswith("order."):
        payload["order"] = {"entity": order_wire(order)}
    body = msgspec.json.encode(
        {
            "entity": "event",
            "account_id": ACCOUNT_ID,
            "event": name,
            "contains": list(payload),
            "payload": payload,
            "created_at": now(),
        }
    )
    event_id = new_id("evt").removeprefix("evt_")
    return Delivery(
        gateway=GATEWAY,
        event=name,
        event_id=event_id,
        url=settings.webhook_target(GATEWAY, order.merchant_id),
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Razorpay-Signature": webhook_signature(WEBHOOK_SECRET, body),
            "x-razorpay-event-id": event_id,
        },
        tamper=tamper,
    )


def tamper(delivery: Delivery) -> Delivery:
    """The same delivery with a wrong signature (one hex digit changed)."""
    signature = delivery.headers["X-Razorpay-Signature"]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    return replace(delivery, headers={**delivery.headers, "X-Razorpay-Signature": flipped})
