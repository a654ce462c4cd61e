"""Turn a requested payment method into what the connector needs and what may be stored.

The connector gets the raw card in memory; the database, events and responses only ever see
the masked form (brand, last4, expiry). The CVV exists only for the duration of the call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine import validation
from engine.commands import PaymentMethodInput
from engine.errors import ValidationError
from engine.gateways.base import CardDetails, PaymentMethod


def prepare_method(method: PaymentMethodInput, now: datetime | None = None) -> tuple[PaymentMethod, dict[str, Any]]:
    """Validate ``method``; return the connector's view and the masked, storable view."""
    now = now or datetime.now(UTC)
    kind = method.type
    if kind == "card":
        card = _required(method.card, "card")
        brand = validation.validate_card(card.number, card.exp_month, card.exp_year, card.cvc, now.year, now.month)
        details = CardDetails(card.number, card.exp_month, card.exp_year, card.cvc, card.holder_name)
        masked = {
            "type": "card",
            "brand": brand,
            "last4": card.number[-4:],
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
        }
        return PaymentMethod(type="card", card=details), masked
    if kind == "upi":
        vpa = validation.validate_vpa(_required(method.upi, "upi").vpa)
        return PaymentMethod(type="upi", vpa=vpa), {"type": "upi", "vpa": vpa}
    if kind == "netbanking":
        code = _required(method.netbanking, "netbanking").bank_code
        validation.validate_bank_code(code)
        return PaymentMethod(type="netbanking", bank_code=code), {"type": "netbanking", "bank_code": code}
    provider = _required(method.wallet, "wallet").provider
    validation.validate_wallet_provider(provider)
    return PaymentMethod(type="wallet", wallet_provider=provider), {"type": "wallet", "provider": provider}


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise ValidationError(
            f"payment_method.{name} is required when payment_method.type is {name!r}.",
            code="parameter_missing",
            param=f"payment_method.{name}",
        )
    return value
