"""The Juspay connector: flows and IO. Mapping lives in ``builders``, ``transformers``, ``events``.

Flows (reference/gateways.md §4; Juspay Express Checkout API, server-to-server):

* create_customer -- ``POST /customers`` (``object_reference_id`` = our customer id); a
  duplicate is resolved with ``GET /customers/{object_reference_id}``. Optional capability
  (registry ``customers=True``).
* authorize -- ``POST /orders`` (``order_id`` derived from our attempt id, see
  ``builders.order_id_for``), then ``POST /txns`` with the card, VPA, bank or wallet
  (``redirect_after_payment=true&format=json``). ``PENDING_VBV`` + authentication URL is
  ``REQUIRES_ACTION``; UPI collect is ``PROCESSING``. Manual capture creates a pre-auth order.
  (The hosted ``/session`` flow is not used: the engine collects the payment method itself.)
* sync -- ``GET /orders/{order_id}``.
* capture / void -- ``POST /v2/txns/{txn_uuid}/capture`` (``amount`` + ``idempotence_key`` for a
  partial one) / ``.../void`` (pre-auth), then the
  order status says what happened.
* refund -- ``POST /orders/{order_id}/refunds`` with ``unique_request_id`` derived from our
  refund id (Juspay: < 21 chars, no special characters); idempotent at Juspay, asynchronous
  (``PENDING``); ``refund_status`` reads the order's ``refunds``.
* webhooks -- HTTP Basic with the dashboard username/password; return URL -- HMAC-SHA256
  with the response key (``events``).

Every request: HTTP Basic ``<api_key>:`` (empty password), ``x-merchantid``, ``version`` and
``x-routing-id`` (the Juspay order id, or the customer id -- Juspay's advice for guest checkouts).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import msgspec

from engine.gateways import http
from engine.gateways.base import (
    NO_REFUND,
    AttemptRef,
    ChargeRequest,
    ChargeResult,
    Outcome,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    WebhookEvent,
    WebhookProof,
)
from engine.gateways.common import trusted_hosts_of
from engine.gateways.juspay import builders, events
from engine.gateways.juspay import transformers as tf

# The API version header. The oldest version delivering every webhook event mapped here
# (ORDER_FAILED >= 2016-07-19, TXN_CREATED >= 2016-10-27, AUTO_REFUND_* >= 2019-11-11).
API_VERSION = "2019-11-11"


class JuspayCredentials(msgspec.Struct, frozen=True):
    """One Juspay merchant account. ``repr`` shows the merchant id and webhook user only."""

    merchant_id: str
    api_key: str
    response_key: str
    webhook_username: str
    webhook_password: str

    def __repr__(self) -> str:
        return (
            f"JuspayCredentials(merchant_id={self.merchant_id!r}, api_key=***, response_key=***, "
            f"webhook_username={self.webhook_username!r}, webhook_password=***)"
        )


class JuspayConnector:
    """``GatewayConnector`` for one Juspay account, over the engine's shared ``http.GatewayClient``."""

    name = "juspay"

    def __init__(self, credentials: JuspayCredentials, *, base_url: str, client: http.GatewayClient) -> None:
        self._creds = credentials
        self._base = base_url.rstrip("/")
        self._client = client
        self._auth = (credentials.api_key, "")  # HTTP Basic, empty password
        self._trusted_hosts = trusted_hosts_of(self._base)

    def __repr__(self) -> str:
        return f"JuspayConnector(merchant_id={self._creds.merchant_id!r}, base_url={self._base!r})"

    # --- customers ----------------------------------------------------------------------

    async def create_customer(
        self, customer_id: str, email: str | None, phone: str | None, name: str | None
    ) -> str | None:
        """Register a customer; Juspay's id (``cst_…``), or ``None`` when Juspay did not confirm
        one. Idempotent: an existing ``object_reference_id`` answers the existing customer."""
        form = builders.customer_form(customer_id, email, phone, name)
        created = await self._call("POST", "/customers", form=form, routing=customer_id)
        found = tf.map_customer(created)
        if found is not None or created.transport is http.Transport.NOT_SENT:
            return found
        # Already registered (400 ALREADY_EXISTS), or the answer was lost: look it up.
        return tf.map_customer(await self._call("GET", f"/customers/{_seg(customer_id)}", routing=customer_id))

    # --- payments -----------------------------------------------------------------------

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        """Create the order, then the transaction. Never raises for gateway answers."""
        if request.currency != "INR":
            return ChargeResult(Outcome.RETRYABLE, error_code="currency_unsupported",
                                error_message="Juspay (India) accepts INR only")  # fmt: skip
        order_id = builders.order_id_for(request.attempt_id)
        try:
            txn = builders.txn_form(request, order_id=order_id, merchant_id=self._creds.merchant_id)
        except builders.UnsupportedMethod as exc:
            return ChargeResult(Outcome.DECLINED, decline_code="invalid_request",
                                error_code="payment_method_unsupported", error_message=str(exc))  # fmt: skip
        created = tf.map_order_created(
            await self._call("POST", "/orders", form=builders.order_form(request), routing=order_id), order_id
        )
        if isinstance(created, ChargeResult):
            return created
        answer = await self._call("POST", "/txns", form=txn, routing=order_id)
        ref = AttemptRef(request.attempt_id, None, order_id, request.amount, request.currency)
        return tf.map_txn(answer, ref, order_id, upi=request.method.type == "upi", trusted_hosts=self._trusted_hosts)

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        """The attempt's current status: ``GET /orders/{order_id}``."""
        order_id = ref.gateway_order_id or builders.order_id_for(ref.attempt_id)
        answer = await self._call("GET", f"/orders/{_seg(order_id)}", routing=order_id)
        return tf.map_status(answer, ref, order_id)

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        """Capture a pre-authorization -- all of it, or ``amount`` of it (the order then becomes
        ``PARTIAL_CHARGED`` and the rest of the hold is released) -- then report the order's status."""
        form = builders.capture_form(ref.attempt_id, amount, ref.amount, ref.currency)
        return await self._txn_action(ref, "capture", form)

    async def void(self, ref: AttemptRef) -> ChargeResult:
        """Void a pre-authorization, then report the order's status (``VOIDED`` when done)."""
        return await self._txn_action(ref, "void", {})

    async def _txn_action(self, ref: AttemptRef, action: str, form: dict[str, str]) -> ChargeResult:
        current = ref if ref.gateway_reference else None
        if current is None:  # the txn_uuid comes from the order status
            known = await self.sync(ref)
            if not known.gateway_reference:
                return known
            current = msgspec.structs.replace(ref, gateway_reference=known.gateway_reference)
        assert current.gateway_reference is not None
        path = f"/v2/txns/{_seg(current.gateway_reference)}/{action}"
        answer = await self._call("POST", path, form=form, routing=current.gateway_order_id)
        if answer.transport is http.Transport.NOT_SENT:
            return ChargeResult(Outcome.RETRYABLE, current.gateway_reference, current.gateway_order_id,
                                error_code=f"{action}_not_sent")  # fmt: skip
        # Juspay's docs: "do a Get Order Status call for a deterministic status".
        return await self.sync(current)

    # --- refunds ------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund ``request.amount`` (idempotent on the derived ``unique_request_id``)."""
        order_id = request.ref.gateway_order_id or builders.order_id_for(request.ref.attempt_id)
        form = builders.refund_form(request)
        answer = await self._call("POST", f"/orders/{_seg(order_id)}/refunds", form=form, routing=order_id)
        result = tf.map_refund(answer, form["unique_request_id"], request.amount, request.currency)
        if result.outcome is RefundOutcome.UNKNOWN:  # a lost answer: the order lists our refund if it exists
            known = await self.refund_status(request)
            if known.outcome is not RefundOutcome.UNKNOWN:
                return known
        return result

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        """The refund's state, read from the order's ``refunds`` by ``unique_request_id``."""
        order_id = request.ref.gateway_order_id or builders.order_id_for(request.ref.attempt_id)
        answer = await self._call("GET", f"/orders/{_seg(order_id)}", routing=order_id)
        unique = builders.request_id_for(request.refund_id)
        if answer.transport is http.Transport.NOT_SENT:
            return RefundResult(RefundOutcome.UNKNOWN, unique, error_code="gateway_unavailable")
        result = tf.map_refund(answer, unique, request.amount, request.currency)
        if result.error_code == "refund_not_found":  # the order has no refund under our id
            return RefundResult(RefundOutcome.UNKNOWN, error_code=NO_REFUND)
        return result

    # --- inbound ------------------------------------------------------------------------

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """The HTTP Basic credentials presented, and the dashboard's webhook user and password."""
        return events.webhook_proof(headers, self._creds.webhook_username, self._creds.webhook_password)

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Map an authenticated webhook body; ``ValueError`` on garbage."""
        return events.parse_webhook_body(body)

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Check the return URL's HMAC (response key) and that it is about *our* order."""
        if not events.verify_return_url(params, self._creds.response_key):
            return None
        order_id = ref.gateway_order_id or builders.order_id_for(ref.attempt_id)
        return events.callback_result(params, ref, order_id)

    async def aclose(self) -> None:
        """Nothing to release: the shared HTTP client belongs to the engine."""

    # --- transport ----------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, form: Mapping[str, str] | None = None, routing: str | None = None
    ) -> http.HttpResult:
        headers = {"x-merchantid": self._creds.merchant_id, "version": API_VERSION}
        if routing:
            headers["x-routing-id"] = routing
        return await http.send(self._client, method, self._base + path, form=form, auth=self._auth, headers=headers)


def _seg(value: str) -> str:
    """An id as one URL path segment (ids come from gateways and callbacks: never trust them)."""
    return quote(value, safe="")
