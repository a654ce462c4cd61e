"""Razorpay wire shapes (entities as JSON-ready dicts) and signatures.

Written from Razorpay's API reference (orders, payments, refunds entities) and its checkout /
webhook signature documentation; HMAC-SHA256 via the standard library.

Quirk kept on purpose: like the real API, empty ``notes`` are rendered as a JSON *array* ``[]``,
non-empty ones as an object.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from sandbox.razorpay.store import Order, Payment, Refund

KEY_ID = "rzp_test_sandbox"
KEY_SECRET = "sandbox_secret"  # noqa: S105 - the published sandbox test account
WEBHOOK_SECRET = "sandbox_webhook_secret"  # noqa: S105 - the published sandbox test account
TEST_KEY_PREFIX = "rzp_test_"
ACCOUNT_ID = "acc_sandbox"


def key_secret_for(key_id: str) -> str | None:
    """The key secret of a sandbox account, or None when ``key_id`` is not a test key."""
    return KEY_SECRET if key_id.startswith(TEST_KEY_PREFIX) and len(key_id) > len(TEST_KEY_PREFIX) else None


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` keyed with ``secret``."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def payment_signature(key_secret: str, order_id: str, payment_id: str) -> str:
    """``razorpay_signature`` of a checkout callback: HMAC(key_secret, "order_id|payment_id")."""
    return hmac_sha256_hex(key_secret, f"{order_id}|{payment_id}".encode())


def webhook_signature(webhook_secret: str, body: bytes) -> str:
    """``X-Razorpay-Signature``: HMAC(webhook_secret, raw body bytes)."""
    return hmac_sha256_hex(webhook_secret, body)


def notes_wire(notes: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """Notes as Razorpay renders them (``[]`` when empty)."""
    return dict(notes) if notes else []


def order_wire(order: Order) -> dict[str, Any]:
    """The order entity."""
    return {
        "id": order.id,
        "entity": "order",
        "amount": order.amount,
        "amount_paid": order.amount_paid,
        "amount_due": order.amount - order.amount_paid,
        "currency": order.currency,
        "receipt": order.receipt,
        "offer_id": None,
        "status": order.status,
        "attempts": order.attempts,
        "notes": notes_wire(order.notes),
        "created_at": order.created_at,
    }


def payment_wire(payment: Payment) -> dict[str, Any]:
    """The payment entity (card details masked: never the full number or the CVV)."""
    entity: dict[str, Any] = {
        "id": payment.id,
        "entity": "payment",
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "order_id": payment.order_id,
        "invoice_id": None,
        "international": False,
        "method": payment.method,
        "amount_refunded": payment.amount_refunded,
        "refund_status": payment.refund_status,
        "captured": payment.captured,
        "description": payment.description,
        "card_id": payment.card["id"] if payment.card else None,
        "bank": payment.bank,
        "wallet": payment.wallet,
        "vpa": payment.vpa,
        "email": payment.email,
        "contact": payment.contact,
        "notes": notes_wire(payment.notes),
        "fee": payment.fee,
        "tax": payment.tax,
        "error_code": payment.error_code,
        "error_description": payment.error_description,
        "error_source": payment.error_source,
        "error_step": payment.error_step,
        "error_reason": payment.error_reason,
        "acquirer_data": dict(payment.acquirer_data),
        "created_at": payment.created_at,
    }
    if payment.card is not None:
        entity["card"] = dict(payment.card)
    if payment.vpa is not None:
        entity["upi"] = {"vpa": payment.vpa}
    return entity


def refund_wire(refund: Refund) -> dict[str, Any]:
    """The refund entity."""
    return {
        "id": refund.id,
        "entity": "refund",
        "amount": refund.amount,
        "currency": refund.currency,
        "payment_id": refund.payment_id,
        "notes": notes_wire(refund.notes),
        "receipt": refund.receipt,
        "acquirer_data": {"arn": refund.arn},
        "created_at": refund.created_at,
        "batch_id": None,
        "status": refund.status,
        "speed_processed": refund.speed_processed,
        "speed_requested": refund.speed_requested,
    }


def collection(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Razorpay's list envelope."""
    listed = list(items)
    return {"entity": "collection", "count": len(listed), "items": listed}
