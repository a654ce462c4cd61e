"""Blocking Razorpay client for the baseline: ``requests`` with keep-alive, one session per thread.

A card charge is what the engine's connector does: ``POST /v1/orders`` (auto-capture), the S2S
``POST /v1/payments/create/json``, then ``GET /v1/payments/{id}`` for the real status.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

DECLINE_CODES = {
    "card_declined": "card_declined",
    "insufficient_funds": "insufficient_funds",
    "card_expired": "expired_card",
}


@dataclass(frozen=True)
class Charge:
    """What the gateway said about one attempt."""

    outcome: str  # captured | authorized | declined | unknown | failed
    order_id: str | None = None
    payment_id: str | None = None
    raw_status: str | None = None
    decline_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None


class Razorpay:
    """Razorpay's API at ``base_url`` (the sandbox's ``/razorpay`` prefix) with Basic auth."""

    def __init__(self, base_url: str, key_id: str, key_secret: str, timeout: tuple[float, float] = (3.0, 20.0)) -> None:
        """Keep the credentials; sessions are created per thread on first use."""
        self.base = base_url.rstrip("/")
        self.auth = (key_id, key_secret)
        self.timeout = timeout
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's keep-alive session (``requests.Session`` is not shared across threads)."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.auth = self.auth
            session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=4))
            self._local.session = session
        return session

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        response = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data

    def charge_card(self, merchant_id: str, payment: dict[str, Any], attempt_id: str, card: dict[str, Any]) -> Charge:
        """Order, S2S payment, fetch. Network failures after the request left are ``unknown``."""
        amount, currency = payment["amount"], payment["currency"]
        notes = {"merchant_id": merchant_id, "payment_id": payment["id"], "attempt_id": attempt_id}
        try:
            order_body = {"amount": amount, "currency": currency, "receipt": attempt_id, "notes": notes}
            status, order = self._call("POST", "/v1/orders", {**order_body, "payment_capture": True})
        except requests.RequestException as exc:
            return Charge("failed", error_code="order_failed", error_message=type(exc).__name__)
        if status != 200 or not isinstance(order, dict) or not order.get("id"):
            return Charge("failed", error_code=f"order_http_{status}")
        order_id = str(order["id"])
        body = {
            "amount": amount,
            "currency": currency,
            "order_id": order_id,
            "email": "customer@example.com",
            "contact": "9999999999",
            "method": "card",
            "callback_url": "http://127.0.0.1/callback",
            "notes": notes,
            "card": {
                "number": card["number"],
                "name": card.get("holder_name") or "Card Holder",
                "expiry_month": f"{int(card['exp_month']):02d}",
                "expiry_year": f"{int(card['exp_year']) % 100:02d}",
                "cvv": str(card["cvc"]),
            },
        }
        try:
            status, created = self._call("POST", "/v1/payments/create/json", body)
        except requests.RequestException as exc:
            return Charge("unknown", order_id, error_code="payment_transport", error_message=type(exc).__name__)
        if status == 400 and isinstance(created, dict) and isinstance(created.get("error"), dict):
            error = created["error"]
            reason = error.get("reason")
            return Charge(
                "declined",
                order_id,
                (error.get("metadata") or {}).get("payment_id"),
                raw_status="failed",
                decline_code=DECLINE_CODES.get(reason or "", "generic_decline"),
                error_code=reason or error.get("code"),
                error_message=error.get("description"),
            )
        if status != 200 or not isinstance(created, dict) or not created.get("razorpay_payment_id"):
            return Charge("unknown", order_id, error_code=f"payment_http_{status}")
        pay_id = str(created["razorpay_payment_id"])
        if created.get("next"):
            return Charge("unknown", order_id, pay_id, error_code="next_action_unsupported")
        return self.fetch(order_id, pay_id)

    def fetch(self, order_id: str, pay_id: str) -> Charge:
        """``GET /v1/payments/{id}`` mapped to an outcome."""
        try:
            status, entity = self._call("GET", f"/v1/payments/{pay_id}")
        except requests.RequestException as exc:
            return Charge("unknown", order_id, pay_id, error_code="fetch_transport", error_message=type(exc).__name__)
        if status != 200 or not isinstance(entity, dict):
            return Charge("unknown", order_id, pay_id, error_code=f"fetch_http_{status}")
        raw = entity.get("status")
        if raw in ("captured", "authorized"):
            return Charge(str(raw), order_id, pay_id, raw_status=str(raw))
        if raw == "failed":
            reason = entity.get("error_reason")
            return Charge(
                "declined",
                order_id,
                pay_id,
                raw_status="failed",
                decline_code=DECLINE_CODES.get(reason or "", "generic_decline"),
                error_code=reason,
                error_message=entity.get("error_description"),
            )
        return Charge("unknown", order_id, pay_id, raw_status=str(raw))
