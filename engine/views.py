"""Public JSON representations of domain records (the API contract of DESIGN.md §4), as
msgspec Structs: the API documents them in OpenAPI and tests decode real responses with them.

They live in the engine, not the API layer, because the idempotency record stores the exact
response bytes inside the same transaction as the state change that produced them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

from engine.model import Customer, Payment, Refund

_encoder = msgspec.json.Encoder()


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class PaymentObject(msgspec.Struct, forbid_unknown_fields=True):
    """The payment object merchants see; card data is masked by construction."""

    id: str
    object: Literal["payment"]
    amount: int
    currency: str
    status: str
    capture_method: str
    amount_capturable: int
    amount_received: int
    amount_refunded: int
    customer_id: str | None
    merchant_order_id: str | None
    description: str | None
    gateway: str | None
    gateway_reference: str | None
    payment_method: dict[str, Any] | None
    next_action: dict[str, Any] | None
    last_error: dict[str, Any] | None
    return_url: str | None
    routing: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str


class RefundObject(msgspec.Struct, forbid_unknown_fields=True):
    """The refund object merchants see (``unknown`` is internal: shown as ``pending``)."""

    id: str
    object: Literal["refund"]
    payment_id: str
    amount: int
    currency: str
    status: Literal["pending", "succeeded", "failed"]
    reason: str | None
    failure_reason: str | None
    created_at: str
    updated_at: str


class CustomerObject(msgspec.Struct, forbid_unknown_fields=True):
    """The customer object merchants see (gateway references are internal)."""

    id: str
    object: Literal["customer"]
    email: str | None
    phone: str | None
    name: str | None
    metadata: dict[str, Any]
    created_at: str


class PaymentList(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor page of payments, newest first."""

    object: Literal["list"]
    data: list[PaymentObject]
    has_more: bool


class RefundList(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor page of refunds, newest first."""

    object: Literal["list"]
    data: list[RefundObject]
    has_more: bool


class CustomerList(msgspec.Struct, forbid_unknown_fields=True):
    """A cursor page of customers, newest first."""

    object: Literal["list"]
    data: list[CustomerObject]
    has_more: bool


class ErrorDetail(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """What went wrong; ``param`` names the offending input, ``decline_code`` a card decline."""

    type: str
    code: str
    message: str
    param: str | None = None
    decline_code: str | None = None
    payment_id: str | None = None


class ErrorObject(msgspec.Struct, forbid_unknown_fields=True):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorDetail


def payment_view(p: Payment) -> PaymentObject:
    """The payment object merchants see; card data is masked by construction."""
    return PaymentObject(
        p.id, "payment", p.amount, p.currency, p.status, p.capture_method, p.amount_capturable,
        p.amount_received, p.amount_refunded, p.customer_id, p.merchant_order_id, p.description, p.gateway,
        p.gateway_reference, p.payment_method, p.next_action, p.last_error, p.return_url, p.routing, p.metadata,
        _ts(p.created_at), _ts(p.updated_at),
    )  # fmt: skip


def refund_view(r: Refund) -> RefundObject:
    """The refund object merchants see."""
    status = "pending" if r.status == "unknown" else r.status
    return RefundObject(
        r.id, "refund", r.payment_id, r.amount, r.currency, status, r.reason,  # type: ignore[arg-type]
        r.error_message, _ts(r.created_at), _ts(r.updated_at),
    )  # fmt: skip


def customer_view(c: Customer) -> CustomerObject:
    """The customer object merchants see (gateway references are internal)."""
    return CustomerObject(c.id, "customer", c.email, c.phone, c.name, c.metadata, _ts(c.created_at))


def encode(value: object) -> bytes:
    """JSON bytes of a view (the exact bytes stored for idempotent replay)."""
    return _encoder.encode(value)
