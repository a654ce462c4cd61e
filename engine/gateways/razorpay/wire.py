"""Razorpay's wire types (msgspec Structs), as its API documents them.

Requests are built from these Structs and encoded by msgspec; responses are converted into
them from parsed JSON. Unknown response fields are ignored and every response field has a
default, so a new field or a missing optional one never breaks decoding -- only a wrong *type*
does, and that is treated as a garbled answer by the transformers.

Sources: reference/gateways.md §2 and Razorpay's API docs (orders, payments, S2S JSON,
refunds, webhooks, errors).
"""

from __future__ import annotations

from typing import Any

import msgspec

# Razorpay serialises an empty ``notes`` as ``[]`` (a PHP quirk), a filled one as an object.
Notes = dict[str, Any] | list[Any]


# --- requests ---------------------------------------------------------------------------


class OrderNotes(msgspec.Struct, frozen=True):
    """Our references on the order. ``merchant_id`` routes the sandbox's webhooks, the way a
    per-account webhook URL in Razorpay's dashboard would."""

    merchant_id: str
    payment_id: str
    attempt_id: str


class OrderCreate(msgspec.Struct, frozen=True):
    """``POST /v1/orders``. ``payment_capture`` on the order asks Razorpay to capture
    automatically once the payment is authorized (the per-order form of the dashboard's
    auto-capture setting); ``False`` leaves the payment ``authorized`` for a manual capture."""

    amount: int
    currency: str
    receipt: str
    notes: OrderNotes
    payment_capture: bool


class CardWire(msgspec.Struct, frozen=True):
    """The ``card`` object of an S2S payment. Never logged: ``repr`` shows the last 4 only."""

    number: str
    name: str
    expiry_month: str  # "MM"
    expiry_year: str  # "YY" -- Razorpay's docs show two-digit years (e.g. 30)
    cvv: str

    def __repr__(self) -> str:
        return f"CardWire(last4={self.number[-4:]})"


class UpiWire(msgspec.Struct, frozen=True):
    """The ``upi`` object of a UPI collect payment."""

    vpa: str
    flow: str = "collect"


class PaymentCreate(msgspec.Struct, frozen=True, omit_defaults=True):
    """``POST /v1/payments/create/json`` (S2S JSON). Exactly one method block is set."""

    amount: int
    currency: str
    order_id: str
    email: str
    contact: str
    method: str
    callback_url: str
    notes: dict[str, str]
    description: str | None = None
    card: CardWire | None = None
    vpa: str | None = None
    upi: UpiWire | None = None
    bank: str | None = None
    wallet: str | None = None

    def __repr__(self) -> str:  # the default repr would still be safe (CardWire masks), be explicit
        return f"PaymentCreate(order_id={self.order_id}, method={self.method}, amount={self.amount})"


class CaptureCreate(msgspec.Struct, frozen=True):
    """``POST /v1/payments/{id}/capture``."""

    amount: int
    currency: str


class RefundCreate(msgspec.Struct, frozen=True):
    """``POST /v1/payments/{id}/refund`` (sent with ``X-Refund-Idempotency``)."""

    amount: int
    notes: dict[str, str]
    receipt: str
    speed: str = "normal"


# --- responses --------------------------------------------------------------------------


class ErrorBody(msgspec.Struct, frozen=True):
    """``{"error": {...}}`` of every failed call."""

    code: str
    description: str | None = None
    source: str | None = None
    step: str | None = None
    reason: str | None = None
    field: str | None = None
    metadata: dict[str, Any] | list[Any] | None = None


class ErrorEnvelope(msgspec.Struct, frozen=True):
    """The error document."""

    error: ErrorBody


class Order(msgspec.Struct, frozen=True):
    """An order entity (only what the connector reads)."""

    id: str
    entity: str | None = None
    amount: int | None = None
    currency: str | None = None
    status: str | None = None
    receipt: str | None = None


class NextAction(msgspec.Struct, frozen=True):
    """One entry of ``next`` in an S2S JSON answer (``redirect``, ``poll``, ``otp_submit``...)."""

    action: str
    url: str | None = None


class PaymentCreated(msgspec.Struct, frozen=True):
    """The S2S JSON answer: the payment id and what must happen next."""

    razorpay_payment_id: str
    next: list[NextAction] = msgspec.field(default_factory=list)


class Payment(msgspec.Struct, frozen=True):
    """A payment entity."""

    id: str
    status: str
    entity: str | None = None
    amount: int = 0
    currency: str | None = None
    order_id: str | None = None
    method: str | None = None
    captured: bool | None = None
    amount_refunded: int = 0
    # Not in Razorpay's documented entity (it captures the full amount only); read when a peer
    # such as the sandbox reports a partial capture.
    amount_captured: int | None = None
    error_code: str | None = None
    error_description: str | None = None
    error_source: str | None = None
    error_step: str | None = None
    error_reason: str | None = None
    notes: Notes | None = None
    created_at: int | None = None


class PaymentCollection(msgspec.Struct, frozen=True):
    """``GET /v1/orders/{id}/payments``."""

    items: list[Payment] = msgspec.field(default_factory=list)
    count: int | None = None
    entity: str | None = None


class OrderCollection(msgspec.Struct, frozen=True):
    """``GET /v1/orders?receipt=...``."""

    items: list[Order] = msgspec.field(default_factory=list)
    count: int | None = None


class Refund(msgspec.Struct, frozen=True):
    """A refund entity."""

    id: str
    status: str
    entity: str | None = None
    amount: int | None = None
    currency: str | None = None
    payment_id: str | None = None
    notes: Notes | None = None
    receipt: str | None = None
    created_at: int | None = None


class PaymentWrap(msgspec.Struct, frozen=True):
    """``payload.payment`` of a webhook."""

    entity: Payment


class RefundWrap(msgspec.Struct, frozen=True):
    """``payload.refund`` of a webhook."""

    entity: Refund


class OrderWrap(msgspec.Struct, frozen=True):
    """``payload.order`` of a webhook (``order.paid``)."""

    entity: Order


class WebhookPayload(msgspec.Struct, frozen=True):
    """The entities a webhook carries."""

    payment: PaymentWrap | None = None
    refund: RefundWrap | None = None
    order: OrderWrap | None = None


class WebhookEnvelope(msgspec.Struct, frozen=True):
    """A webhook body: ``{"entity": "event", "event": ..., "payload": {...}, "created_at"}``."""

    entity: str
    event: str
    payload: WebhookPayload
    created_at: int | None = None
    account_id: str | None = None
    contains: list[str] | None = None
