"""In-memory Razorpay objects, scoped by the API key id that created them.

Objects of one key id are invisible to every other key id (they answer "The id provided does not
exist"), which lets tests open separate accounts with ``rzp_test_<anything>`` key ids.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.ids import random_chars
from sandbox.razorpay.errors import not_found

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """A Razorpay-style id: ``<prefix>_`` followed by 14 alphanumerics."""
    return f"{prefix}_" + random_chars(_ALPHABET, 14)


def now() -> int:
    """Unix time in whole seconds (Razorpay's ``created_at``)."""
    return int(time.time())


@dataclass
class Order:
    """An order (``order_…``)."""

    id: str
    key_id: str
    amount: int
    currency: str
    receipt: str | None
    notes: dict[str, Any]
    payment_capture: bool
    partial_payment: bool = False
    status: str = "created"
    amount_paid: int = 0
    attempts: int = 0
    created_at: int = field(default_factory=now)
    payment_ids: list[str] = field(default_factory=list)

    @property
    def merchant_id(self) -> str:
        """The ``notes.merchant_id`` that selects the webhook target ("" when absent)."""
        return str(self.notes.get("merchant_id", ""))


@dataclass
class Payment:
    """A payment (``pay_…``). ``amount_captured`` may be below ``amount`` after a partial capture."""

    id: str
    key_id: str
    order_id: str
    amount: int
    currency: str
    method: str
    email: str | None
    contact: str | None
    description: str | None
    notes: dict[str, Any]
    callback_url: str | None
    status: str = "created"
    card: dict[str, Any] | None = None
    bank: str | None = None
    wallet: str | None = None
    vpa: str | None = None
    captured: bool = False
    amount_captured: int = 0
    amount_refunded: int = 0
    fee: int | None = None
    tax: int | None = None
    error_code: str | None = None
    error_description: str | None = None
    error_source: str | None = None
    error_step: str | None = None
    error_reason: str | None = None
    acquirer_data: dict[str, Any] = field(default_factory=dict)
    created_at: int = field(default_factory=now)
    refund_ids: list[str] = field(default_factory=list)

    @property
    def refund_status(self) -> str | None:
        """``None``, ``partial`` or ``full`` (relative to the captured amount)."""
        if self.amount_refunded == 0:
            return None
        return "full" if self.amount_refunded >= self.amount_captured else "partial"


@dataclass
class Refund:
    """A refund (``rfnd_…``)."""

    id: str
    key_id: str
    payment_id: str
    amount: int
    currency: str
    notes: dict[str, Any]
    receipt: str | None
    speed_requested: str
    status: str = "processed"
    created_at: int = field(default_factory=now)
    arn: str | None = None

    @property
    def speed_processed(self) -> str:
        """``instant`` for optimum-speed refunds, else ``normal``."""
        return "instant" if self.speed_requested == "optimum" else "normal"


@dataclass
class Store:
    """All Razorpay objects of one sandbox instance."""

    orders: dict[str, Order] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    refund_keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def order(self, key_id: str, order_id: str) -> Order:
        """The order ``order_id`` of account ``key_id``, or the "does not exist" error."""
        order = self.orders.get(order_id)
        if order is None or order.key_id != key_id:
            raise not_found()
        return order

    def payment(self, key_id: str, payment_id: str) -> Payment:
        """The payment ``payment_id`` of account ``key_id``, or the "does not exist" error."""
        payment = self.payments.get(payment_id)
        if payment is None or payment.key_id != key_id:
            raise not_found()
        return payment

    def refund(self, key_id: str, refund_id: str) -> Refund:
        """The refund ``refund_id`` of account ``key_id``, or the "does not exist" error."""
        refund = self.refunds.get(refund_id)
        if refund is None or refund.key_id != key_id:
            raise not_found()
        return refund
