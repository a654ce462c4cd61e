"""In-memory Juspay objects: customers, orders (by ``order_id``), their transactions and refunds."""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field
from typing import Any

from sandbox.ids import random_chars
from sandbox.juspay.wire import iso, major

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int = 16) -> str:
    """A Juspay-style id (``cst_…``, ``ordeh_…``)."""
    return prefix + random_chars(_ALPHABET, length)


@dataclass
class Customer:
    """A customer (``cst_…``)."""

    id: str
    fields: dict[str, str]
    created_at: float = field(default_factory=time.time)

    def wire(self, token: bool = False) -> dict[str, Any]:
        """The customer object."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "customer",
            "object_reference_id": self.fields["object_reference_id"],
            "mobile_number": self.fields["mobile_number"],
            "mobile_country_code": self.fields.get("mobile_country_code", "91"),
            "email_address": self.fields.get("email_address"),
            "first_name": self.fields.get("first_name", ""),
            "last_name": self.fields.get("last_name", ""),
            "date_created": iso(self.created_at),
            "last_updated": iso(self.created_at),
        }
        if token:
            body["juspay"] = {
                "client_auth_token": new_id("tkn_", 24),
                "client_auth_token_expiry": iso(time.time() + 900),
            }
        return body


@dataclass
class Refund:
    """A refund; ``status`` is PENDING, SUCCESS, FAILURE or MANUAL_REVIEW."""

    id: str
    unique_request_id: str
    amount: int
    status: str = "PENDING"
    ref: str | None = None
    created_at: float = field(default_factory=time.time)

    def wire(self) -> dict[str, Any]:
        """One item of an order's ``refunds``."""
        failed = self.status == "FAILURE"
        return {
            "id": self.id,
            "unique_request_id": self.unique_request_id,
            "ref": self.ref,
            "amount": major(self.amount),
            "created": iso(self.created_at),
            "status": self.status,
            "sent_to_gateway": self.status != "PENDING",
            "refund_type": "STANDARD",
            "refund_source": "SANDBOX",
            "initiated_by": "API",
            "epg_txn_id": self.ref,
            "refund_arn": self.ref,
            "error_code": "REFUND_FAILED" if failed else None,
            "error_message": "Refund failed at the bank" if failed else None,
        }


@dataclass
class Txn:
    """A transaction on an order; ``auto_capture=False`` is a card pre-authorization."""

    txn_id: str
    txn_uuid: str
    method_type: str
    method: str
    three_ds: bool = False
    auto_capture: bool = True
    card: dict[str, Any] | None = None
    vpa: str | None = None
    bank_error_code: str = ""
    bank_error_message: str = ""
    rrn: str = ""
    created_at: float = field(default_factory=time.time)


@dataclass
class Order:
    """An order; ``amount`` / ``refunded`` in paise; ``fields`` as posted (udfs, customer, return_url)."""

    id: str
    order_id: str
    amount: int
    currency: str
    fields: dict[str, str]
    metadata: dict[str, str]
    links: dict[str, str]
    status: str = "NEW"
    txns: list[Txn] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    refunded: int = 0
    created_at: float = field(default_factory=time.time)
    partial_capture: int | None = None  # paise captured by a partial capture (PARTIAL_CHARGED)
    capture_key: str | None = None  # that capture's idempotence_key

    @property
    def txn(self) -> Txn | None:
        """The latest transaction."""
        return self.txns[-1] if self.txns else None

    @property
    def captured(self) -> int:
        """What the customer pays: the whole amount, or what a partial capture took."""
        return self.partial_capture if self.partial_capture is not None else self.amount


@dataclass
class Store:
    """All Juspay objects of one sandbox instance."""

    customers: dict[str, Customer] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)

    def customer(self, ref: str) -> Customer | None:
        """A customer by Juspay id or ``object_reference_id``."""
        found = self.customers.get(ref)
        if found is not None:
            return found
        return next((c for c in self.customers.values() if c.fields["object_reference_id"] == ref), None)

    def txn(self, txn_uuid: str) -> tuple[Order, Txn] | None:
        """A transaction by ``txn_uuid``, with its order."""
        return next(((o, t) for o in self.orders.values() for t in o.txns if t.txn_uuid == txn_uuid), None)
