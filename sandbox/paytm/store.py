"""In-memory Paytm objects: orders (one per ``mid`` + ``orderId``), their transactions and refunds."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sandbox.ids import random_chars


def digits(count: int) -> str:
    """A random string of decimal digits."""
    return random_chars("0123456789", count)


def new_txn_id() -> str:
    """A Paytm-style ``TXNID`` (date prefix plus digits, 34 characters)."""
    return time.strftime("%Y%m%d") + digits(26)


@dataclass
class Txn:
    """One payment attempt on an order. ``code`` is ``(STATUS, RESPCODE, RESPMSG)``."""

    txn_id: str
    payment_mode: str
    code: tuple[str, str, str]
    gateway_name: str
    bank_name: str
    bank_txn_id: str = ""
    masked_card: str | None = None
    vpa: str | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def status(self) -> str:
        """``TXN_SUCCESS``, ``TXN_FAILURE`` or ``PENDING``."""
        return self.code[0]


@dataclass
class Refund:
    """A refund (``refId`` is the merchant's id, ``refund_id`` Paytm's). ``status``: PENDING/SUCCESS/FAILED."""

    ref_id: str
    refund_id: str
    order_id: str
    txn_id: str
    amount: int
    status: str = "PENDING"
    created_at: float = field(default_factory=time.time)
    settled_at: float | None = None


@dataclass
class Order:
    """An initiated order. ``amount`` and ``refunded`` are in paise."""

    mid: str
    order_id: str
    amount: int
    cust_id: str
    callback_url: str | None
    merc_unq_ref: str
    txn_token: str
    fingerprint: str
    txns: list[Txn] = field(default_factory=list)
    refunded: int = 0

    @property
    def txn(self) -> Txn | None:
        """The latest transaction."""
        return self.txns[-1] if self.txns else None


@dataclass
class Store:
    """All Paytm objects of one sandbox instance."""

    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    refunds: dict[tuple[str, str], Refund] = field(default_factory=dict)

    def txn(self, txn_id: str) -> tuple[Order, Txn] | None:
        """The order and transaction with ``txn_id``."""
        for order in self.orders.values():
            for txn in order.txns:
                if txn.txn_id == txn_id:
                    return order, txn
        return None
