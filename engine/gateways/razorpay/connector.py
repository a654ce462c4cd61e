"""The Razorpay connector: flows and IO. Mapping lives in ``transformers`` and ``events``.

Flows (reference/gateways.md §2):

* authorize -- ``POST /v1/orders`` (skipped when the attempt reuses an order), then the S2S JSON
  payment ``POST /v1/payments/create/json``; a synchronously processed payment is fetched.
* capture -- ``POST /v1/payments/{id}/capture``. Refused with 400? The payment is fetched: a
  retried capture of an already captured payment is a success, not a decline.
* void -- Razorpay has no void API: an authorized payment that is never captured is refunded
  to the customer automatically by Razorpay after a few days. ``void`` therefore makes no call
  and answers ``VOIDED``.
* refund -- ``POST /v1/payments/{id}/refund`` with ``X-Refund-Idempotency: <refund id>``, so a
  refund whose answer was lost can be resent without refunding twice.
* sync -- ``GET /v1/payments/{id}``, or ``GET /v1/orders/{id}/payments`` when only the order is
  known.
* webhooks -- ``X-Razorpay-Signature`` = hex HMAC-SHA256(webhook secret, raw body), declared as a
  ``WebhookProof`` and compared by the core (``common.webhook_verified``); browser callbacks --
  HMAC-SHA256(key secret, ``<our stored order id>|<payment id>``). Every HMAC and comparison
  goes through ``engine.signing`` (constant time).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import msgspec

from engine import signing
from engine.gateways import http
from engine.gateways.base import (
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
from engine.gateways.razorpay import events
from engine.gateways.razorpay import transformers as tf
from engine.gateways.razorpay.wire import CaptureCreate, PaymentCreate


class RazorpayCredentials(msgspec.Struct, frozen=True):
    """One Razorpay account's keys. ``repr`` shows the key id only, never the secrets."""

    key_id: str
    key_secret: str
    webhook_secret: str

    def __repr__(self) -> str:
        return f"RazorpayCredentials(key_id={self.key_id!r}, key_secret=***, webhook_secret=***)"


