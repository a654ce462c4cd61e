"""How the connector contract suite drives each gateway of the registry through the sandbox.

Everything the contract needs to know that differs between gateways and is no quirk of behaviour:
which sandbox paths a flow goes through (for fault injection), which credentials the sandbox
refuses, which redirect instruments exist, and the identifiers and error codes each gateway uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.gateways.base import Outcome, PaymentMethod
from engine.gateways.juspay import builders as juspay_builders
from engine.gateways.payu import builders as payu_builders
from engine.gateways.registry import SUPPORTED_GATEWAYS
from tests.support.gateway_env import SANDBOX_CREDENTIALS


def _same(value: str) -> str:
    return value


@dataclass(frozen=True)
class Driver:
    """One gateway as the contract suite drives it."""

    gateway: str
    prefix: str  # in attempt and refund ids: att_<prefix>NNNNNN
    # An account the sandbox refuses on every API call and whose webhook secret is not the one
    # the sandbox signs with.
    wrong_credentials: dict[str, str]
    payment_path: str  # the call that can move money (fault injection matches path substrings)
    setup_path: str | None  # the call before it that cannot (order / initiate); None: one call
    status_path: str  # what ``sync`` asks
    status_method: str | None  # limits the status fault to one HTTP method (None: any)
    netbanking: PaymentMethod
    wallet: PaymentMethod
    # The sandbox's 500 on the payment call: an unsigned error body proves nothing (UNKNOWN), but
    # Paytm's is its signed F/501 "system error", which says nothing was processed.
    http_500: Outcome = Outcome.UNKNOWN
    # The gateway order id an attempt gets; None: the gateway assigns its own.
    order_id: Callable[[str], str] | None = None
    # What a refund webhook echoes of our refund id (Juspay: a derived id, < 21 characters).
    refund_reference: Callable[[str], str] = _same
    invalid_card_decline: str = "incorrect_number"  # a card number failing the Luhn check
    over_refund_code: str | None = None  # None: an error message is all the gateway gives
    declined_refund_code: str | None = None
    setup_faults: tuple[str, ...] = field(default=("http_500", "http_503_html", "garbled", "timeout"))

    def is_order_of(self, attempt_id: str, order_id: str | None) -> bool:
        """True when ``order_id`` is the gateway order id the attempt must have."""
        return bool(order_id) and (self.order_id is None or order_id == self.order_id(attempt_id))

    @property
    def credentials(self) -> dict[str, str]:
        """The sandbox's published account for this gateway."""
        return SANDBOX_CREDENTIALS[self.gateway]


DRIVERS: dict[str, Driver] = {
    d.gateway: d
    for d in (
        Driver(
            "razorpay", "rzp",
            wrong_credentials={"key_id": "rzp_live_nope", "key_secret": "x", "webhook_secret": "y"},
            payment_path="/payments/create/json", setup_path="/v1/orders",
            status_path="/v1/payments/", status_method="GET",
            netbanking=PaymentMethod(type="netbanking", bank_code="HDFC"),
            wallet=PaymentMethod(type="wallet", wallet_provider="paytm"),
        ),
        Driver(
            "paytm", "ptm",
            wrong_credentials={**SANDBOX_CREDENTIALS["paytm"], "merchant_key": "wrongmerchkey001"},
            payment_path="processTransaction", setup_path="initiateTransaction",
            status_path="/v3/order/status", status_method=None,
            netbanking=PaymentMethod(type="netbanking", bank_code="HDFC"),
            wallet=PaymentMethod(type="wallet", wallet_provider="paytm"),
            http_500=Outcome.RETRYABLE, order_id=_same, invalid_card_decline="invalid_request",
            over_refund_code="620", declined_refund_code="600",
            setup_faults=("http_500", "http_503_html", "garbled", "empty", "timeout"),
        ),
        Driver(
            "payu", "pyu",
            wrong_credentials={**SANDBOX_CREDENTIALS["payu"], "salt": "wrong"},
            payment_path="_payment", setup_path=None, status_path="postservice", status_method=None,
            netbanking=PaymentMethod(type="netbanking", bank_code="HDFB"),
            wallet=PaymentMethod(type="wallet", wallet_provider="phonepe"),
            order_id=payu_builders.txnid_for, over_refund_code="105", declined_refund_code="111",
        ),
        Driver(
            "juspay", "jsp",
            wrong_credentials={**SANDBOX_CREDENTIALS["juspay"], "api_key": "wrong", "webhook_password": "wrong"},
            payment_path="/txns", setup_path="/orders", status_path="/orders/", status_method="GET",
            netbanking=PaymentMethod(type="netbanking", bank_code="HDFC"),
            wallet=PaymentMethod(type="wallet", wallet_provider="mobikwik"),
            order_id=juspay_builders.order_id_for, refund_reference=juspay_builders.request_id_for,
            over_refund_code="invalid.refund.amount", declined_refund_code="invalid.order.not_successful",
        ),
    )
}  # fmt: skip
assert tuple(DRIVERS) == SUPPORTED_GATEWAYS, "every gateway of the registry needs a driver"
