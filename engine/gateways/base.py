"""The contract between the engine and a gateway connector.

A connector turns one domain request into the gateway's wire calls and maps every answer
into a ``ChargeResult`` with one of a few outcomes. The mapping rule (from Hyperswitch and
Kill Bill): anything the connector cannot prove is ``UNKNOWN`` -- never ``DECLINED``. Only an
error raised before the request could have moved money is ``RETRYABLE`` (safe to try another
gateway).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec


class Outcome(enum.StrEnum):
    """What a gateway call proved about the money."""

    AUTHORIZED = "authorized"  # funds held, capture pending
    CAPTURED = "captured"  # money taken
    PROCESSING = "processing"  # accepted, the gateway decides later (UPI collect, webhook)
    REQUIRES_ACTION = "requires_action"  # customer must act on ``redirect_url``
    DECLINED = "declined"  # definitively refused; ``decline_code`` says why
    RETRYABLE = "retryable"  # failed before any money could move; safe elsewhere
    UNKNOWN = "unknown"  # the request left and no trustworthy answer came back
    VOIDED = "voided"  # an authorization released


class CardDetails(msgspec.Struct, frozen=True):
    """A card as the connector needs it. Lives in memory only, never persisted or logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str | None = None

    def __repr__(self) -> str:  # keep PAN and CVV out of tracebacks and logs
        return f"CardDetails(last4={self.number[-4:]}, exp={self.exp_month:02d}/{self.exp_year})"


class PaymentMethod(msgspec.Struct, frozen=True):
    """One payment method; exactly the field matching ``type`` is set."""

    type: str  # "card" | "upi" | "netbanking" | "wallet"
    card: CardDetails | None = None
    vpa: str | None = None
    bank_code: str | None = None
    wallet_provider: str | None = None


class ChargeRequest(msgspec.Struct, frozen=True):
    """Everything a connector needs to start one attempt."""

    attempt_id: str  # engine id; sent to the gateway as the reference (receipt)
    payment_id: str
    merchant_id: str
    amount: int  # minor units
    currency: str
    method: PaymentMethod
    capture: bool  # True: take the money now (automatic capture)
    callback_url: str  # where the customer's browser returns after a redirect step
    description: str | None = None
    customer_email: str | None = None
    customer_phone: str | None = None
    gateway_order_id: str | None = None  # reuse an order created by an earlier attempt
    # Commits the gateway's order id before the payment is created at the gateway (a recovery
    # point: a crash between the two leaves an order the status sync finds by id).
    record_order: Callable[[str], Awaitable[None]] | None = None


class AttemptRef(msgspec.Struct, frozen=True):
    """How the gateway knows an attempt: its payment id and/or its order id."""

    attempt_id: str
    gateway_reference: str | None = None
    gateway_order_id: str | None = None
    amount: int = 0
    currency: str = "INR"


class ChargeResult(msgspec.Struct, frozen=True):
    """The mapped answer of a payment call, a status sync, a webhook or a callback."""

    outcome: Outcome
    gateway_reference: str | None = None
    gateway_order_id: str | None = None
    amount_captured: int = 0
    redirect_url: str | None = None
    decline_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    raw_status: str | None = None


class RefundRequest(msgspec.Struct, frozen=True):
    """A refund of ``amount`` against a captured attempt."""

    refund_id: str  # engine id; used as the gateway's idempotency key
    ref: AttemptRef
    amount: int
    currency: str
    reason: str | None = None
    # The gateway's id of this refund, once known (from an earlier ``RefundResult``): PayU's
    # refund status API is keyed by its own request id, not ours.
    gateway_refund_id: str | None = None


# ``refund_status``'s error code when the gateway has no refund under our id (the refund request
# never reached it): sending the refund again under the same id is the way on -- every gateway
# refuses a second refund under one id and connectors report that as the first refund.
NO_REFUND = "no_refund"


class RefundOutcome(enum.StrEnum):
    """Refund states the engine tracks."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class RefundResult(msgspec.Struct, frozen=True):
    """The mapped answer of a refund call or refund webhook."""

    outcome: RefundOutcome
    gateway_refund_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class WebhookEvent(msgspec.Struct, frozen=True):
    """An inbound gateway event, after its signature was verified."""

    event_id: str
    event_type: str
    gateway_reference: str | None = None  # the gateway's payment id
    gateway_order_id: str | None = None
    attempt_id: str | None = None  # our reference echoed back (receipt / notes)
    charge: ChargeResult | None = None
    refund: RefundResult | None = None
    refund_reference: str | None = None  # our refund id echoed back, when the event is a refund


class WebhookProof(msgspec.Struct, frozen=True):
    """What an inbound webhook presented as proof of its origin, and what that proof must equal
    for one gateway account (computed from the account's secret over the message as received).

    A connector only *declares* the proof (``GatewayConnector.webhook_proof``); the core
    compares ``presented`` with ``expected`` in constant time
    (``engine.gateways.common.webhook_verified``), so no connector carries its own comparison.
    ``scheme`` names how ``expected`` was computed (for reading, tests and logs). ``repr`` shows
    neither value: ``expected`` can be a secret itself (Juspay's Basic-auth password).
    """

    scheme: str
    presented: bytes
    expected: bytes

    def __repr__(self) -> str:
        return f"WebhookProof(scheme={self.scheme!r}, presented=***, expected=***)"


class GatewayConnector(Protocol):
    """One gateway account's connector. Implementations live in ``engine/gateways/<name>/``."""

    name: str

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        """Start an attempt (create order + payment). Never raises for gateway answers."""
        ...

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        """Capture ``amount`` of an authorized attempt."""
        ...

    async def void(self, ref: AttemptRef) -> ChargeResult:
        """Release an authorization; ``VOIDED`` when the gateway confirms or has no void API."""
        ...

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund part or all of a captured attempt."""
        ...

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        """Ask the gateway for the attempt's current status."""
        ...

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        """Ask the gateway where a refund stands (``UNKNOWN`` when it cannot tell)."""
        ...

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """What this webhook presents as proof and what it must equal for this account;
        ``None`` when it carries no proof or a malformed one. Never raises for hostile input,
        never compares (``common.webhook_verified`` does)."""
        ...

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Map a verified webhook body to an event. Raises ``ValueError`` on garbage."""
        ...

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Verify a browser callback's signature; ``None`` when it does not verify."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...


class CustomerConnector(GatewayConnector, Protocol):
    """A connector of a gateway that keeps customer records (capability ``customers``)."""

    async def create_customer(
        self, customer_id: str, email: str | None, phone: str | None, name: str | None
    ) -> str | None:
        """Register a customer; the gateway's id for it, or ``None`` when it did not confirm one."""
        ...
