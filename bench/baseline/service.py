"""The baseline's use cases: create, confirm with a card, read. Blocking, one request per thread.

Confirm follows the same phases as the engine (a short transaction recording the intent, the
gateway calls outside any transaction, a short transaction folding the answer in), so no
database connection is held while the gateway is waited for. The idempotency claim rides in the
first transaction and the final response in the last one (fewer commits than the engine makes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from bench.baseline import store as q
from bench.baseline.gateway import Charge, Razorpay
from bench.baseline.store import Store

Response = tuple[int, bytes, bool]  # status, body, replayed


class ApiError(Exception):
    """An error answer: ``{"error": {type, code, message, param?}}``."""

    def __init__(self, status: int, kind: str, code: str, message: str, param: str | None = None) -> None:
        """Keep the pieces of the error object."""
        super().__init__(message)
        self.status, self.kind, self.code, self.param = status, kind, code, param

    def body(self) -> bytes:
        """The JSON error body."""
        error: dict[str, Any] = {"type": self.kind, "code": self.code, "message": str(self)}
        if self.param:
            error["param"] = self.param
        return dumps({"error": error})


def dumps(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":")).encode()


def new_id(prefix: str) -> str:
    """A random object id like the engine's (prefix + 24 alphanumerics)."""
    return prefix + "_" + secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")


