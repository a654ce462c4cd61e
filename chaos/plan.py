"""The seeded plan of a chaos run: the checkouts the clients make and the faults the driver injects.

Everything random in a run comes from :func:`make_plan` (one ``random.Random(seed)``), so the same
seed and sizes give the same checkouts (kinds, amounts, gateways, refunds, duplicate sends, keys)
and the same fault schedule (what, and after how many checkouts were started). Only the timing
against the processes differs from one replay to the next.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

GATEWAYS = ("razorpay", "paytm", "payu", "juspay")

# Kind -> (weight, payment method, the outcome the sandbox's instrument promises).
KINDS: dict[str, tuple[int, dict[str, object], str]] = {
    "card_ok": (34, {"type": "card", "card": {"number": "4111111111111111"}}, "succeeded"),
    "card_ok_mc": (8, {"type": "card", "card": {"number": "5555555555554444"}}, "succeeded"),
    "card_decline": (8, {"type": "card", "card": {"number": "4000000000000002"}}, "declined"),
    "card_no_funds": (4, {"type": "card", "card": {"number": "4000000000009995"}}, "declined"),
    "threeds_approve": (12, {"type": "card", "card": {"number": "4000000000003220"}}, "succeeded"),
    "threeds_reject": (5, {"type": "card", "card": {"number": "4000000000003220"}}, "declined"),
    "upi_ok": (14, {"type": "upi", "upi": {"vpa": "success@upi"}}, "succeeded"),
    "upi_fail": (6, {"type": "upi", "upi": {"vpa": "failure@upi"}}, "declined"),
    "card_dropped": (4, {"type": "card", "card": {"number": "4000000000000259"}}, "succeeded"),
}
CARD_NUMBERS = sorted({m["card"]["number"] for _, m, _ in KINDS.values() if m["type"] == "card"})  # type: ignore[index]
# Sandbox faults the driver may inject: (gateway fault kind, path it applies to, how many requests).
SANDBOX_FAULTS = ("http_500", "http_503_html", "timeout", "drop", "latency", "refund_pending")
WEBHOOK_MODES = ("duplicate", "reverse", "hold")


@dataclass(frozen=True)
class Checkout:
    """One customer's checkout: create-and-confirm, finish 3-D Secure if asked, then refunds."""

    index: int
    key: str
    kind: str
    amount: int
    gateway: str | None  # None: the merchant's routing decides
    cvc: str
    refunds: tuple[int, ...] = ()
    replay: bool = False  # send the same request again under the same key once answered
    twin: bool = False  # send it twice at once under the same key

    @property
    def expected(self) -> str:
        """What the sandbox's instrument promises: ``succeeded`` or ``declined``."""
        return KINDS[self.kind][2]

    def method(self) -> dict[str, object]:
        """The payment method of this checkout (card fields completed)."""
        base = KINDS[self.kind][1]
        if base["type"] != "card":
            return dict(base)
        number = base["card"]["number"]  # type: ignore[index]
        return {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": self.cvc}}

    def body(self) -> dict[str, object]:
        """The ``POST /v1/payments`` body (confirm at once)."""
        body: dict[str, object] = {
            "amount": self.amount,
            "currency": "INR",
            "confirm": True,
            "payment_method": self.method(),
            "merchant_order_id": self.key,
            "return_url": "https://shop.example/return",
            "metadata": {"chaos": str(self.index)},
        }
        if self.gateway is not None:
            body["gateway"] = self.gateway
        return body


@dataclass(frozen=True)
class FaultEvent:
    """One fault of the schedule, started once ``at`` checkouts were started."""

    at: int
    kind: str  # kill | postgres | redis | sandbox | webhooks
    gateway: str | None = None
    fault: str | None = None
    count: int = 1
    hold_s: float = 0.0

    def describe(self) -> str:
        """A short human label (for the log)."""
        extra = f" {self.gateway}/{self.fault} x{self.count}" if self.kind == "sandbox" else ""
        extra += f" while held at {self.gateway}" if self.kind == "kill" and self.gateway else ""
        extra += f" {self.fault} {self.hold_s:.1f}s" if self.kind == "webhooks" else ""
        extra += f" {self.hold_s:.1f}s" if self.kind in ("postgres", "redis") else ""
        return f"@{self.at} {self.kind}{extra}"


@dataclass(frozen=True)
class Plan:
    """The checkouts and the fault schedule of one seed."""

    seed: int
    checkouts: tuple[Checkout, ...]
    faults: tuple[FaultEvent, ...] = field(default=())

    def count(self, kind: str) -> int:
        """How many fault events of ``kind`` the schedule holds."""
        return sum(1 for f in self.faults if f.kind == kind)


def _checkout(rng: random.Random, seed: int, index: int) -> Checkout:
    kinds = list(KINDS)
    kind = rng.choices(kinds, weights=[KINDS[k][0] for k in kinds])[0]
    amount = rng.randrange(1000, 500000)
    gateway = rng.choice(GATEWAYS) if rng.random() < 0.5 else None
    refunds: tuple[int, ...] = ()
    if KINDS[kind][2] == "succeeded" and rng.random() < 0.35:
        first = rng.randrange(100, amount // 2)
        # A second partial refund of another amount (PayU refuses the same amount twice in 5 min).
        refunds = (first, amount - first) if rng.random() < 0.3 else (first,)
    return Checkout(
        index=index,
        key=f"chaos-{seed}-{index:05d}",
        kind=kind,
        amount=amount,
        gateway=gateway,
        cvc=f"{rng.randrange(100, 1000)}",
        refunds=refunds,
        replay=rng.random() < 0.15,
        twin=rng.random() < 0.05,
    )


def _spread(rng: random.Random, n: int, total: int, lo: float = 0.05, hi: float = 0.9) -> list[int]:
    """``n`` start points between ``lo`` and ``hi`` of the run, one per slice (never bunched up)."""
    if n <= 0:
        return []
    width = (hi - lo) / n
    return [int(total * (lo + width * (i + rng.random() * 0.8))) for i in range(n)]


def make_plan(
    seed: int,
    checkouts: int = 1000,
    kills: int = 10,
    postgres_restarts: int = 1,
    redis_outages: int = 1,
    sandbox_faults: int = 18,
    outage_s: float = 4.0,
) -> Plan:
    """The plan of ``seed``: the same arguments always give the same plan."""
    rng = random.Random(seed)
    items = tuple(_checkout(rng, seed, i) for i in range(checkouts))
    # Every other kill lands while checkouts are held at a gateway (a latency fault taken first).
    faults = [
        FaultEvent(at, "kill", gateway=rng.choice(GATEWAYS) if i % 2 else None)
        for i, at in enumerate(_spread(rng, kills, checkouts))
    ]
    faults += [FaultEvent(at, "postgres", hold_s=outage_s / 2) for at in _spread(rng, postgres_restarts, checkouts)]
    faults += [FaultEvent(at, "redis", hold_s=outage_s) for at in _spread(rng, redis_outages, checkouts)]
    # Every kind of sandbox fault in turn (shuffled), so even a small run has each of them.
    kinds = [*SANDBOX_FAULTS, *WEBHOOK_MODES] * (sandbox_faults // 9 + 1)
    kinds = kinds[:sandbox_faults]
    rng.shuffle(kinds)
    for at, kind in zip(_spread(rng, sandbox_faults, checkouts, 0.02, 0.95), kinds, strict=True):
        if kind in WEBHOOK_MODES:
            faults.append(FaultEvent(at, "webhooks", fault=kind, hold_s=rng.uniform(1, 3)))
        else:
            faults.append(FaultEvent(at, "sandbox", gateway=rng.choice(GATEWAYS), fault=kind, count=rng.randint(2, 5)))
    faults.sort(key=lambda f: (f.at, f.kind))
    return Plan(seed, items, tuple(faults))


__all__ = ["CARD_NUMBERS", "GATEWAYS", "KINDS", "Checkout", "FaultEvent", "Plan", "make_plan"]
