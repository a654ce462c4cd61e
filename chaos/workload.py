"""The mixed workload: many customers checking out at once, each as a real client would.

A checkout is one create-and-confirm under its Idempotency-Key (sometimes sent twice at once, or
again once answered), then what its payment asks for: a 3-D Secure page approved or rejected in
the "browser" (the sandbox's page, then the engine's callback), a UPI payment awaited until the
gateway's webhook settles it; then the planned refunds, each under a key of its own. What every
request was answered goes to the :class:`~chaos.client.Journal`; what the client last *saw* of
each payment goes to ``Workload.seen``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.client import Answer, ChaosClient
from chaos.plan import Checkout, Plan

FINAL = frozenset({"succeeded", "requires_payment_method", "canceled", "requires_capture"})


@dataclass
class Workload:
    """Runs a plan's checkouts with ``concurrency`` customers at a time."""

    plan: Plan
    client: ChaosClient
    concurrency: int = 12
    settle_s: float = 20.0  # how long a customer waits for a UPI / 3-D Secure payment to settle
    started: int = 0
    finished: int = 0
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # payment id -> last GET the client saw
    payment_of: dict[str, str] = field(default_factory=dict)  # checkout key -> payment id
    errors: list[str] = field(default_factory=list)
    gate: Callable[[int], Awaitable[None]] | None = None  # awaited before each checkout starts

    async def run(self) -> None:
        """Every checkout of the plan, ``concurrency`` at a time."""
        queue = iter(self.plan.checkouts)

        async def customer() -> None:
            for checkout in queue:
                self.started += 1
                try:
                    if self.gate is not None:
                        await self.gate(checkout.index)
                    await self.checkout(checkout)
                except Exception as exc:  # a client bug must not hide the other checkouts' results
                    self.errors.append(f"{checkout.key}: {type(exc).__name__}: {exc}")
                self.finished += 1

        await asyncio.gather(*(customer() for _ in range(self.concurrency)))

    async def checkout(self, checkout: Checkout) -> None:
        """One customer's whole checkout."""
        body = checkout.body()
        if checkout.twin:
            answers = await asyncio.gather(*(self.client.post("/v1/payments", body, checkout.key) for _ in range(2)))
            answer = next((a for a in answers if a is not None), None)
        else:
            answer = await self.client.post("/v1/payments", body, checkout.key)
        if checkout.replay:
            await self.client.post("/v1/payments", body, checkout.key)
        payment_id = _payment_id(answer)
        if payment_id is None:
            return
        self.payment_of[checkout.key] = payment_id
        payment = answer.json() if answer is not None and answer.status < 300 else None
        if payment is not None and payment.get("status") == "requires_action":
            await self.three_ds(payment, "approve" if checkout.expected == "succeeded" else "reject")
        payment = await self.await_final(payment_id)
        if payment is not None and payment.get("status") == "succeeded":
            for j, amount in enumerate(checkout.refunds):
                refund = {"payment_id": payment_id, "amount": amount, "reason": "requested_by_customer"}
                await self.client.post("/v1/refunds", refund, f"{checkout.key}-refund-{j}")

    async def three_ds(self, payment: dict[str, Any], decision: str) -> None:
        """Decide on the gateway's page, then follow its redirect to the engine's callback."""
        url = (payment.get("next_action") or {}).get("redirect_url")
        if not url:
            return
        async with httpx.AsyncClient(follow_redirects=False, timeout=15) as browser:
            callback = None
            for _ in range(20):
                try:
                    back = await browser.get(url, params={"decision": decision})
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                callback = back.headers.get("location") if back.status_code in (302, 303) else None
                break
            if callback is None:
                return  # the gateway page said no (already decided): the engine learns it by sync
            for _ in range(40):  # the engine may be down for a moment: a browser's user retries
                try:
                    answer = await browser.get(callback)
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                if answer.status_code < 500:
                    return
                await asyncio.sleep(0.5)

    async def await_final(self, payment_id: str) -> dict[str, Any] | None:
        """Poll the payment until it is final (or ``settle_s`` passes); remembers what was seen."""
        deadline = time.monotonic() + self.settle_s
        while True:
            payment = await self.client.get(f"/v1/payments/{payment_id}")
            if payment is not None:
                self.seen[payment_id] = payment
            if payment is None or payment.get("status") in FINAL or time.monotonic() > deadline:
                return payment
            await asyncio.sleep(0.3)


def _payment_id(answer: Answer | None) -> str | None:
    """The payment an answer is about: a 2xx payment object, or an error naming ``payment_id``."""
    if answer is None:
        return None
    data = answer.json()
    if not isinstance(data, dict):
        return None
    if answer.status < 300:
        return data.get("id") if isinstance(data.get("id"), str) else None
    error = data.get("error") or {}
    found = error.get("payment_id") or data.get("payment_id")
    return found if isinstance(found, str) else None


__all__ = ["FINAL", "Workload"]
