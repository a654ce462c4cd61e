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
    amount: int | None = None,
    detail: str | None = None,
) -> Plan:
    """The ordered candidates for a payment; raises when none can take it.

    ``probe=False`` plans without taking a half-open breaker's probe slot (a pre-check).
    ``amount`` is checked against per-method limits; ``detail`` (the card brand, bank code or
    wallet provider, see ``method_detail``) against what each gateway lists. The payment-methods
    list (engine/services/eligibility.py) is computed with this very function.
    """
    accounts = await engine.gateways.accounts(merchant_id)
    if gateway is not None and not any(a.gateway == gateway for a in accounts):
        raise InvalidRequest(f"No {gateway} account is configured for this merchant.", param="gateway")
    candidates: list[GatewayAccount] = []
    skipped: list[dict[str, str]] = []
    considered = [a for a in accounts if gateway is None or a.gateway == gateway]
    reasons = {a.id: unsuitable(a, currency, method, capture_method, amount, detail) for a in considered}
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
        reasons = {s["reason"] for s in skipped}
        specific = _PARAM_OF_REASON.get(reasons.pop(), "payment_method.type") if len(reasons) == 1 else None
        param = "gateway" if gateway else specific or "payment_method.type"
        raise InvalidRequest(
            f"No configured gateway accepts {method} payments in {currency}" + _what(skipped, detail) + ".",
            code="no_gateway_available",
            param=param,
        )
    return Plan(candidates=tuple(candidates), skipped=tuple(skipped), named=gateway is not None)


_PARAM_OF_REASON = {
    "amount_over_limit": "amount",
    "card_brand_unsupported": "payment_method.card.number",
    "bank_unsupported": "payment_method.netbanking.bank_code",
    "wallet_unsupported": "payment_method.wallet.provider",
}
_DETAIL_REASON = {"card": "card_brand_unsupported", "netbanking": "bank_unsupported", "wallet": "wallet_unsupported"}


def _what(skipped: list[dict[str, str]], detail: str | None) -> str:
    reasons = {s["reason"] for s in skipped}
    if detail is not None and reasons & set(_DETAIL_REASON.values()):
        return f" with {detail!r}"
    return " of this amount" if "amount_over_limit" in reasons else ""


def method_detail(method_type: str, masked: dict[str, Any]) -> str | None:
    """The detail routing checks for a prepared method: its card brand, bank code or wallet."""
    key = {"card": "brand", "netbanking": "bank_code", "wallet": "provider"}.get(method_type)
    return masked.get(key) if key else None


def unsuitable(
    account: GatewayAccount,
    currency: str,
    method: str,
    capture_method: str,
    amount: int | None = None,
    detail: str | None = None,
) -> str | None:
    """Why ``account`` cannot take such a payment (``None`` when it can), breakers aside."""
    if not account.enabled:
        return "disabled"
    caps = registry.capabilities(account.gateway)
    if method not in caps.methods:
        return "method_unsupported"
    if not caps.supports(method, currency):
        return "currency_unsupported"
    if capture_method == "manual" and not caps.manual_capture:
        return "manual_capture_unsupported"
    if amount is not None and not caps.accepts_amount(method, amount):
        return "amount_over_limit"
    if detail is not None and not caps.accepts_detail(method, detail):
        return _DETAIL_REASON[method]
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
