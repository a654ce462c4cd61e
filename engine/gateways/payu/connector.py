"""The PayU connector: flows and IO. Mapping lives in ``builders``, ``transformers``, ``events``.

Flows (reference/gateways.md §3; PayU "merchant hosted" server-to-server integration):

* authorize -- ``POST /_payment`` (form, request hash, ``txn_s2s_flow`` so PayU answers JSON).
  Signed response fields are mapped (success / decline); a pending card, netbanking or wallet
  payment with an ``issuerUrl`` is ``REQUIRES_ACTION``; UPI collect is ``PROCESSING``.
  ``txnid`` is derived from our attempt id (``builders.txnid_for``), so status sync works from
  the attempt alone.
* sync -- command ``verify_payment`` (``var1`` = txnid).
* refund -- command ``cancel_refund_transaction`` (``var1`` mihpayid, ``var2`` token = our refund
  id, ``var3`` amount), asynchronous (``PENDING``); ``refund_status`` -- ``check_action_status``
  by PayU's request id.
* capture / void -- PayU's auth-only mode is an account setting this connector does not use
  (registry ``manual_capture=False``): ``capture`` confirms an already captured payment,
  ``void`` is refused.
* callbacks and webhooks -- the reverse hash (with or without ``additionalCharges``): callbacks
  checked through ``engine.signing`` in constant time, webhooks declared as a ``WebhookProof``
  that the core compares (``common.webhook_verified``).

Command API host: PayU serves ``_payment`` on ``secure.payu.in`` but commands on
``info.payu.in`` in production (test: both on ``test.payu.in``); any other base URL (a sandbox)
serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

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
from engine.gateways.payu import builders, events
from engine.gateways.payu import transformers as tf
from engine.money import to_decimal_string

COMMAND_PATH = "/merchant/postservice.php?form=2"
_COMMAND_HOSTS = {"secure.payu.in": "https://info.payu.in"}


class PayuCredentials(msgspec.Struct, frozen=True):
    """One PayU account. ``repr`` shows the key only, never the salt."""

    key: str
    salt: str

    def __repr__(self) -> str:
        return f"PayuCredentials(key={self.key!r}, salt=***)"


class PayuConnector:
    """``GatewayConnector`` for one PayU account, over the engine's shared ``http.GatewayClient``."""

    name = "payu"

    def __init__(self, credentials: PayuCredentials, *, base_url: str, client: http.GatewayClient) -> None:
        self._creds = credentials
        self._base = base_url.rstrip("/")
        self._client = client
        host = urlsplit(self._base).hostname or ""
        self._command_base = _COMMAND_HOSTS.get(host, self._base)
        self._trusted_hosts = trusted_hosts_of(self._base)

    def __repr__(self) -> str:
        return f"PayuConnector(key={self._creds.key!r}, base_url={self._base!r})"

    # --- payments -----------------------------------------------------------------------

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        """One S2S ``_payment``. Never raises for gateway answers."""
        if request.currency != "INR":  # PayU India settles INR (multi-currency needs enablement)
            return ChargeResult(Outcome.RETRYABLE, error_code="currency_unsupported",
                                error_message="PayU accepts INR only")  # fmt: skip
        if not request.capture:
            return ChargeResult(Outcome.RETRYABLE, error_code="manual_capture_unsupported",
                                error_message="this PayU connector captures at once")  # fmt: skip
        try:
            form = builders.payment_form(request, key=self._creds.key, salt=self._creds.salt)
        except builders.UnsupportedMethod as exc:
            return ChargeResult(Outcome.DECLINED, decline_code="invalid_request",
                                error_code="payment_method_unsupported", error_message=str(exc))  # fmt: skip
        ref = AttemptRef(request.attempt_id, None, form["txnid"], request.amount, request.currency)
        answer = await self._post(self._base + "/_payment", form)
        return tf.map_payment(answer, self._creds.salt, form["txnid"], ref, trusted_hosts=self._trusted_hosts)

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        """The attempt's status from ``verify_payment`` (by txnid)."""
        txnid = ref.gateway_order_id or builders.txnid_for(ref.attempt_id)
        answer = await self._command("verify_payment", txnid)
        return tf.map_verify(answer, txnid, ref)

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        """PayU captured at payment time: confirm that, or refuse (no authorization exists)."""
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
        """Queue a refund of ``request.amount``; the engine refund id is PayU's token."""
        mihpayid = request.ref.gateway_reference
        if not mihpayid:  # PayU refunds by its own payment id: learn it from verify_payment
            mihpayid = (await self.sync(request.ref)).gateway_reference
            if not mihpayid:
                return RefundResult(RefundOutcome.FAILED, error_code="missing_payment_reference",
                                    error_message="no PayU mihpayid for this attempt")  # fmt: skip
        amount = to_decimal_string(request.amount, request.currency)
        answer = await self._command("cancel_refund_transaction", mihpayid, request.refund_id, amount)
        result = tf.map_refund(answer)
        if result.error_code and result.error_code.startswith("refund_exists") and request.gateway_refund_id:
            # A retried refund (token already used): report the first request's state.
            return await self.refund_status(request)
        return result

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        """The refund's state by PayU's request id (``check_action_status``). Without one (the
        refund's answer never arrived) PayU cannot be asked: ``NO_REFUND``, i.e. send it again --
        PayU refuses a second refund under our token and that is reported as the first one."""
        request_id = request.gateway_refund_id
        if not request_id:
            return RefundResult(RefundOutcome.UNKNOWN, error_code=NO_REFUND)
        return tf.map_action_status(await self._command("check_action_status", request_id), request_id)

    # --- inbound ------------------------------------------------------------------------

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """The posted hash, and the reverse hash (payments) or refund hash it must equal."""
        fields = events.webhook_fields(body)
        return None if fields is None else events.webhook_proof(fields, self._creds.key, self._creds.salt)

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        """Map a verified webhook body; ``ValueError`` on garbage."""
        fields = events.webhook_fields(body)
        if fields is None:
            raise ValueError("not a PayU webhook body")
        return events.parse(fields)

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Check the surl/furl callback's reverse hash and that it is about *our* txnid.

        The hash covers status, amount and txnid, so a verified callback maps to its outcome;
        the engine still confirms it with ``sync``.
        """
        if not tf.verify_fields(params, self._creds.salt):
            return None
        txnid = ref.gateway_order_id or builders.txnid_for(ref.attempt_id)
        return events.callback_result(params, ref, txnid, self._creds.key)

    async def aclose(self) -> None:
        """Nothing to release: the shared HTTP client belongs to the engine."""

    # --- transport ----------------------------------------------------------------------

    async def _command(self, command: str, var1: str, *more: str) -> http.HttpResult:
        form = builders.command_form(self._creds.key, self._creds.salt, command, var1, *more)
        return await self._post(self._command_base + COMMAND_PATH, form)

    async def _post(self, url: str, form: Mapping[str, str]) -> http.HttpResult:
        return await http.send(self._client, "POST", url, form=form)
