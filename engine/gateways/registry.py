"""Which gateways exist, what each supports, and how to build a connector for one account.

Later issues add gateways by adding one ``_Gateway`` entry; nothing else in the engine names a
connector class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from engine.gateways.base import GatewayConnector


@dataclass(frozen=True, slots=True)
class GatewayCapabilities:
    """What a gateway accepts: currencies per payment method, and its optional flows."""

    currencies_by_method: Mapping[str, frozenset[str]]
    partial_capture: bool = False
    partial_refund: bool = True
    void: bool = True

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


@dataclass(frozen=True, slots=True)
class _Gateway:
    base_url: str
    capabilities: GatewayCapabilities
    build: Callable[[Mapping[str, str], str, httpx.AsyncClient], GatewayConnector]


def _build_razorpay(
    credentials: Mapping[str, str], base_url: str, client: httpx.AsyncClient
) -> GatewayConnector:
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
)

_GATEWAYS: dict[str, _Gateway] = {
    "razorpay": _Gateway("https://api.razorpay.com", _RAZORPAY, _build_razorpay),
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
    gateway: str, credentials: dict[str, str], *, base_url: str, client: httpx.AsyncClient
) -> GatewayConnector:
    """A connector for one gateway account. Raises ``ValueError`` for an unknown gateway or
    missing credentials (the message names the key, never a value)."""
    return _gateway(gateway).build(credentials, base_url, client)
