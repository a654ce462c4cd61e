"""Inputs of the use cases, as msgspec Structs.

The API decodes request bodies straight into these (unknown fields are rejected), so the wire
contract and the service signatures cannot drift. Bounds here are structural (lengths, sizes);
the semantic checks (Luhn, expiry, currency exponent, VPA) run in ``engine.validation``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from engine.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR


def documented(**schema: object) -> msgspec.Meta:
    """JSON Schema keywords for the OpenAPI document only (Litestar reads ``extra_json_schema["extra"]``).

    Two uses: rules the decoder leaves to ``engine.validation`` so that they keep their own error
    codes (``amount_too_small``, ``invalid_expiry_month``, ``invalid_vpa``, …), and constraints the
    decoder does check but Litestar cannot translate (a dict's key and size bounds). Either way the
    document then describes what the server accepts, not a looser superset.
    """
    return msgspec.Meta(extra_json_schema={"extra": schema})


Text64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Text255 = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=r"^https?://[^\s]+$")]
Metadata = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=40)], Annotated[str, msgspec.Meta(max_length=500)]],
    msgspec.Meta(max_length=50),
    documented(
        maxProperties=50,
        propertyNames={"type": "string", "minLength": 1, "maxLength": 40},
        additionalProperties={"type": "string", "maxLength": 500},
    ),
]
# Amounts are integer minor units; engine.validation checks the range (amount_too_small/_large).
Amount = Annotated[int, documented(minimum=1, maximum=MAX_AMOUNT_MINOR)]
# ISO 4217 codes the engine knows the exponent of (currency_unsupported otherwise).
Currency = Annotated[str, msgspec.Meta(min_length=1, max_length=3), documented(enum=sorted(CURRENCY_EXPONENTS))]
# A card may expire this year up to 20 years ahead (engine.validation, invalid_expiry_year); the
# document states the window as of the process start.
_THIS_YEAR = datetime.now(UTC).year
GatewayName = Literal["razorpay", "paytm", "payu", "juspay"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base: unknown fields are an error, not silently dropped."""


class CardInput(Strict):
    """Raw card data: held in memory for the gateway call only."""

    number: Annotated[str, msgspec.Meta(min_length=1, max_length=32), documented(pattern="^[0-9]{12,19}$")]
    exp_month: Annotated[int, documented(minimum=1, maximum=12)]
    exp_year: Annotated[int, documented(minimum=_THIS_YEAR, maximum=_THIS_YEAR + 20)]
    # 4 digits for American Express, 3 for every other brand
    cvc: Annotated[str, msgspec.Meta(min_length=1, max_length=8), documented(pattern="^[0-9]{3,4}$")]
    holder_name: Annotated[str, msgspec.Meta(max_length=100)] | None = None

    def __repr__(self) -> str:
        return "CardInput(<redacted>)"


class UpiInput(Strict):
    """UPI collect: the customer's virtual payment address."""

    vpa: Annotated[Text255, documented(pattern="^[a-zA-Z0-9._-]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,64}$")]


class NetbankingInput(Strict):
    """Netbanking: the bank's code."""

    bank_code: Annotated[str, msgspec.Meta(min_length=1, max_length=20), documented(pattern="^[A-Z0-9_]{2,20}$")]


class WalletInput(Strict):
    """Wallet: the provider's name."""

    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=32), documented(pattern="^[a-z0-9]{2,32}$")]


class PaymentMethodInput(Strict):
    """One payment method; the object matching ``type`` must be present."""

    type: Literal["card", "upi", "netbanking", "wallet"]
    card: CardInput | None = None
    upi: UpiInput | None = None
    netbanking: NetbankingInput | None = None
    wallet: WalletInput | None = None


class CreatePayment(Strict):
    """``POST /v1/payments``."""

    amount: Amount
    currency: Currency
    merchant_order_id: Text64 | None = None
    customer_id: Text64 | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    description: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)
    return_url: Url | None = None
    payment_method: PaymentMethodInput | None = None
    confirm: bool = False
    gateway: GatewayName | None = None


class ConfirmPayment(Strict):
    """``POST /v1/payments/{id}/confirm``."""

    payment_method: PaymentMethodInput
    return_url: Url | None = None
    gateway: GatewayName | None = None
    # With a publishable key (the browser): the payment's client secret. A secret-key request
    # needs none; if it sends one, it is ignored.
    client_secret: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None


class CapturePayment(Strict):
    """``POST /v1/payments/{id}/capture``; no amount captures everything capturable."""

    amount: Amount | None = None


class CancelPayment(Strict):
    """``POST /v1/payments/{id}/cancel``."""

    cancellation_reason: Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None = None


class SyncPayment(Strict):
    """``POST /v1/payments/{id}/sync`` takes no fields."""


class CreateRefund(Strict):
    """``POST /v1/refunds``; no amount refunds everything not yet refunded."""

    payment_id: Text64
    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


class CreateCustomer(Strict):
    """``POST /v1/customers``."""

    email: Annotated[str, msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=20, pattern=r"^\+?[0-9]{6,15}$")] | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    metadata: Metadata = msgspec.field(default_factory=dict)


class CreateMerchant(Strict):
    """``POST /v1/admin/merchants``."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
