"""In-memory PayU objects: transactions (by ``txnid`` and by ``mihpayid``) and refund requests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sandbox.ids import random_chars


def digits(count: int) -> str:
    """A random string of decimal digits (no leading zero)."""
    return random_chars("123456789", 1) + random_chars("0123456789", count - 1)


def addedon(ts: float) -> str:
    """PayU's ``addedon`` format."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def rupees(minor: int) -> str:
    """``"10.00"`` from 1000."""
    return f"{minor // 100}.{minor % 100:02d}"


@dataclass
class Txn:
    """A payment. ``posted`` keeps the merchant's fields as sent (udfs, customer, URLs)."""

    mihpayid: str
    key: str
    txnid: str
    amount: int
    posted: dict[str, str]
    mode: str
    bankcode: str
    s2s: bool
    additional_charges: str | None = None
    status: str = "pending"
    unmappedstatus: str = "pending"
    error: str = "E000"
    error_message: str = "No Error"
    bank_ref_num: str = ""
    cardnum: str = ""
    name_on_card: str = ""
    vpa: str = ""
    created_at: float = field(default_factory=time.time)
    refunded: int = 0
    refund_ids: list[str] = field(default_factory=list)


@dataclass
class Refund:
    """A refund request (``request_id``); ``status`` is ``queued``, ``success`` or ``failure``."""

    request_id: str
    mihpayid: str
    token: str
    amount: int
    status: str = "queued"
    bank_ref_num: str = ""
    created_at: float = field(default_factory=time.time)


@dataclass
class Store:
    """All PayU objects of one sandbox instance."""

    txns: dict[str, Txn] = field(default_factory=dict)
    by_txnid: dict[tuple[str, str], str] = field(default_factory=dict)
    refunds: dict[str, Refund] = field(default_factory=dict)
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def by_merchant_txnid(self, key: str, txnid: str) -> Txn | None:
        """The latest transaction with ``txnid`` for merchant ``key``."""
        mihpayid = self.by_txnid.get((key, txnid))
        return self.txns.get(mihpayid) if mihpayid else None
