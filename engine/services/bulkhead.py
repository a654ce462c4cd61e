"""Bulkheads: at most ``GATEWAY_MAX_CONCURRENCY`` charges in flight to one gateway, per process.

A gateway that hangs keeps every call to it waiting up to the read timeout; without a bound,
checkout traffic would pile onto it until it holds every connection and task of the process.
A charge takes a slot of its gateway's bulkhead *before its first call* (without waiting: the
event loop runs one coroutine at a time, so a plain counter is exact) and gives it back when
the connector returns. A charge that finds its gateway full has sent nothing, so it is treated
like an unavailable gateway: routing moves on to the next candidate, and with none left the
API answers 503 ``gateway_busy`` -- before any attempt is recorded or any request sent.

Only the start of a new charge is ever refused. Calls that complete an operation already begun
(the second call of a two-step charge -- held within the same slot --, the capture of an
automatic payment, a resumed charge, status syncs, the reconciler's work, captures, voids and
refunds) are never refused nor counted: aborting them could leave money moved and unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from engine.errors import GatewayFailure

if TYPE_CHECKING:
    from engine.services.routing import Plan

BUSY = "gateway_busy"


@dataclass
class Slot:
    """One charge's place in a bulkhead; ``release`` gives it back (once, however often called)."""

    owner: Bulkheads | None
    gateway: str

    def release(self) -> None:
        """Give the place back (idempotent)."""
        if self.owner is not None:
            self.owner.in_flight[self.gateway] -= 1
            self.owner = None


@dataclass
class Bulkheads:
    """Per-gateway counters of charges in flight; ``limit`` 0 means unbounded."""

    limit: int = 0
    in_flight: dict[str, int] = field(default_factory=dict)

    def enter(self, gateway: str) -> Slot | None:
        """A slot for a new charge to ``gateway``, or ``None`` when its bulkhead is full."""
        if self.limit <= 0:
            return Slot(None, gateway)
        used = self.in_flight.get(gateway, 0)
        if used >= self.limit:
            return None
        self.in_flight[gateway] = used + 1
        return Slot(self, gateway)


def admit(bulkheads: Bulkheads, plan: Plan) -> tuple[Plan, Slot]:
    """The plan without the leading candidates whose bulkhead is full (recorded as skipped,
    reason ``gateway_busy``), and the slot taken on the first one that has room.

    Raises ``GatewayFailure`` 503 ``gateway_busy`` (``Retry-After``) when no candidate has room:
    nothing has been recorded or sent yet, so a retry starts afresh."""
    for n, account in enumerate(plan.candidates):
        slot = bulkheads.enter(account.gateway)
        if slot is not None:
            if n == 0:
                return plan, slot
            busy = tuple({"gateway": a.gateway, "reason": BUSY} for a in plan.candidates[:n])
            return msgspec.structs.replace(plan, candidates=plan.candidates[n:], skipped=plan.skipped + busy), slot
    error = GatewayFailure(
        "Every gateway able to take this payment is at its limit of concurrent calls; retry shortly.",
        code=BUSY,
        status=503,
    )
    error.retry_after = 1
    raise error
