"""The Paytm connector: flows and IO. Mapping lives in ``builders``, ``transformers``, ``events``.

Flows (reference/gateways.md §1; Paytm "custom checkout" server-to-server APIs):

* authorize -- ``POST /theia/api/v1/initiateTransaction?mid&orderId`` (signed; returns the
  ``txnToken``), then ``POST /theia/api/v1/processTransaction?mid&orderId`` with the card, VPA,
  bank code or wallet (authenticated by the token). A bank form is ``REQUIRES_ACTION``; UPI
  collect is ``PROCESSING``; a success reported inline is confirmed with the status API.
  ``orderId`` is always our attempt id (each attempt is a new Paytm order), so status sync
  works from the attempt alone.
* sync -- ``POST /v3/order/status`` (signed request; the answer's signature is required).
* refund -- ``POST /refund/apply`` with ``refId`` = our refund id. Paytm refunds are
  asynchronous (``PENDING`` until the refund webhook or ``refund_status``). A refused or lost
  answer is checked with ``POST /v2/refund/status``, so a retried refund (Paytm rejects a
  repeated refId) reports the first one's state instead of failing.
* capture / void -- Paytm's plain payments are captured at once (its pre-auth product is not
  implemented here; the registry declares ``manual_capture=False``): ``capture`` only confirms
  an already captured payment, ``void`` is refused.
* callbacks and webhooks -- PaytmChecksum (``CHECKSUMHASH`` over the posted fields, or
  ``head.signature`` over a JSON body): callbacks verified through ``engine.signing``, webhooks
  declared as a ``WebhookProof`` that the core compares (constant time).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import msgspec

from engine import signing
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
from engine.gateways.paytm import builders, codes, events
from engine.gateways.paytm import transformers as tf


class PaytmCredentials(msgspec.Struct, frozen=True):
    """One Paytm account. ``repr`` shows the MID only, never the merchant key.

    ``website`` is the ``websiteName`` Paytm issued (``WEBSTAGING`` on staging, ``DEFAULT`` or
    as issued in production).
    """

    mid: str
    merchant_key: str
    website: str = "DEFAULT"

    def __repr__(self) -> str:
        return f"PaytmCredentials(mid={self.mid!r}, merchant_key=***, website={self.website!r})"


class PaytmConnector:
    """``GatewayConnector`` for one Paytm account, over the engine's shared ``http.GatewayClient``."""

    name = "paytm"

    def __init__(self, credentials: PaytmCredentials, *, base_url: str, client: http.GatewayClient) -> None:
        if len(credentials.merchant_key.encode()) not in (16, 24, 32):
            # PaytmChecksum keys the AES cipher with it: fail at configuration, not per request.
            raise ValueError("paytm credentials need a 'merchant_key' of 16, 24 or 32 bytes")
        self._creds = credentials
        self._base = base_url.rstrip("/")
        self._client = client
        self._trusted_hosts = trusted_hosts_of(self._base)

    def __repr__(self) -> str:
        return f"PaytmConnector(mid={self._creds.mid!r}, base_url={self._base!r})"

    # --- payments -----------------------------------------------------------------------

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        """Initiate, then process the attempt. Never raises for gateway answers."""
        if request.currency != "INR":  # Paytm PG settles INR only (reference §1.7)
            return ChargeResult(Outcome.RETRYABLE, error_code="currency_unsupported",
                                error_message="Paytm accepts INR only")  # fmt: skip
        if not request.capture:
            return ChargeResult(Outcome.RETRYABLE, error_code="manual_capture_unsupported",
                                error_message="this Paytm connector captures at once")  # fmt: skip
        try:
            process = builders.process_body(request, mid=self._creds.mid)
        except builders.UnsupportedMethod as exc:
            return ChargeResult(Outcome.DECLINED, decline_code="invalid_request",
                                error_code="payment_method_unsupported", error_message=str(exc))  # fmt: skip
        order_id = request.attempt_id
        initiate = builders.initiate_body(request, mid=self._creds.mid, website=self._creds.website)
        token = tf.map_initiate(
            await self._signed("/theia/api/v1/initiateTransaction", initiate, order_id), self._creds.merchant_key
        )
        if isinstance(token, ChargeResult):
            return msgspec.structs.replace(token, gateway_order_id=order_id)
        answer = await self._post(
            "/theia/api/v1/processTransaction" + self._query(order_id),
            builders.with_token(process, token, now=int(time.time())),
        )
        result = tf.map_process(answer, self._creds.merchant_key, order_id, trusted_hosts=self._trusted_hosts)
        if result.outcome is Outcome.UNKNOWN and result.raw_status == "confirm":
            # A success reported inline is believed only from the signed status API.
            return await self.sync(AttemptRef(request.attempt_id, result.gateway_reference, order_id,
                                              request.amount, request.currency))  # fmt: skip
        return result

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        """The attempt's current status from the v3 status API (by our order id)."""
        order_id = ref.gateway_order_id or ref.attempt_id
        answer = await self._signed("/v3/order/status", builders.status_body(order_id, mid=self._creds.mid))
        return tf.map_status(answer, self._creds.merchant_key, ref, order_id)

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        """Paytm captured at payment time: confirm that, or refuse (no authorization exists)."""
        current = await self.sync(ref)
        if current.outcome in (Outcome.CAPTURED, Outcome.UNKNOWN):
            return current
        return ChargeResult(Outcome.DECLINED, current.gateway_reference, current.gateway_order_id,
                            decline_code="capture_failed", error_code="capture_unsupported",
                            raw_status=current.raw_status)  # fmt: skip

    async def void(self, ref: AttemptRef) -> ChargeResult:
        """Refused: this connector never leaves an authorization open to void."""
        return ChargeResult(Outcome.DECLINED, ref.gateway_reference, ref.gateway_order_id,
                            decline_code="void_failed", error_code="void_unsupported")  # fmt: skip

    # --- refunds ------------------------------------------------------------------------

    async def refund(self, request: RefundRequest) -> RefundResult:
        """Refund ``request.amount`` (asynchronous at Paytm: usually ``PENDING``)."""
        ref = request.ref
        order_id = ref.gateway_order_id or ref.attempt_id
        txn_id = ref.gateway_reference
        if not txn_id:  # Paytm needs its TXNID: learn it from the status API
            txn_id = (await self.sync(ref)).gateway_reference
            if not txn_id:
                return RefundResult(RefundOutcome.FAILED, error_code="missing_payment_reference",
                                    error_message="no Paytm TXNID for this attempt")  # fmt: skip
        body = builders.refund_body(request, mid=self._creds.mid, order_id=order_id, txn_id=txn_id)
        result = tf.map_refund(await self._signed("/refund/apply", body), self._creds.merchant_key, request)
        sent = result.error_code != "gateway_unavailable"
        if sent and result.outcome in (RefundOutcome.FAILED, RefundOutcome.UNKNOWN):
            # A repeated refId is refused, and a lost answer proves nothing: ask for our refId.
            known = await self.refund_status(request)
            if known.outcome in (RefundOutcome.PENDING, RefundOutcome.SUCCEEDED):
                return known
            if result.outcome is RefundOutcome.UNKNOWN and known.outcome is RefundOutcome.FAILED:
                return known
        return result

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        """The refund's current state by our refund id (``POST /v2/refund/status``)."""
        order_id = request.ref.gateway_order_id or request.ref.attempt_id
        body = builders.refund_status_body(request, mid=self._creds.mid, order_id=order_id)
        result = tf.map_refund(await self._signed("/v2/refund/status", body), self._creds.merchant_key, request)
        if result.outcome is RefundOutcome.FAILED and result.error_code == codes.RECORD_NOT_FOUND:
            # A status read that finds no refund proves only that none was made: not a failure.
            return RefundResult(RefundOutcome.UNKNOWN, error_code=NO_REFUND)
        return result

    # --- inbound ------------------------------------------------------------------------

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """The PaytmChecksum presented (``CHECKSUMHASH`` or ``head.signature``) and the one the
        posted fields or the JSON ``body`` text must carry under the merchant key."""
        return events.webhook_proof(body, self._creds.merchant_key)

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Map a verified webhook body; ``ValueError`` on garbage."""
        signed = events.signed_parts(body)
        if signed is None:
            raise ValueError("not a signed Paytm webhook")
        return events.parse_webhook_body(signed)

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Check the browser callback's ``CHECKSUMHASH`` and that it is about *our* order.

        Paytm signs every posted field (status, amount, TXNID), so a verified callback maps to
        its outcome; the engine still confirms it with ``sync``, as Paytm's docs ask.
        """
        checksum = params.get(events.CHECKSUM_FIELD)
        if not checksum:
            return None
        fields = {k: v for k, v in params.items() if k != events.CHECKSUM_FIELD}
        if not signing.paytm_verify_checksum(fields, self._creds.merchant_key, checksum):
            return None
        order_id = ref.gateway_order_id or ref.attempt_id
        return events.callback_result(fields, ref, order_id, self._creds.mid)

    async def aclose(self) -> None:
        """Nothing to release: the shared HTTP client belongs to the engine."""

    # --- transport ----------------------------------------------------------------------

    def _query(self, order_id: str) -> str:
        return "?" + urlencode({"mid": self._creds.mid, "orderId": order_id})

    async def _signed(self, path: str, body: msgspec.Struct, order_id: str | None = None) -> http.HttpResult:
        payload = builders.signed(body, self._creds.merchant_key, now=int(time.time()))
        return await self._post(path + (self._query(order_id) if order_id else ""), payload)

    async def _post(self, path: str, payload: dict[str, Any]) -> http.HttpResult:
        return await http.send(self._client, "POST", self._base + path, json=payload)
