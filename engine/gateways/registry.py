"""Which gateways exist, what each supports, and how to build a connector for one account.

Later issues add gateways by adding one ``_Gateway`` entry; nothing else in the engine names a
connector class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from engine.gateways import catalog
from engine.gateways.base import GatewayConnector
from engine.gateways.client import GatewayClient


@dataclass(frozen=True, slots=True)
class GatewayCapabilities:
    """What a gateway accepts: currencies per payment method, and its optional flows."""

    currencies_by_method: Mapping[str, frozenset[str]]
    partial_capture: bool = False
    partial_refund: bool = True
    void: bool = True
    # Authorize now, capture later (``capture_method: manual``). A gateway without it answers
    # ``RETRYABLE`` (``manual_capture_unsupported``) to a ``capture=False`` charge.
    manual_capture: bool = True
    # The connector has ``create_customer`` (the "create user" contract: Juspay).
    customers: bool = False
    # What each method accepts in detail (engine/gateways/catalog.py): card brands (the
    # engine's brand names), netbanking bank codes, wallet providers. Routing skips a gateway
    # that does not list the detail a confirm names, and the payment-methods list shows exactly
    # these, so a listed choice always routes.
    card_brands: frozenset[str] = catalog.CARD_BRANDS
    banks: frozenset[str] = catalog.BANK_CODES
    wallet_providers: frozenset[str] = frozenset()
    # The largest amount (minor units) per method, where the rail has a limit (UPI: NPCI's).
    max_amount_by_method: Mapping[str, int] = field(default_factory=lambda: dict(catalog.MAX_AMOUNT_BY_METHOD))

    @property
    def methods(self) -> frozenset[str]:
        """Payment method types (``card``, ``upi``, ``netbanking``, ``wallet``)."""
        return frozenset(self.currencies_by_method)

    @property
    def currencies(self) -> frozenset[str]:
        """Every currency accepted by at least one method."""
        return frozenset().union(*self.currencies_by_method.values())

    def supports(self, method: str, currency: str) -> bool:
        """True when ``method`` can be paid in ``currency``."""
        return currency in self.currencies_by_method.get(method, frozenset())

    def accepts_amount(self, method: str, amount: int) -> bool:
        """True when ``amount`` is within the method's limit on this gateway."""
        limit = self.max_amount_by_method.get(method)
        return limit is None or amount <= limit

    def accepts_detail(self, method: str, detail: str) -> bool:
        """True when the card brand / bank code / wallet provider ``detail`` is accepted."""
        if method == "card":
            return detail in self.card_brands
        if method == "netbanking":
            return detail in self.banks
        if method == "wallet":
            return detail in self.wallet_providers
        return True


@dataclass(frozen=True, slots=True)
class _Gateway:
    base_url: str
    capabilities: GatewayCapabilities
    build: Callable[[Mapping[str, str], str, GatewayClient], GatewayConnector]


def _build_razorpay(credentials: Mapping[str, str], base_url: str, client: GatewayClient) -> GatewayConnector:
    from engine.gateways.razorpay import RazorpayConnector, RazorpayCredentials

    creds = RazorpayCredentials(
        key_id=_required(credentials, "razorpay", "key_id"),
        key_secret=_required(credentials, "razorpay", "key_secret"),
        webhook_secret=_required(credentials, "razorpay", "webhook_secret"),
    )
    return RazorpayConnector(creds, base_url=base_url, client=client)


# Razorpay: INR for every method. Cards may also be charged in other currencies once the
# account has "international payments" enabled (Razorpay docs: international payments /
# supported currencies, amounts in the currency's sub-unit); the list is the common subset of
# two-decimal currencies (three-decimal ones would need amounts ending in 0). Razorpay
# documents full-amount captures only, so partial capture is declared unsupported; "void"
# needs no call (uncaptured authorizations are auto-refunded).
_RAZORPAY = GatewayCapabilities(
    currencies_by_method={
        "card": frozenset({"INR", "USD", "EUR", "GBP", "SGD", "AED", "AUD", "CAD"}),
        "upi": frozenset({"INR"}),
        "netbanking": frozenset({"INR"}),
        "wallet": frozenset({"INR"}),
    },
    partial_capture=False,
    partial_refund=True,
    void=True,
    wallet_providers=catalog.RAZORPAY_WALLETS,
)


def _build_paytm(credentials: Mapping[str, str], base_url: str, client: GatewayClient) -> GatewayConnector:
    from engine.gateways.paytm import PaytmConnector, PaytmCredentials

    creds = PaytmCredentials(
        mid=_required(credentials, "paytm", "mid"),
        merchant_key=_required(credentials, "paytm", "merchant_key"),
        website=credentials.get("website") or "DEFAULT",
    )
    return PaytmConnector(creds, base_url=base_url, client=client)


