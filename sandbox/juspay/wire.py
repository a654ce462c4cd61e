"""Juspay wire shapes: errors, statuses, the order object, the return-URL signature.

* Errors: ``{"status": "error", "error_code", "error_message"}`` with HTTP 400 (bad input, business
  rules), 401 (authentication), 404 (unknown object: ``object_not_found``). Capture / void in a state
  that does not allow it answer the shape of Juspay's pre-auth docs (:func:`invalid_state`).
* Amounts: decimal strings in requests (``"10.00"``), JSON numbers in responses (gateways.md §4.10).
* Return URL signature (§4.7): every query parameter except ``signature`` / ``signature_algorithm``;
  key and value each percent-encoded with ``urllib.parse.quote(s, safe="")`` (RFC 3986, ``%20`` for a
  space), pairs sorted by encoded key, joined ``k=v`` with ``&``, the whole string percent-encoded again
  the same way, HMAC-SHA256 with the response key, standard base64. It travels in the query string
  percent-encoded once (decoding the query once gives the base64 text).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from sandbox.juspay.store import Order

MERCHANT_ID = "sandbox"
API_KEY = "sandbox_api_key"
RESPONSE_KEY = "sandbox_response_key"
WEBHOOK_USER = "sandbox"
WEBHOOK_PASSWORD = "sandbox_webhook_password"  # noqa: S105 - the published sandbox test account

STATUS_IDS = {
    "CREATED": 1,
    "NEW": 10,
    "STARTED": 20,
    "CHARGED": 21,
    # Not in the status table; the Capture API says the transaction stays CHARGED, so its id.
    "PARTIAL_CHARGED": 21,
    "JUSPAY_DECLINED": 22,
    "PENDING_VBV": 23,
    "VBV_SUCCESSFUL": 24,
    "AUTHENTICATION_FAILED": 26,
    "AUTHORIZATION_FAILED": 27,
    "AUTHORIZING": 28,
    # Pre-auth (order metadata ``txns.auto_capture=false``). AUTHORIZED / 25: the AUTHORIZED order
    # status sample of Juspay's "Order Status & Webhook Payloads" page (Simpl pay-after-delivery
    # multiclaim); the others: Juspay's transaction status codes table (gateways.md §4.5).
    "AUTHORIZED": 25,
    "VOIDED": 31,
    "VOID_INITIATED": 32,
    "CAPTURE_INITIATED": 33,
    "CAPTURE_FAILED": 34,
    "VOID_FAILED": 35,
    "NOT_FOUND": 40,
}


class JuspayError(Exception):
    """An error answered in Juspay's format."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"status": "error", "error_code": code, "error_message": message}


def bad_request(message: str, code: str = "invalid_request") -> JuspayError:
    """HTTP 400."""
    return JuspayError(400, code, message)


def not_found(what: str) -> JuspayError:
    """HTTP 404 ``object_not_found``."""
    return JuspayError(404, "object_not_found", f"{what} not found")


def invalid_state(message: str) -> JuspayError:
    """HTTP 400 for a capture / void the transaction's state does not allow, as Juspay's Capture and
    Void API pages show it (e.g. ``Cannot Void CHARGED Transaction``)."""
    error = JuspayError(400, "Invalid", message)
    error.body = {
        "status": "Bad Request",
        "error_code": "Invalid",
        "error_message": message,
        "error_info": {
            "user_message": "Invalid request params. Please verify your input.",
            "developer_message": message,
            "code": "INVALID_INPUT",
            "category": "USER_ERROR",
        },
    }
    return error


def amount_of(value: Any, field: str = "amount") -> int:
    """Paise of a positive decimal amount (string or number) with at most two decimals."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise bad_request(f"Invalid {field}") from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise bad_request(f"Invalid {field}")
    return int(amount * 100)


def iso(ts: float) -> str:
    """``2023-08-10T07:00:48Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def major(minor: int) -> float:
    """A JSON number in rupees."""
    return minor / 100


def return_signature(params: dict[str, str], key: str = RESPONSE_KEY) -> str:
    """The ``signature`` of a return-URL redirect."""
    pairs = sorted(
        (quote(k, safe=""), quote(v, safe=""))
        for k, v in params.items()
        if k not in ("signature", "signature_algorithm")
    )
    message = quote("&".join(f"{k}={v}" for k, v in pairs), safe="")
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def order_wire(order: Order) -> dict[str, Any]:
    """The order object of Order Status, refunds and webhooks."""
    body: dict[str, Any] = {
        "id": order.id,
        "order_id": order.order_id,
        "merchant_id": MERCHANT_ID,
        "customer_id": order.fields.get("customer_id"),
        "customer_email": order.fields.get("customer_email"),
        "customer_phone": order.fields.get("customer_phone"),
        "product_id": order.fields.get("product_id", ""),
        "status": order.status,
        "status_id": STATUS_IDS[order.status],
        "amount": major(order.amount),
        "effective_amount": major(order.amount),
        "currency": order.currency,
        "refunded": order.refunded >= order.captured,
        "amount_refunded": major(order.refunded),
        "date_created": iso(order.created_at),
        "return_url": order.fields.get("return_url"),
        "description": order.fields.get("description", ""),
        **{f"udf{i}": order.fields.get(f"udf{i}", "") for i in range(1, 11)},
        "metadata": order.metadata,
        "payment_links": order.links,
        "refunds": [refund.wire() for refund in order.refunds],
    }
    if order.partial_capture is not None:
        # Assumed field (Juspay's pages show PARTIAL_CHARGED but no sample order): what was taken.
        body["amount_captured"] = major(order.partial_capture)
    txn = order.txn
    if txn is not None:
        body.update(
            {
                "txn_id": txn.txn_id,
                "txn_uuid": txn.txn_uuid,
                "payment_method_type": txn.method_type,
                "payment_method": txn.method,
                "auth_type": "THREE_DS" if txn.three_ds else "",
                "bank_error_code": txn.bank_error_code,
                "bank_error_message": txn.bank_error_message,
                "gateway_id": 999,
                "gateway_reference_id": None,
                "txn_detail": {
                    "txn_id": txn.txn_id,
                    "order_id": order.order_id,
                    "status": order.status,
                    "gateway": "SANDBOX",
                    "net_amount": major(order.amount),
                    "txn_amount": major(order.amount),
                    "currency": order.currency,
                    "error_code": txn.bank_error_code,
                    "error_message": txn.bank_error_message,
                    "created": iso(txn.created_at),
                },
                "payment_gateway_response": {
                    "resp_code": txn.bank_error_code or ("00" if txn.rrn else ""),
                    "resp_message": txn.bank_error_message or order.status,
                    "rrn": txn.rrn,
                    "epg_txn_id": txn.rrn,
                    "auth_id_code": txn.rrn[-6:] if txn.rrn else "",
                    "txn_id": txn.txn_id,
                    "created": iso(txn.created_at),
                },
            }
        )
        if txn.card is not None:
            body["card"] = dict(txn.card)
        if txn.vpa is not None:
            body["upi"] = {"payer_vpa": txn.vpa, "txn_flow_type": "COLLECT"}
    return body
