"""Public JSON representations of domain records (the API contract of DESIGN.md §4).

They live in the engine, not the API layer, because the idempotency record stores the exact
response bytes inside the same transaction as the state change that produced them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from engine.model import Customer, Payment, Refund

_encoder = msgspec.json.Encoder()


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def payment_view(p: Payment) -> dict[str, Any]:
    """The payment object merchants see; card data is masked by construction."""
    return {
        "id": p.id,
        "object": "payment",
        "amount": p.amount,
        "currency": p.currency,
        "status": p.status,
        "capture_method": p.capture_method,
        "amount_capturable": p.amount_capturable,
        "amount_received": p.amount_received,
        "amount_refunded": p.amount_refunded,
        "customer_id": p.customer_id,
        "merchant_order_id": p.merchant_order_id,
        "description": p.description,
        "gateway": p.gateway,
        "gateway_reference": p.gateway_reference,
        "payment_method": p.payment_method,
        "next_action": p.next_action,
        "last_error": p.last_error,
        "return_url": p.return_url,
        "routing": p.routing,
        "metadata": p.metadata,
        "created_at": _ts(p.created_at),
        "updated_at": _ts(p.updated_at),
    }


def refund_view(r: Refund) -> dict[str, Any]:
    """The refund object merchants see."""
    return {
        "id": r.id,
        "object": "refund",
        "payment_id": r.payment_id,
        "amount": r.amount,
        "currency": r.currency,
        "status": "pending" if r.status == "unknown" else r.status,  # unknown is internal
        "reason": r.reason,
        "failure_reason": r.error_message,
        "created_at": _ts(r.created_at),
        "updated_at": _ts(r.updated_at),
    }


def customer_view(c: Customer) -> dict[str, Any]:
    """The customer object merchants see (gateway references are internal)."""
    return {
        "id": c.id,
        "object": "customer",
        "email": c.email,
        "phone": c.phone,
        "name": c.name,
        "metadata": c.metadata,
        "created_at": _ts(c.created_at),
    }


def encode(value: object) -> bytes:
    """JSON bytes of a view (the exact bytes stored for idempotent replay)."""
    return _encoder.encode(value)