def _build_payu(credentials: Mapping[str, str], base_url: str, client: GatewayClient) -> GatewayConnector:
    from engine.gateways.payu import PayuConnector, PayuCredentials

    creds = PayuCredentials(key=_required(credentials, "payu", "key"), salt=_required(credentials, "payu", "salt"))
    return PayuConnector(creds, base_url=base_url, client=client)


def _build_juspay(credentials: Mapping[str, str], base_url: str, client: GatewayClient) -> GatewayConnector:
    from engine.gateways.juspay import JuspayConnector, JuspayCredentials

    creds = JuspayCredentials(
        merchant_id=_required(credentials, "juspay", "merchant_id"),
        api_key=_required(credentials, "juspay", "api_key"),
        response_key=_required(credentials, "juspay", "response_key"),
        webhook_username=_required(credentials, "juspay", "webhook_username"),
        webhook_password=_required(credentials, "juspay", "webhook_password"),
    )
    return JuspayConnector(creds, base_url=base_url, client=client)


_INR_ONLY = {method: frozenset({"INR"}) for method in ("card", "upi", "netbanking", "wallet")}

# Paytm PG: INR only (reference §1.7). Its plain payments are captured at once; the separate
# pre-auth product is not implemented, so no manual capture, no partial capture and nothing to
# void. Partial refunds: the Refund API takes any refundAmount up to the balance.
_PAYTM = GatewayCapabilities(
    currencies_by_method=_INR_ONLY,
    partial_capture=False,
    partial_refund=True,
    void=False,
    manual_capture=False,
    card_brands=catalog.CARD_BRANDS - {"maestro"},
    wallet_providers=catalog.PAYTM_WALLETS,
)

# PayU India: INR (international currencies need account enablement). Auth-only is a PayU account
# setting this connector does not rely on, so captured at once like Paytm. Partial refunds:
# cancel_refund_transaction takes an amount.
_PAYU = GatewayCapabilities(
    currencies_by_method=_INR_ONLY,
    partial_capture=False,
    partial_refund=True,
    void=False,
    manual_capture=False,
    wallet_providers=catalog.PAYU_WALLETS,
)

# Juspay (India): INR. Pre-auth + capture + void exist (order metadata txns.auto_capture=false;
# /v2/txns/{id}/capture|void). Partial capture (amount + idempotence_key; the order becomes
# PARTIAL_CHARGED) is documented through one underlying PG (Cybersource): the merchant's Juspay
# account must route pre-auth cards there. Partial refunds by amount. Customers: POST /customers.
_JUSPAY = GatewayCapabilities(
    currencies_by_method=_INR_ONLY,
    partial_capture=True,
    partial_refund=True,
    void=True,
    manual_capture=True,
    customers=True,
    wallet_providers=catalog.JUSPAY_WALLETS,
)

_GATEWAYS: dict[str, _Gateway] = {
    "razorpay": _Gateway("https://api.razorpay.com", _RAZORPAY, _build_razorpay),
    # Paytm's SDK moved production to the PPSL host in Jan 2025 (reference §1.1).
    "paytm": _Gateway("https://secure.paytmpayments.com", _PAYTM, _build_paytm),
    # PayU: _payment on secure.payu.in; the connector sends commands to info.payu.in from there.
    "payu": _Gateway("https://secure.payu.in", _PAYU, _build_payu),
    "juspay": _Gateway("https://api.juspay.in", _JUSPAY, _build_juspay),
}

SUPPORTED_GATEWAYS: tuple[str, ...] = tuple(_GATEWAYS)
"""Gateway names this engine has a connector for, in declaration order."""


def _gateway(gateway: str) -> _Gateway:
    try:
        return _GATEWAYS[gateway]
    except KeyError:
        raise ValueError(f"unknown gateway {gateway!r}; supported: {', '.join(_GATEWAYS)}") from None


def _required(credentials: Mapping[str, str], gateway: str, key: str) -> str:
    value = credentials.get(key)
    if not value:
        # Names the missing key only; never echoes any credential value.
        raise ValueError(f"{gateway} credentials need a non-empty {key!r}")
    return value


def default_base_url(gateway: str) -> str:
    """The production API base URL of ``gateway`` (paths such as ``/v1/...`` are appended)."""
    return _gateway(gateway).base_url


def capabilities(gateway: str) -> GatewayCapabilities:
    """The currencies, methods and optional flows ``gateway`` supports."""
    return _gateway(gateway).capabilities


def build_connector(
    gateway: str, credentials: dict[str, str], *, base_url: str, client: GatewayClient
) -> GatewayConnector:
    """A connector for one gateway account. Raises ``ValueError`` for an unknown gateway or
    missing credentials (the message names the key, never a value)."""
    return _gateway(gateway).build(credentials, base_url, client)
