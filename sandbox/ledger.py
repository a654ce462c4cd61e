"""The sandbox's own record of every money-relevant operation it performed, per sandbox app.

Crash and idempotency tests read it (``GET /_sandbox/ledger``) to count, on the gateway side,
exactly one order / charge / capture / refund per merchant reference. It is append-only and in
memory; ``DELETE /_sandbox/ledger`` empties it. Kinds:

* ``order``: an order / transaction record created at the gateway,
* ``charge``: a payment that first became authorized or captured (money held or taken),
* ``capture``: a payment that first became captured (an auto-captured payment records both),
* ``refund``: a refund created at the gateway (idempotent replays record nothing),
* ``void``: an authorization released.

``reference`` is the merchant's own reference the gateway was given (receipt, order id, txnid,
refund id...); ``amount`` is in integer minor units (paise). The simulators call :meth:`Ledger.record`
(or :meth:`Ledger.paid`) exactly where their state changes, never on a replay or a refused request.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("order", "charge", "capture", "refund", "void")


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded operation."""

    gateway: str
    kind: str
    reference: str | None
    gateway_id: str
    amount: int
    currency: str
    at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{gateway, kind, reference, gateway_id, amount, currency, at}``."""
        return asdict(self)


class Ledger:
    """An append-only list of :class:`LedgerEntry`, oldest first."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def record(
        self, gateway: str, kind: str, reference: str | None, gateway_id: str, amount: int, currency: str = "INR"
    ) -> LedgerEntry:
        """Append one entry (``kind`` must be one of :data:`KINDS`); returns it."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        entry = LedgerEntry(gateway, kind, reference or None, gateway_id, int(amount), currency)
        self._entries.append(entry)
        return entry

    def paid(
        self,
        gateway: str,
        reference: str | None,
        gateway_id: str,
        amount: int,
        currency: str = "INR",
        captured: bool = True,
    ) -> None:
        """A payment first became authorized: a ``charge``, plus a ``capture`` when it was captured at once."""
        self.record(gateway, "charge", reference, gateway_id, amount, currency)
        if captured:
            self.record(gateway, "capture", reference, gateway_id, amount, currency)

    def entries(
        self, gateway: str | None = None, kind: str | None = None, reference: str | None = None
    ) -> list[dict[str, Any]]:
        """The entries (oldest first) matching every filter given, as JSON objects."""
        return [
            entry.to_dict()
            for entry in self._entries
            if (gateway is None or entry.gateway == gateway)
            and (kind is None or entry.kind == kind)
            and (reference is None or entry.reference == reference)
        ]

    def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        cleared, self._entries = len(self._entries), []
        return cleared


__all__ = ["KINDS", "Ledger", "LedgerEntry"]
