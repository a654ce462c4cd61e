"""Which payment methods a payment can use now (``GET /v1/payments/{id}/payment_methods``).

Computed with confirm's own routing (``routing.plan``, the same currency, amount, capture
method, named gateway and circuit breakers, without taking a half-open breaker's probe): a
method type is listed when ``plan`` finds a candidate for it, and its details (card brands,
banks, wallet providers) are the union over those candidates of what each lists -- exactly the
details for which ``plan(..., detail=d)`` still finds a candidate. So a listed choice never
fails routing; it can still be declined by the gateway, like any payment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.errors import GatewayFailure, InvalidRequest
from engine.gateways import catalog, registry
from engine.model import Payment
from engine.services import routing
from engine.states import CONFIRMABLE

if TYPE_CHECKING:
    from engine.bootstrap import Engine

METHOD_TYPES = ("card", "upi", "netbanking", "wallet")
# Brands in the order a checkout shows them.
_BRAND_ORDER = ("visa", "mastercard", "rupay", "amex", "diners", "maestro")


async def eligible_methods(engine: Engine, payment: Payment) -> list[dict[str, Any]]:
    """The methods ``payment`` can be confirmed with now (empty when it cannot be confirmed)."""
    if payment.status not in CONFIRMABLE:
        return []
    methods: list[dict[str, Any]] = []
    for method in METHOD_TYPES:
        try:
            plan = await routing.plan(
                engine,
                payment.merchant_id,
                payment.currency,
                method,
                payment.gateway,
                payment.capture_method,
                probe=False,
                amount=payment.amount,
            )
        except (InvalidRequest, GatewayFailure):
            continue  # no gateway can take it (or every able one is down right now)
        entry = describe(method, [registry.capabilities(a.gateway) for a in plan.candidates])
        if entry is not None:
            methods.append(entry)
    return methods


def describe(method: str, caps: list[registry.GatewayCapabilities]) -> dict[str, Any] | None:
    """The list entry of ``method`` given its candidates' capabilities (``None``: no detail
    any candidate accepts, so nothing could be confirmed)."""
    if method == "card":
        brands = set().union(*(c.card_brands for c in caps))
        ordered = [b for b in _BRAND_ORDER if b in brands] + sorted(brands - set(_BRAND_ORDER))
        return {"type": "card", "brands": ordered} if ordered else None
    if method == "netbanking":
        codes = set().union(*(c.banks for c in caps))
        banks = [{"code": code, "name": name} for code, name in catalog.BANKS if code in codes]
        return {"type": "netbanking", "banks": banks} if banks else None
    if method == "wallet":
        providers = sorted(set().union(*(c.wallet_providers for c in caps)))
        return {"type": "wallet", "providers": providers} if providers else None
    return {"type": method}
