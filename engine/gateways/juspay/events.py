"""Pure mapping of Juspay's inbound messages: webhooks and the signed return-URL redirect.

* **Webhooks** (reference §4.8) authenticate with HTTP Basic (the dashboard's username and
  password; ``webhook_proof`` declares them, the core compares); no HMAC body signature is
  documented. Body:
  ``{"id", "date_created", "event_name", "content": {"order": {...order status...}}}``.
* **Return URL** (§4.7): ``order_id``, ``status``, ``status_id``, ``signature``,
  ``signature_algorithm=HMAC-SHA256``. The signature is base64(HMAC-SHA256(response key, M))
  where M is every other parameter, key and value percent-encoded, sorted by encoded key,
  joined ``k=v`` with ``&``, and the whole string percent-encoded again. The percent-encoding
  flavour is UNCONFIRMED: RFC 3986 (``quote(s, safe="")``, what the sandbox uses) is tried
  first, then form encoding (``quote_plus``); they differ only for spaces and a few symbols.

HMACs and comparisons go through ``engine.signing`` (constant time).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import msgspec

from engine import signing
from engine.gateways.base import AttemptRef, ChargeResult, WebhookEvent, WebhookProof
from engine.gateways.juspay.transformers import map_order, map_refund_item
from engine.money import to_decimal_string

UNSIGNED_PARAMS = frozenset({"signature", "signature_algorithm"})
# Refund events and the refund status each one reports.
REFUND_EVENTS: dict[str, str] = {
    "ORDER_REFUNDED": "SUCCESS",
    "ORDER_REFUND_FAILED": "FAILURE",
    "REFUND_MANUAL_REVIEW_NEEDED": "MANUAL_REVIEW",
}


def _rfc3986(value: str) -> str:
    return quote(value, safe="")


def return_url_message(params: Mapping[str, str], encode: Callable[[str], str] = _rfc3986) -> str:
    """The string Juspay signs for a return-URL redirect."""
    pairs = sorted((encode(k), encode(v)) for k, v in params.items() if k not in UNSIGNED_PARAMS)
    return encode("&".join(f"{k}={v}" for k, v in pairs))


def return_url_signature(params: Mapping[str, str], response_key: str, encode: Callable[[str], str] = _rfc3986) -> str:
    """base64(HMAC-SHA256(response key, message)) -- built from ``signing.hmac_sha256_hex``."""
    digest = signing.hmac_sha256_hex(response_key, return_url_message(params, encode))
    return base64.b64encode(bytes.fromhex(digest)).decode("ascii")


def verify_return_url(params: Mapping[str, str], response_key: str) -> bool:
    """True when ``params`` carry a valid Juspay return-URL signature (either encoding).

    The received value may still be percent-encoded once (Juspay's docs show it double-encoded
    in the URL), and a ``+`` may have been decoded to a space by form-style query parsing.
    """
    received = params.get("signature")
    if not isinstance(received, str) or not received:
        return False
    if params.get("signature_algorithm", "HMAC-SHA256") != "HMAC-SHA256":
        return False
    candidates = {received, received.replace(" ", "+")}
    if "%" in received:
        candidates.add(unquote(received))
    for encode in (_rfc3986, quote_plus):
        expected = return_url_signature(params, response_key, encode)
        if any(signing.constant_time_equal(expected, candidate) for candidate in candidates):
            return True
    return False


def webhook_proof(headers: Mapping[str, str], username: str, password: str) -> WebhookProof | None:
    """The credentials an ``Authorization: Basic <base64(user:password)>`` header presents, and the
    dashboard's ``username:password`` they must equal (§4.8); ``None`` without such a header.

    The scheme is matched case-insensitively and any run of whitespace may separate it from the
    token (RFC 9110 §11.1, RFC 7617); the token must be strict base64. The decoded bytes are
    compared, so two spellings of the same credentials are one proof.
    """
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    parts = value.split(None, 1) if value else []
    if len(parts) != 2 or parts[0].lower() != "basic":
        return None
    try:
        presented = base64.b64decode(parts[1].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return WebhookProof("http-basic", presented, f"{username}:{password}".encode())


def parse_webhook_body(body: bytes) -> WebhookEvent:
    """Map an authenticated webhook to an event. Raises ``ValueError`` on garbage.

    Payment events map the order's status (``charge``); refund events map the refund whose
    status the event announces -- the latest such refund of the order (``refund``, with our
    ``unique_request_id`` as ``refund_reference``). Our attempt id comes back in ``udf6``.
    """
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise ValueError("not a Juspay webhook body") from exc
    content = data.get("content") if isinstance(data, dict) else None
    order = content.get("order") if isinstance(content, dict) else None
    name = data.get("event_name") if isinstance(data, dict) else None
    if not isinstance(order, dict) or not isinstance(name, str) or not isinstance(order.get("order_id"), str):
        raise ValueError("not a Juspay order event")
    event_id = data.get("id") if isinstance(data.get("id"), str) else None
    common: dict[str, Any] = {
        "event_type": name,
        "gateway_reference": _s(order.get("txn_uuid")),
        "gateway_order_id": order["order_id"],
        "attempt_id": _s(order.get("udf6")),
    }
    if name in REFUND_EVENTS:
        wanted = REFUND_EVENTS[name]
        refunds = [r for r in order.get("refunds") or [] if isinstance(r, dict) and r.get("status") == wanted]
        if not refunds or not isinstance(refunds[-1].get("unique_request_id"), str):
            raise ValueError("Juspay refund event without the refund it announces")
        request_id = refunds[-1]["unique_request_id"]
        return WebhookEvent(
            event_id=event_id or f"{name}:{order['order_id']}:{request_id}",
            refund=map_refund_item(refunds[-1], request_id),
            refund_reference=request_id,
            **common,
        )
    fallback_id = f"{name}:{order['order_id']}:{order.get('status')}"
    return WebhookEvent(event_id=event_id or fallback_id, charge=map_order(order, None), **common)


def callback_result(params: Mapping[str, str], ref: AttemptRef, order_id: str) -> ChargeResult | None:
    """Map a *verified* return-URL redirect for our order; ``None`` for another order.

    The signature covers ``order_id`` and ``status`` but not the amount; the order was created
    by us for ``ref.amount`` and cannot change without our API key, so a signed ``CHARGED`` is
    a capture of that amount (the engine still confirms with ``sync``).
    """
    if params.get("order_id") != order_id:
        return None
    order = {
        "order_id": order_id,
        "status": params.get("status"),
        "amount": to_decimal_string(ref.amount, ref.currency),
        "currency": ref.currency,
    }
    return map_order(order, ref)


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