def _ts(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def view(p: dict[str, Any]) -> dict[str, Any]:
    """The payment object (the engine's fields)."""
    return {
        "id": p["id"],
        "object": "payment",
        "amount": p["amount"],
        "currency": p["currency"],
        "status": p["status"],
        "capture_method": p["capture_method"],
        "amount_capturable": p.get("amount_capturable", 0),
        "amount_received": p.get("amount_received", 0),
        "amount_refunded": p.get("amount_refunded", 0),
        "customer_id": p.get("customer_id"),
        "merchant_order_id": p.get("merchant_order_id"),
        "description": p.get("description"),
        "gateway": p.get("gateway"),
        "gateway_reference": p.get("gateway_reference"),
        "payment_method": p.get("payment_method"),
        "next_action": p.get("next_action"),
        "last_error": p.get("last_error"),
        "return_url": p.get("return_url"),
        "routing": None,
        "metadata": p.get("metadata") or {},
        "created_at": _ts(p["created_at"]),
        "updated_at": _ts(p["updated_at"]),
    }


def invalid(message: str, param: str) -> ApiError:
    """A 400 ``invalid_request_error`` naming the offending parameter."""
    return ApiError(400, "invalid_request_error", "parameter_invalid", message, param)


def luhn_ok(number: str) -> bool:
    """Whether ``number`` passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def masked_card(card: Any) -> dict[str, Any]:
    """Validate a card block and return what may be stored: brand, last4, expiry."""
    if not isinstance(card, dict):
        raise invalid("card is required.", "payment_method.card")
    number = str(card.get("number", ""))
    if not (12 <= len(number) <= 19 and number.isdigit() and luhn_ok(number)):
        raise invalid("The card number is invalid.", "payment_method.card.number")
    month, year = card.get("exp_month"), card.get("exp_year")
    if not isinstance(month, int) or not 1 <= month <= 12 or not isinstance(year, int) or year < 2000:
        raise invalid("The card expiry is invalid.", "payment_method.card.exp_month")
    now = datetime.now(UTC)
    if (year, month) < (now.year, now.month):
        raise invalid("The card has expired.", "payment_method.card.exp_year")
    cvc = str(card.get("cvc", ""))
    if not (cvc.isdigit() and 3 <= len(cvc) <= 4):
        raise invalid("The CVC is invalid.", "payment_method.card.cvc")
    brand = {"4": "visa", "5": "mastercard", "6": "rupay"}.get(number[0], "unknown")
    return {"type": "card", "brand": brand, "last4": number[-4:], "exp_month": month, "exp_year": year}


class Service:
    """The use cases over one store and one gateway client."""

    def __init__(self, store: Store, gateway: Razorpay, secret: bytes) -> None:
        """Wire the store, the gateway client and the fingerprint secret."""
        self.store, self.gateway, self.secret = store, gateway, secret

    def fingerprint(self, path: str, body: bytes) -> bytes:
        """HMAC of the request's identity (the stored record reveals nothing about the body)."""
        return hmac.new(self.secret, b"POST " + path.encode() + b"\n" + body, hashlib.sha256).digest()

    def _existing(self, merchant_id: str, key: str, path: str, fingerprint: bytes) -> Response:
        with self.store.connection() as conn:
            row = q.one(conn, q.GET_KEY, (merchant_id, key))
        if row is None:
            raise ApiError(409, "idempotency_error", "idempotency_key_in_use", "Retry shortly.")
        if row["path"] != path or not hmac.compare_digest(bytes(row["fingerprint"]), fingerprint):
            raise ApiError(422, "idempotency_error", "idempotency_key_reused", "Key reused with another request.")
        if row["state"] != "done":
            raise ApiError(409, "idempotency_error", "idempotency_key_in_use", "A request with this key is running.")
        return row["response_status"], bytes(row["response_body"]), True

    def create(self, merchant_id: str, data: Any, key: str | None, raw: bytes) -> Response:
        """``POST /v1/payments``: one statement holding the payment, its event and the key's response."""
        if not isinstance(data, dict):
            raise invalid("The body must be a JSON object.", "body")
        amount, currency = data.get("amount"), data.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 10**12:
            raise invalid("amount must be a positive integer in minor units.", "amount")
        if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
            raise invalid("currency must be an ISO-4217 code.", "currency")
        capture = data.get("capture_method", "automatic")
        if capture not in ("automatic", "manual"):
            raise invalid("capture_method must be automatic or manual.", "capture_method")
        now = datetime.now(UTC)
        payment = {
            "id": new_id("pay"),
            "merchant_id": merchant_id,
            "amount": amount,
            "currency": currency.upper(),
            "status": "requires_payment_method",
            "capture_method": capture,
            "merchant_order_id": data.get("merchant_order_id"),
            "description": data.get("description"),
            "metadata": data.get("metadata") or {},
            "created_at": now,
            "updated_at": now,
        }
        body = dumps(view(payment))
        params = {
            **payment,
            "metadata": Jsonb(payment["metadata"]),
            "now": now,
            "event_id": new_id("evt"),
            "view": Jsonb(view(payment)),
        }
        path = "/v1/payments"
        with self.store.connection() as conn:  # one statement: atomic on its own
            if key is None:
                conn.execute(q.CREATE_WITHOUT_KEY, params)
                return 201, body, False
            fingerprint = self.fingerprint(path, raw)
            row = q.one(conn, q.CREATE_WITH_KEY, {**params, "key": key, "path": path, "fingerprint": fingerprint,
                                                  "body": body})  # fmt: skip
        if row and row["claimed"]:
            return 201, body, False
        return self._existing(merchant_id, key, path, fingerprint)

    def get(self, merchant_id: str, payment_id: str) -> bytes:
        """``GET /v1/payments/{id}``."""
        with self.store.connection() as conn:
            row = q.one(conn, q.GET_PAYMENT, (payment_id, merchant_id))
        if row is None:
            raise ApiError(404, "invalid_request_error", "resource_missing", "No such payment.", "id")
        return dumps(view(row))

    def confirm(self, merchant_id: str, payment_id: str, data: Any, key: str | None, raw: bytes) -> Response:
        """``POST /v1/payments/{id}/confirm`` with a card, through Razorpay."""
        method = data.get("payment_method") if isinstance(data, dict) else None
        if not isinstance(method, dict) or method.get("type") != "card":
            raise invalid("payment_method of type card is required.", "payment_method")
        masked = masked_card(method.get("card"))
        path = f"/v1/payments/{payment_id}/confirm"
        fingerprint = self.fingerprint(path, raw)
        attempt_id = new_id("att")
        with self.store.transaction() as conn:
            if key is not None and q.one(conn, q.CLAIM_KEY, (merchant_id, key, path, fingerprint)) is None:
                claimed = False  # nothing was written: the earlier request with this key decides
            else:
                claimed = True
                payment = q.one(conn, q.LOCK_PAYMENT, (payment_id, merchant_id))
                if payment is None:
                    raise ApiError(404, "invalid_request_error", "resource_missing", "No such payment.", "id")
                if payment["status"] not in ("requires_payment_method", "requires_confirmation"):
                    message = f"This payment's status is {payment['status']}; it cannot be confirmed."
                    raise ApiError(409, "invalid_request_error", "payment_unexpected_state", message)
                conn.execute(q.INSERT_ATTEMPT, (attempt_id, payment_id, merchant_id, payment["amount"], "card"))
                payment = q.one(conn, q.START_PAYMENT, (Jsonb(masked), payment_id, merchant_id))
                assert payment is not None
                event = (new_id("evt"), merchant_id, "payment.processing", payment_id, Jsonb(view(payment)))
                conn.execute(q.INSERT_EVENT, event)
        if not claimed:
            assert key is not None
            return self._existing(merchant_id, key, path, fingerprint)
        charge = self.gateway.charge_card(merchant_id, payment, attempt_id, method["card"])
        return self._settle(merchant_id, payment_id, attempt_id, charge, key)

    def _settle(self, merchant_id: str, payment_id: str, attempt_id: str, charge: Charge, key: str | None) -> Response:
        """Fold the gateway's answer into the attempt and the payment; store the response."""
        attempt_status = {"captured": "captured", "authorized": "authorized", "declined": "failed",
                          "failed": "failed"}.get(charge.outcome, "unknown")  # fmt: skip
        with self.store.transaction() as conn:
            payment = q.one(conn, q.LOCK_PAYMENT, (payment_id, merchant_id))
            q.one(conn, q.LOCK_ATTEMPT, (attempt_id, merchant_id))
            assert payment is not None
            captured = payment["amount"] if attempt_status == "captured" else 0
            conn.execute(q.FINISH_ATTEMPT, (attempt_status, captured, charge.order_id, charge.payment_id,
                                            charge.decline_code, charge.error_code, charge.error_message,
                                            charge.raw_status, attempt_id, merchant_id))  # fmt: skip
            error: ApiError | None = None
            last_error = None
            if attempt_status == "captured":
                status, event_type = "succeeded", "payment.succeeded"
            elif attempt_status == "failed":
                status, event_type = "requires_payment_method", "payment.failed"
                last_error = {"code": charge.error_code, "message": charge.error_message,
                              "decline_code": charge.decline_code}  # fmt: skip
                if charge.outcome == "declined":
                    error = ApiError(402, "card_error", "card_declined", charge.error_message or "Declined.")
                else:
                    error = ApiError(502, "gateway_error", "gateway_unavailable", "The gateway failed.")
            else:  # authorized without capture, or unknown: stays processing until a status check
                status, event_type = "processing", "payment.processing"
            payment = q.one(conn, q.FINISH_PAYMENT, (status, captured, charge.payment_id,
                                                     Jsonb(last_error) if last_error else None,
                                                     payment_id, merchant_id))  # fmt: skip
            assert payment is not None
            conn.execute(q.INSERT_EVENT, (new_id("evt"), merchant_id, event_type, payment_id, Jsonb(view(payment))))
            if error is not None:
                code, body = error.status, dumps({"error": {**json.loads(error.body())["error"],
                                                            "decline_code": charge.decline_code,
                                                            "payment_id": payment_id}})  # fmt: skip
            else:
                code, body = 200, dumps(view(payment))
            if key is not None:
                conn.execute(q.COMPLETE_KEY, (code, body, merchant_id, key))
        return code, body, False