class RazorpayConnector:
    """``GatewayConnector`` for one Razorpay account, over the engine's shared ``http.GatewayClient``."""

    name = "razorpay"

    def __init__(self, credentials: RazorpayCredentials, *, base_url: str, client: http.GatewayClient) -> None:
        self._creds = credentials
        self._base = base_url.rstrip("/")
        self._client = client
        self._auth = (credentials.key_id, credentials.key_secret)  # HTTP Basic
        # Redirect pages on the API's own host may be plain http (a local sandbox); any other
        # host must be https.
        self._trusted_hosts = trusted_hosts_of(self._base)

    def __repr__(self) -> str:
        return f"RazorpayConnector(key_id={self._creds.key_id!r}, base_url={self._base!r})"

    # --- payments -----------------------------------------------------------------------

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        """Create (or reuse) the order, then the payment. Never raises for gateway answers."""
        try:
            body = tf.build_payment(request, order_id=request.gateway_order_id or "")
        except tf.UnsupportedMethod as exc:
            return ChargeResult(
                Outcome.DECLINED,
                decline_code="invalid_request",
                error_code="payment_method_unsupported",
                error_message=str(exc),
            )
        order_id = request.gateway_order_id
        if not order_id:
            created = tf.map_order_created(await self._call("POST", "/v1/orders", json=tf.build_order(request)))
            if isinstance(created, ChargeResult):
                return created
            order_id = created
            if request.record_order is not None:
                await request.record_order(order_id)
            body = msgspec.structs.replace(body, order_id=order_id)
        return await self._create_payment(body, order_id, request)

    async def _create_payment(self, body: PaymentCreate, order_id: str, request: ChargeRequest) -> ChargeResult:
        answer = await self._call("POST", "/v1/payments/create/json", json=body)
        result, fetch_id = tf.map_payment_created(answer, order_id, trusted_hosts=self._trusted_hosts)
        if fetch_id is None:
            return result
        # Processed synchronously: only the entity says authorized, captured or failed.
        ref = AttemptRef(request.attempt_id, fetch_id, order_id, request.amount, request.currency)
        return await self._fetch_payment(ref)

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        """Capture ``amount`` (Razorpay documents full-amount captures only)."""
        if not ref.gateway_reference:
            return ChargeResult(
                Outcome.DECLINED,
                None,
                ref.gateway_order_id,
                decline_code="invalid_request",
                error_code="missing_payment_reference",
                error_message="no Razorpay payment id",
            )
        path = f"/v1/payments/{_seg(ref.gateway_reference)}/capture"
        answer = await self._call("POST", path, json=CaptureCreate(amount, ref.currency))
        if answer.transport is http.Transport.NOT_SENT:
            return ChargeResult(
                Outcome.RETRYABLE,
                ref.gateway_reference,
                ref.gateway_order_id,
                error_code="capture_not_sent",
            )
        refused = tf.map_capture_refused(answer)
        if refused is None:
            result = tf.map_payment_answer(answer, ref)
            if result.outcome is Outcome.CAPTURED and amount < result.amount_captured:
                # Razorpay's entity has no captured amount (it documents full captures only); a
                # peer that accepted a smaller capture captured what we asked for.
                result = msgspec.structs.replace(result, amount_captured=amount)
            return result
        # A capture can be refused because an earlier (timed-out) capture already succeeded.
        current = await self._fetch_payment(ref)
        if current.outcome in (Outcome.CAPTURED, Outcome.UNKNOWN):
            return current
        return ChargeResult(
            Outcome.DECLINED,
            ref.gateway_reference,
            ref.gateway_order_id,
            decline_code="capture_failed",
            error_code=refused.reason or refused.code,
            error_message=refused.description,
            raw_status=current.raw_status,
        )

    async def void(self, ref: AttemptRef) -> ChargeResult:
        """No call: Razorpay has no void API and auto-refunds uncaptured authorizations."""
        return ChargeResult(Outcome.VOIDED, ref.gateway_reference, ref.gateway_order_id, raw_status="not_captured")

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund ``request.amount``; the engine refund id is the idempotency key."""
        pay_id = request.ref.gateway_reference
        if not pay_id:
            return RefundResult(
                RefundOutcome.FAILED,
                error_code="missing_payment_reference",
                error_message="no Razorpay payment id to refund",
            )
        answer = await self._call(
            "POST",
            f"/v1/payments/{_seg(pay_id)}/refund",
            json=tf.build_refund(request),
            headers={"X-Refund-Idempotency": request.refund_id},
        )
        return tf.map_refund(answer, request)

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        """Where a refund stands: ``GET /v1/refunds/{id}`` when Razorpay's id is known, else the
        same refund sent again -- safe, because ``X-Refund-Idempotency`` makes Razorpay answer
        with the refund it already created instead of creating a second one."""
        if not request.gateway_refund_id:
            return await self.refund(request)
        answer = await self._call("GET", f"/v1/refunds/{_seg(request.gateway_refund_id)}")
        return tf.map_refund(answer, request)

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        """The attempt's current status: by payment id, else by the order's payments, else by
        looking the order up by its receipt (our attempt id) -- a crash can leave an attempt
        whose order id was never recorded; no order at all means nothing was charged."""
        if ref.gateway_reference:
            return await self._fetch_payment(ref)
        if not ref.gateway_order_id:
            found = tf.map_orders_by_receipt(
                await self._call("GET", f"/v1/orders?receipt={quote(ref.attempt_id, safe='')}"), ref.attempt_id
            )
            if isinstance(found, ChargeResult):
                return found
            ref = msgspec.structs.replace(ref, gateway_order_id=found)
        answer = await self._call("GET", f"/v1/orders/{_seg(ref.gateway_order_id or '')}/payments")
        return tf.map_order_payments(answer, ref)

    async def _fetch_payment(self, ref: AttemptRef) -> ChargeResult:
        assert ref.gateway_reference
        answer = await self._call("GET", f"/v1/payments/{_seg(ref.gateway_reference)}")
        return tf.map_payment_answer(answer, ref)

    # --- inbound ------------------------------------------------------------------------

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """``X-Razorpay-Signature`` and the HMAC of the raw body it must equal (webhook secret)."""
        return events.webhook_proof(headers, body, self._creds.webhook_secret)

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Map a verified webhook body; ``ValueError`` on garbage."""
        return events.parse_webhook_body(headers, body)

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Check a browser callback against the order id *we* stored.

        Success form: ``UNKNOWN`` + payment id ("verified, confirm by sync"); a tampered or
        foreign one: ``None``. Error form (unsigned by Razorpay): ``UNKNOWN`` to confirm by
        sync, never final.
        """
        kind = events.callback_kind(params)
        if kind == "error":
            return events.error_callback_result(params, ref)
        if kind != "success" or not ref.gateway_order_id:
            return None
        payment_id = params["razorpay_payment_id"]
        if not signing.verify_razorpay_payment_signature(
            ref.gateway_order_id, payment_id, params["razorpay_signature"], self._creds.key_secret
        ):
            return None
        return events.verified_callback_result(payment_id, ref)

    async def aclose(self) -> None:
        """Nothing to release: the shared HTTP client belongs to the engine."""

    # --- transport ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: object | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> http.HttpResult:
        return await http.send(self._client, method, self._base + path, json=json, auth=self._auth, headers=headers)


def _seg(value: str) -> str:
    """An id as one URL path segment (ids come from gateways and callbacks: never trust them)."""
    return quote(value, safe="")
