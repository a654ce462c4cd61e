"""Pure mapping of PayU's inbound messages: surl/furl callbacks and webhooks (no IO).

* **Payment webhooks and browser callbacks** carry the transaction's response fields with the
  reverse ``hash`` (reference §3.3; form-encoded -- the webhook content type is UNCONFIRMED, so
  a flat JSON object of strings is accepted too).
* **Refund webhooks** (PayU's "refund status callback") are JSON. PayU documents *no*
  signature on them; this connector only accepts one carrying
  ``hash = sha512(SALT|status|amt|request_id|mihpayid|key)`` -- the scheme the sandbox adds, in
  PayU's reverse-hash style (assumption). An unsigned refund callback is rejected: the refund is
  then settled by ``refund_status`` instead of trusting an unauthenticated body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from engine import signing
from engine.gateways.base import AttemptRef, ChargeResult, WebhookEvent, WebhookProof
from engine.gateways.payu.transformers import HASH_FIELD, map_fields, map_refund_item


def webhook_fields(body: bytes) -> dict[str, Any] | None:
    """The webhook's fields (form or JSON object); ``None`` when neither. Never raises."""
    stripped = body.strip()
    if stripped.startswith(b"{"):
        try:
            data = msgspec.json.decode(stripped)
        except msgspec.DecodeError:
            return None
        return data if isinstance(data, dict) else None
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        return None


def is_refund(fields: Mapping[str, Any]) -> bool:
    """A refund status callback (``action: refund``) rather than a payment webhook."""
    return fields.get("action") in ("refund", "cancel") and "request_id" in fields


def refund_hash(fields: Mapping[str, Any], salt: str) -> str:
    """``sha512(SALT|status|amt|request_id|mihpayid|key)`` of a refund callback."""
    parts = [salt, *(str(fields.get(name) or "") for name in ("status", "amt", "request_id", "mihpayid", "key"))]
    return signing.sha512_hex("|".join(parts))


def webhook_proof(fields: Mapping[str, Any], key: str, salt: str) -> WebhookProof | None:
    """The posted ``hash`` and the hash it must equal for the account ``key`` / ``salt``: the
    refund hash for a refund callback, else the reverse hash (§3.3, ``additionalCharges``
    prefixed when posted). ``None`` without a hash, or for a payment body with non-text fields.

    Both are computed over *our* ``key`` in place of the posted one, so a message for another
    PayU account cannot match (the salt alone would not tell two accounts apart).
    """
    received = fields.get(HASH_FIELD)
    if not isinstance(received, str) or not received.strip():
        return None
    presented = received.strip().lower().encode("utf-8", "replace")  # PayU posts lower-case hex
    ours = {**fields, "key": key}
    if is_refund(fields):
        return WebhookProof("payu-refund-sha512", presented, refund_hash(ours, salt).encode())
    if not all(isinstance(value, str) for value in fields.values()):
        return None
    charges = fields.get("additionalCharges") or fields.get("additional_charges") or None
    return WebhookProof("payu-reverse-sha512", presented, signing.payu_reverse_hash(ours, salt, charges).encode())


def parse(fields: Mapping[str, Any]) -> WebhookEvent:
    """Map verified webhook fields to an event. Raises ``ValueError`` on a non-PayU body.

    Payment events: our attempt id comes back in ``udf2``, PayU's ``txnid`` is the gateway order
    id. Refund events: the ``token`` is our refund id. Event ids are derived from the state
    change (PayU sends none), so retries of one notification share one id.
    """
    if is_refund(fields):
        request_id = str(fields["request_id"])
        status = str(fields.get("status") or "")
        return WebhookEvent(
            event_id=f"refund:{request_id}:{status}",
            event_type=f"refund.{status or 'unknown'}",
            gateway_reference=_s(fields.get("mihpayid")),
            gateway_order_id=_s(fields.get("merchantTxnId")),
            refund=map_refund_item(fields, request_id),
            refund_reference=_s(fields.get("token")),
        )
    status, mihpayid, txnid = _s(fields.get("status")), _s(fields.get("mihpayid")), _s(fields.get("txnid"))
    if not status or not txnid:
        raise ValueError("PayU webhook without status or txnid")
    return WebhookEvent(
        event_id=f"payment:{mihpayid or txnid}:{status}:{fields.get('unmappedstatus') or ''}",
        event_type=f"payment.{status}",
        gateway_reference=mihpayid,
        gateway_order_id=txnid,
        attempt_id=_s(fields.get("udf2")),
        charge=map_fields(fields, None, None),
    )


def callback_result(fields: Mapping[str, str], ref: AttemptRef, txnid: str, key: str) -> ChargeResult | None:
    """Map a *verified* surl/furl callback for our attempt; ``None`` when it is another
    account's or another transaction's (a valid hash on someone else's callback proves nothing)."""
    if fields.get("key") != key or fields.get("txnid") != txnid:
        return None
    return map_fields(fields, ref, txnid)


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
