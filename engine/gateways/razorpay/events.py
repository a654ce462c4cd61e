"""Pure mapping of Razorpay's inbound messages: webhooks and browser callbacks (no IO).

This module says what is signed -- a webhook's proof (``webhook_proof``: the header it presents
and the HMAC it must equal; ``engine.gateways.common.webhook_verified`` compares them) -- and maps
verified content to the engine's types. The connector checks browser callbacks through
``engine.signing``.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from engine import signing
from engine.gateways.base import AttemptRef, ChargeResult, Outcome, WebhookEvent, WebhookProof
from engine.gateways.razorpay.transformers import map_payment, map_refund_entity, notes_get
from engine.gateways.razorpay.wire import WebhookEnvelope

SIGNATURE_HEADER = "x-razorpay-signature"
EVENT_ID_HEADER = "x-razorpay-event-id"

_webhook_decoder = msgspec.json.Decoder(WebhookEnvelope)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value by case-insensitive name (``name`` given in lower case)."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def webhook_proof(headers: Mapping[str, str], body: bytes, webhook_secret: str) -> WebhookProof | None:
    """``X-Razorpay-Signature`` as presented, and the hex HMAC-SHA256 of the raw ``body`` under the
    webhook secret (not the API key secret) it must equal (§2.5); ``None`` without the header."""
    signature = header(headers, SIGNATURE_HEADER)
    if not signature:
        return None
    expected = signing.razorpay_webhook_signature(body, webhook_secret)
    # "replace": a header that is not even UTF-8-encodable still yields a (failing) proof.
    return WebhookProof("razorpay-hmac-sha256", signature.encode("utf-8", "replace"), expected.encode())


def parse_webhook_body(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """Map a (verified) webhook body to a ``WebhookEvent``. Raises ``ValueError`` on garbage.

    Every entity the payload carries is mapped, whatever the event name: a payment entity
    gives ``charge`` (e.g. ``payment.failed`` -> DECLINED with its decline code, ``order.paid``
    -> CAPTURED), a refund entity gives ``refund``. Our references come back through the
    payment's ``notes.attempt_id`` and the refund's ``notes.refund_id`` (or ``receipt``).
    """
    try:
        envelope = _webhook_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError("not a Razorpay webhook body") from exc
    if envelope.entity != "event" or not envelope.event:
        raise ValueError("not a Razorpay event")
    payload = envelope.payload
    payment = payload.payment.entity if payload.payment else None
    refund = payload.refund.entity if payload.refund else None
    order = payload.order.entity if payload.order else None
    if payment is None and refund is None and order is None:
        raise ValueError("Razorpay event without an entity")

    charge = map_payment(payment) if payment is not None else None
    refund_result = map_refund_entity(refund) if refund is not None else None
    refund_reference = None
    if refund is not None:
        refund_reference = notes_get(refund.notes, "refund_id") or refund.receipt or None
    pay_id = payment.id if payment else (refund.payment_id if refund else None)
    order_id = (payment.order_id if payment else None) or (order.id if order else None)
    attempt_id = notes_get(payment.notes, "attempt_id") if payment else None
    if attempt_id is None and order is not None:
        attempt_id = order.receipt  # our attempt id is the order's receipt

    event_id = header(headers, EVENT_ID_HEADER)
    if not event_id:
        # No delivery id: derive one that is the same for every retry of this state change.
        if refund is not None:
            entity_id, status = refund.id, refund.status
        elif payment is not None:
            entity_id, status = payment.id, payment.status
        else:
            assert order is not None
            entity_id, status = order.id, order.status
        event_id = f"{envelope.event}:{entity_id}:{status or ''}"
    return WebhookEvent(
        event_id=event_id,
        event_type=envelope.event,
        gateway_reference=pay_id,
        gateway_order_id=order_id,
        attempt_id=attempt_id,
        charge=charge,
        refund=refund_result,
        refund_reference=refund_reference,
    )


def callback_kind(params: Mapping[str, str]) -> str | None:
    """``"success"`` (signed checkout form), ``"error"`` (unsigned error form) or ``None``."""
    if params.get("razorpay_payment_id") and params.get("razorpay_signature"):
        return "success"
    if params.get("error[code]") or params.get("error[description]"):
        return "error"
    return None


def verified_callback_result(payment_id: str, ref: AttemptRef) -> ChargeResult:
    """The result of a callback whose signature verified.

    The signature proves Razorpay vouches that ``payment_id`` belongs to our order and reached a
    successful state -- but not whether it is authorized or already captured, nor its amount.
    So it is ``UNKNOWN`` with the payment id attached (``raw_status="callback_verified"``):
    "verified, confirm by status sync", which then yields the exact state.
    """
    return ChargeResult(
        Outcome.UNKNOWN,
        gateway_reference=payment_id,
        gateway_order_id=ref.gateway_order_id,
        raw_status="callback_verified",
    )


def error_callback_result(params: Mapping[str, str], ref: AttemptRef) -> ChargeResult:
    """The result of an error callback, which Razorpay does not sign.

    Anyone can post it, so it is never final: ``UNKNOWN`` with ``raw_status="callback_error"``
    tells the engine to confirm by a status sync. The payment id inside ``error[metadata]`` is
    deliberately not trusted either; the sync lists the payments of *our* stored order.
    """
    return ChargeResult(
        Outcome.UNKNOWN,
        gateway_reference=ref.gateway_reference,
        gateway_order_id=ref.gateway_order_id,
        error_code=(params.get("error[reason]") or params.get("error[code]") or None),
        error_message=params.get("error[description]") or None,
        raw_status="callback_error",
    )
