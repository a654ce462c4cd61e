"""Pure mapping of Paytm's inbound messages: browser callbacks and webhooks (no IO).

Two signed shapes arrive (reference §1.5-1.6):

* **form fields** with ``CHECKSUMHASH`` -- the browser callback (form POST to ``callbackUrl``)
  and the payment-status webhook. PaytmChecksum dict mode signs the values of *all* other
  posted fields in sorted-key order. The webhook's encoding is UNCONFIRMED (form assumed),
  so a flat JSON object of strings is accepted too.
* **``{"head": {"signature"}, "body": {...}}`` JSON** -- the refund webhook ("Accept Refund"):
  the signature covers the exact ``body`` text.

This module says what is signed -- a webhook's proof (``webhook_proof``: the checksum presented
and the one the content must carry; ``engine.gateways.common.webhook_verified`` compares them) --
and maps verified content. The connector checks browser callbacks through ``engine.signing``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from engine import signing
from engine.gateways.base import AttemptRef, ChargeResult, RefundOutcome, RefundResult, WebhookEvent, WebhookProof
from engine.gateways.paytm import codes
from engine.gateways.paytm.transformers import map_txn_fields
from engine.gateways.paytm.wire import Envelope

CHECKSUM_FIELD = "CHECKSUMHASH"
_envelope = msgspec.json.Decoder(Envelope)


class Signed(msgspec.Struct, frozen=True):
    """What a webhook's signature covers: form ``fields`` (dict mode) or a JSON ``text``."""

    signature: str
    fields: dict[str, str] | None = None
    text: str | None = None


def signed_parts(body: bytes) -> Signed | None:
    """Split a webhook body into its signature and the signed content; ``None`` when unsigned
    or not a Paytm shape. Never raises."""
    stripped = body.strip()
    if stripped.startswith(b"{"):
        try:
            envelope = _envelope.decode(stripped)
        except (msgspec.DecodeError, msgspec.ValidationError):
            envelope = None
        if envelope is not None and envelope.head.signature:
            return Signed(envelope.head.signature, text=bytes(envelope.body).decode("utf-8", "replace"))
        try:
            data = msgspec.json.decode(stripped)
        except msgspec.DecodeError:
            return None
        fields = _string_fields(data)
    else:
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return None
    if fields is None or not fields.get(CHECKSUM_FIELD):
        return None
    checksum = fields.pop(CHECKSUM_FIELD)
    return Signed(checksum, fields=fields)


def webhook_proof(body: bytes, merchant_key: str) -> WebhookProof | None:
    """The checksum a webhook presents (``CHECKSUMHASH`` or ``head.signature``), and the checksum
    its content must carry under ``merchant_key`` (§1.2); ``None`` when unsigned, or when the
    presented value is no PaytmChecksum under this key.

    PaytmChecksum salts each checksum with 4 random characters sealed inside it: the salt is
    recovered from the presented checksum (``signing.paytm_checksum_salt``), and the checksum is
    regenerated over the content with that salt. AES-CBC with Paytm's fixed IV is deterministic,
    so authentic content under our key reproduces the presented checksum exactly.
    """
    signed = signed_parts(body)
    if signed is None:
        return None
    salt = signing.paytm_checksum_salt(signed.signature, merchant_key)
    if salt is None:
        return None
    content: dict[str, str] | str = signed.fields if signed.fields is not None else signed.text or ""
    expected = signing.paytm_generate_checksum(content, merchant_key, salt)
    return WebhookProof("paytm-checksum", signed.signature.encode("utf-8", "replace"), expected.encode())


def parse_webhook_body(signed: Signed) -> WebhookEvent:
    """Map a verified webhook to an event. Raises ``ValueError`` on a body that is no Paytm event.

    Our attempt id is Paytm's ``ORDERID`` (the connector sends it as ``orderId``); a refund's
    ``refId`` is our refund id. Paytm sends no event id, so one is derived from the state
    change itself -- the same for every retry of one notification.
    """
    if signed.fields is not None:
        return _payment_event(signed.fields)
    assert signed.text is not None
    try:
        body = msgspec.json.decode(signed.text)
    except msgspec.DecodeError as exc:
        raise ValueError("not a Paytm webhook body") from exc
    if not isinstance(body, dict):
        raise ValueError("not a Paytm webhook body")
    if body.get("refId") or body.get("refundId"):
        return _refund_event(body)
    upper = {k.upper(): v for k, v in body.items() if isinstance(v, str)}
    upper.setdefault("STATUS", _nested_status(body))
    return _payment_event(upper)


def callback_result(fields: Mapping[str, str], ref: AttemptRef, order_id: str, mid: str) -> ChargeResult | None:
    """Map a *verified* callback for our attempt; ``None`` when it is about another order or
    merchant (a valid signature on someone else's callback proves nothing about ours)."""
    if fields.get("ORDERID") != order_id or fields.get("MID", mid) != mid:
        return None
    result = map_txn_fields(fields, ref)
    return msgspec.structs.replace(result, gateway_order_id=order_id)


def _payment_event(fields: Mapping[str, str]) -> WebhookEvent:
    order_id = fields.get("ORDERID")
    status = fields.get("STATUS")
    if not order_id or not status:
        raise ValueError("Paytm payment webhook without ORDERID or STATUS")
    txn_id = fields.get("TXNID") or None
    charge = map_txn_fields(fields, None)
    return WebhookEvent(
        event_id=f"payment:{order_id}:{txn_id or ''}:{status}",
        event_type=f"payment.{status.lower()}",
        gateway_reference=txn_id,
        gateway_order_id=order_id,
        attempt_id=order_id,
        charge=charge,
    )


def _refund_event(body: Mapping[str, Any]) -> WebhookEvent:
    status = _s(body.get("status")) or _nested_status(body)
    if not status:
        raise ValueError("Paytm refund webhook without a status")
    outcome = codes.REFUND_STATUS.get(status, RefundOutcome.PENDING)
    failed = outcome is RefundOutcome.FAILED
    refund_id = _s(body.get("refundId"))
    ref_id = _s(body.get("refId"))
    order_id = _s(body.get("orderId"))
    return WebhookEvent(
        event_id=f"refund:{refund_id or ref_id}:{status}",
        event_type=f"refund.{status.lower()}",
        gateway_reference=_s(body.get("txnId")),
        gateway_order_id=order_id,
        attempt_id=order_id,
        refund=RefundResult(
            outcome,
            refund_id,
            error_code=_s(body.get("rejectRefundReasonCode")) if failed else None,
            error_message=_s(body.get("rejectRefundReasonMessage")) if failed else None,
        ),
        refund_reference=ref_id,
    )


def _nested_status(body: Mapping[str, Any]) -> str | None:
    info = body.get("resultInfo")
    return _s(info.get("resultStatus")) if isinstance(info, dict) else None


def _string_fields(data: object) -> dict[str, str] | None:
    # PaytmChecksum's dict mode lower-cases values: only string values can be signed.
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return dict(data)


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
