"""Routing: the merchant's ordered gateway list, and the plan for one payment.

A payment goes to the first enabled account whose gateway supports its currency and method and
whose circuit breaker allows it; the others are tried in order only when a failure proves no
money moved (``RETRYABLE``). Naming ``gateway`` on the payment skips routing (and failover).
The decision -- chosen gateway, skipped ones and why -- is stored on the payment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from engine.errors import GatewayFailure, InvalidRequest, ValidationError
from engine.gateways import registry
from engine.model import GatewayAccount

if TYPE_CHECKING:
    from engine.bootstrap import Engine


class Plan(msgspec.Struct, frozen=True):
    """Accounts to try in order, and why the others were skipped."""

    candidates: tuple[GatewayAccount, ...]
    skipped: tuple[dict[str, str], ...]
    named: bool  # the merchant named the gateway: no failover

    def decision(self) -> dict[str, Any]:
        """The routing object stored on the payment."""
        first = self.candidates[0].gateway if self.candidates else None
        return {"gateway": first, "named": self.named, "skipped": list(self.skipped), "failovers": []}


async def plan(
    engine: Engine,
    merchant_id: str,
    currency: str,
    method: str,
    gateway: str | None,
    capture_method: str = "automatic",
    *,
    probe: bool = True,
) -> Plan:
    """The ordered candidates for a payment; raises when none can take it.

    ``probe=False`` plans without taking a half-open breaker's probe slot (a pre-check).
    """
    accounts = await engine.gateways.accounts(merchant_id)
    if gateway is not None and not any(a.gateway == gateway for a in accounts):
        raise InvalidRequest(f"No {gateway} account is configured for this merchant.", param="gateway")
    candidates: list[GatewayAccount] = []
    skipped: list[dict[str, str]] = []
    considered = [a for a in accounts if gateway is None or a.gateway == gateway]
    reasons = {a.id: _unsuitable(a, currency, method, capture_method) for a in considered}
    # Every suitable gateway's breaker in one Redis round trip.
    health = await engine.breaker.health([a.gateway for a in considered if reasons[a.id] is None])
    for account in considered:
        reason = reasons[account.id]
        # Only the gateway tried first may take a half-open breaker's single probe now; failover
        # targets take theirs when (and if) the payment actually reaches them.
        first = not candidates
        seen = health.get(account.gateway)
        if reason is None and not await engine.breaker.allow(account.gateway, probe=probe and first, seen=seen):
            reason = "circuit_open"
        if reason is None:
            candidates.append(account)
        else:
            skipped.append({"gateway": account.gateway, "reason": reason})
    if not candidates:
        # Some gateway could have taken it but its breaker is open: that is a temporary outage.
        if any(s["reason"] == "circuit_open" for s in skipped):
            raise GatewayFailure(
                "Every gateway able to take this payment is unavailable; retry shortly.",
                code="gateways_unavailable",
                status=503,
            )
        raise InvalidRequest(
            f"No configured gateway accepts {method} payments in {currency}.",
            code="no_gateway_available",
            param="gateway" if gateway else "payment_method.type",
        )
    return Plan(candidates=tuple(candidates), skipped=tuple(skipped), named=gateway is not None)


def _unsuitable(account: GatewayAccount, currency: str, method: str, capture_method: str) -> str | None:
    if not account.enabled:
        return "disabled"
    caps = registry.capabilities(account.gateway)
    if method not in caps.methods:
        return "method_unsupported"
    if not caps.supports(method, currency):
        return "currency_unsupported"
    if capture_method == "manual" and not caps.manual_capture:
        return "manual_capture_unsupported"
    return None


async def get_routing(engine: Engine, merchant_id: str) -> dict[str, Any]:
    """``{"gateways": [...enabled, in order], "available": [...every configured gateway]}``."""
    accounts = await engine.gateways.accounts(merchant_id, fresh=True)
    return {
        "object": "routing",
        "gateways": [a.gateway for a in accounts if a.enabled],
        "available": sorted(a.gateway for a in accounts),
    }


async def set_routing(engine: Engine, merchant_id: str, gateways: list[str]) -> dict[str, Any]:
    """Make ``gateways`` the routing order; configured gateways not listed are disabled."""
    if len(set(gateways)) != len(gateways):
        raise ValidationError("gateways must not repeat a gateway.", param="gateways")
    configured = {a.gateway for a in await engine.gateways.accounts(merchant_id, fresh=True)}
    unknown = [g for g in gateways if g not in configured]
    if unknown:
        raise ValidationError(f"No account is configured for: {', '.join(unknown)}.", param="gateways")
    async with engine.db.transaction() as uow:
        for gateway in configured:
            enabled = gateway in gateways
            priority = gateways.index(gateway) if enabled else 1000
            await uow.accounts.set_route(merchant_id, gateway, priority, enabled)
    engine.gateways.forget(merchant_id)
    return await get_routing(engine, merchant_id)
