"""Juspay behaviour: customers, orders, ``/txns`` by test instrument, webhooks (pre-auth, capture and
void: :mod:`sandbox.juspay.preauth`; refunds: :mod:`sandbox.juspay.refunds`).

Choices where Juspay's documentation is silent (gateways.md §7), kept lenient:

* Create order answers ``CREATED`` / 1; Order Status says ``NEW`` / 10 until a transaction exists.
  Re-posting an existing ``order_id`` returns that order unchanged.
* ``/txns`` answers ``{order_id, txn_id, txn_uuid, status, payment?}``: ``CHARGED`` for success cards,
  ``AUTHORIZATION_FAILED`` (with ``bank_error_code`` ``05`` / ``51`` / ``54``) for declines,
  ``PENDING_VBV`` with ``payment.authentication {method: "GET", url}`` for the OTP card, netbanking,
  wallets and UPI collect (whose page only waits; the collect resolves after ``SANDBOX_UPI_DELAY_S``).
  The customer rejecting the page gives ``AUTHENTICATION_FAILED``; a declined collect
  ``AUTHORIZATION_FAILED``. A new transaction is allowed after a failed one only. A card pre-auth
  ends ``AUTHORIZED`` where others end ``CHARGED``.
* Duplicate ``object_reference_id`` on create customer: 400 ``ALREADY_EXISTS``.
* Ledger (:mod:`sandbox.ledger`): an ``order`` per new order; a ``charge`` when a transaction turns
  ``CHARGED`` or ``AUTHORIZED``, with a ``capture`` for ``CHARGED``; ``reference`` is the ``order_id``,
  ``gateway_id`` the Juspay order id (``ordeh_…``) or the ``txn_uuid``.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec

from sandbox.context import SandboxContext
from sandbox.ids import random_chars
from sandbox.instruments import (
    DeclineReason,
    Instrument,
    Outcome,
    card_instrument,
    card_network,
    luhn_valid,
    redirect_instrument,
    upi_instrument,
    vpa_valid,
)
from sandbox.juspay import preauth
from sandbox.juspay import wire as w
from sandbox.juspay.store import Customer, Order, Store, Txn, new_id
from sandbox.webhooks import Delivery

GATEWAY = "juspay"
DECLINES = {
    DeclineReason.CARD_DECLINED: ("05", "Do not honour"),
    DeclineReason.INSUFFICIENT_FUNDS: ("51", "Insufficient funds"),
    DeclineReason.EXPIRED_CARD: ("54", "Expired card"),
}
_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
_RETRYABLE = frozenset({"NEW", "AUTHENTICATION_FAILED", "AUTHORIZATION_FAILED", "JUSPAY_DECLINED"})


@dataclass(frozen=True)
class TxnAnswer:
    """The answer to ``POST /txns`` and whether to drop the connection after processing."""

    body: dict[str, Any]
    drop: bool = False


class JuspayService:
    """One sandbox's Juspay merchant: state plus the rules that move it."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = Store()

    # ---- customers and orders -----------------------------------------------------------------

    def create_customer(self, data: dict[str, str]) -> dict[str, Any]:
        """``POST /customers``."""
        ref, mobile = data.get("object_reference_id", ""), data.get("mobile_number", "")
        if len(ref) < 8:
            raise w.bad_request("object_reference_id is mandatory and must be at least 8 characters")
        if not mobile.isdigit() or not 6 <= len(mobile) <= 15:
            raise w.bad_request("mobile_number is mandatory (digits only, without country code)")
        if self.store.customer(ref) is not None:
            raise w.bad_request(f"Customer with object_reference_id {ref} already exists", "ALREADY_EXISTS")
        customer = Customer(new_id("cst_"), {k: v for k, v in data.items() if not k.startswith("options.")})
        self.store.customers[customer.id] = customer
        return customer.wire(token=data.get("options.get_client_auth_token") == "true")

    def get_customer(self, ref: str) -> dict[str, Any]:
        """``GET /customers/{id}`` (Juspay id or ``object_reference_id``)."""
        customer = self.store.customer(ref)
        if customer is None:
            raise w.not_found("Customer")
        return customer.wire()

    def create_order(self, data: dict[str, str]) -> dict[str, Any]:
        """``POST /orders``: answers ``CREATED`` / 1 with the payment links."""
        order_id = data.get("order_id", "")
        if not _ORDER_ID.match(order_id):
            raise w.bad_request("order_id is mandatory (letters, digits, _ or -)")
        order = self.store.orders.get(order_id)
        if order is None:
            currency = data.get("currency", "INR")
            if currency != "INR":
                raise w.bad_request("Invalid currency")
            base = f"{self.ctx.settings.public_url}/{GATEWAY}/pay/{order_id}"
            order = Order(
                id=new_id("ordeh_"),
                order_id=order_id,
                amount=w.amount_of(data.get("amount")),
                currency=currency,
                fields={k: v for k, v in data.items() if not k.startswith(("metadata.", "options."))},
                metadata={k.removeprefix("metadata."): v for k, v in data.items() if k.startswith("metadata.")},
                links={"web": base, "mobile": base + "?mobile=true", "iframe": base + "?iframe=true"},
            )
            self.store.orders[order_id] = order
            self.ctx.ledger.record(GATEWAY, "order", order_id, order.id, order.amount, order.currency)
        return {**w.order_wire(order), "status": "CREATED", "status_id": 1}

    def order(self, order_id: str) -> Order:
        """The order ``order_id`` or 404."""
        order = self.store.orders.get(order_id)
        if order is None:
            raise w.not_found("Order")
        return order

    # ---- transactions -------------------------------------------------------------------------

    def create_txn(self, data: dict[str, str]) -> TxnAnswer:
        """``POST /txns``: the outcome follows the test instrument."""
        order = self.order(data.get("order_id", ""))
        if order.status not in _RETRYABLE:
            raise w.bad_request("Order is already paid or has a transaction in progress", "invalid_order_state")
        txn = Txn(f"{w.MERCHANT_ID}-{order.order_id}-{len(order.txns) + 1}", new_id("eul", 17), "", "")
        instrument = self._instrument(txn, data)
        txn.auto_capture = preauth.auto_capture(order, txn, data)
        if instrument.outcome is Outcome.GATEWAY_ERROR:
            raise w.JuspayError(502, "gateway_error", "Payment gateway is unreachable, please retry")
        order.txns.append(txn)
        answer: dict[str, Any] = {"order_id": order.order_id, "txn_id": txn.txn_id, "txn_uuid": txn.txn_uuid}
        match instrument.outcome:
            case Outcome.SUCCESS | Outcome.CHARGE_THEN_DROP:
                batch = self._settle(order, txn, preauth.success_status(txn))
                if instrument.outcome is Outcome.SUCCESS:
                    self.emit(batch)
            case Outcome.DECLINE:
                assert instrument.decline_reason is not None
                txn.bank_error_code, txn.bank_error_message = DECLINES[instrument.decline_reason]
                self.emit(self._settle(order, txn, "AUTHORIZATION_FAILED"))
                answer.update(bank_error_code=txn.bank_error_code, bank_error_message=txn.bank_error_message)
            case _:
                order.status = "PENDING_VBV"
                url = f"{self.ctx.settings.public_url}/{GATEWAY}/pages/authenticate/{txn.txn_uuid}"
                answer["payment"] = {"authentication": {"method": "GET", "url": url}}
                if instrument.outcome is not Outcome.REDIRECT:
                    self.ctx.tasks.spawn(self._resolve_later(order, txn, instrument.outcome))
                else:
                    self.ctx.tasks.expire(self.ctx.settings.auth_expire_s, lambda: self.decide(order, txn, False))
        answer["status"] = order.status
        return TxnAnswer(answer, drop=instrument.outcome is Outcome.CHARGE_THEN_DROP)

    def _instrument(self, txn: Txn, data: dict[str, str]) -> Instrument:
        kind = data.get("payment_method_type", "").upper()
        txn.method_type, txn.method = kind, data.get("payment_method", "").upper()
        if kind == "CARD":
            number = data.get("card_number", "").replace(" ", "")
            month, year = data.get("card_exp_month", ""), data.get("card_exp_year", "")
            cvv = data.get("card_security_code", "")
            if not luhn_valid(number) or not (month.isdigit() and 1 <= int(month) <= 12) or not year.isdigit():
                raise w.bad_request("Invalid card details", "invalid_card")
            if not (cvv.isdigit() and len(cvv) in (3, 4)):
                raise w.bad_request("Invalid card_security_code", "invalid_card")
            network = card_network(number).upper().replace(" ", "_")
            txn.method = txn.method or network
            txn.card = {
                "last_four_digits": number[-4:],
                "card_isin": number[:6],
                "card_brand": network,
                "card_type": "CREDIT",
                "card_issuer": "SANDBOX BANK",
                "expiry_month": month.zfill(2),
                "expiry_year": year if len(year) == 4 else f"20{year}",
                "name_on_card": data.get("name_on_card", ""),
            }
            instrument = card_instrument(number)
            txn.three_ds = instrument.outcome is Outcome.REDIRECT
            return instrument
        if kind == "UPI":
            vpa = data.get("upi_vpa", "")
            if not vpa_valid(vpa):
                raise w.bad_request("Invalid upi_vpa", "invalid_vpa")
            txn.vpa, txn.method = vpa, "UPI"
            return upi_instrument(vpa)
        if kind not in ("NB", "WALLET") or not txn.method:
            raise w.bad_request("payment_method_type must be CARD, UPI, NB or WALLET (with payment_method)")
        return redirect_instrument()

    def decide(self, order: Order, txn: Txn, approve: bool) -> None:
        """The customer approved or rejected the authentication page (no-op once decided)."""
        if order.txn is txn and order.status == "PENDING_VBV" and txn.vpa is None:
            self.emit(self._settle(order, txn, preauth.success_status(txn) if approve else "AUTHENTICATION_FAILED"))

    async def _resolve_later(self, order: Order, txn: Txn, outcome: Outcome) -> None:
        await asyncio.sleep(self.ctx.settings.upi_delay_s)
        if order.txn is txn and order.status == "PENDING_VBV":
            if outcome is Outcome.PENDING_FAILURE:
                txn.bank_error_code, txn.bank_error_message = "ZA", "Transaction declined by the payer"
            success = outcome is Outcome.PENDING_SUCCESS
            self.emit(self._settle(order, txn, preauth.success_status(txn) if success else "AUTHORIZATION_FAILED"))

    def _settle(self, order: Order, txn: Txn, status: str) -> list[Delivery]:
        order.status = status
        if status in ("CHARGED", "AUTHORIZED"):
            txn.rrn = random_chars("0123456789", 12)
            captured = status == "CHARGED"
            self.ctx.ledger.paid(GATEWAY, order.order_id, txn.txn_uuid, order.amount, order.currency, captured)
        if status == "AUTHORIZED":  # Juspay documents no webhook event for a pre-authorization
            return []
        return [self.webhook(order, "ORDER_SUCCEEDED" if status == "CHARGED" else "ORDER_FAILED")]

    def return_url(self, order: Order) -> str | None:
        """The signed return-URL redirect for the order's current status (None without ``return_url``)."""
        base = order.fields.get("return_url")
        if not base:
            return None
        parts = urlsplit(base)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        params.update(order_id=order.order_id, status=order.status, status_id=str(w.STATUS_IDS[order.status]))
        params["signature"] = w.return_signature(params)
        params["signature_algorithm"] = "HMAC-SHA256"
        return parts._replace(query=urlencode(params)).geturl()

    # ---- webhooks -----------------------------------------------------------------------------

    def webhook(self, order: Order, event: str) -> Delivery:
        """A webhook ``{id, date_created, event_name, content: {order}}`` with Basic auth."""
        event_id = "evt_V2_" + secrets.token_hex(16)
        body = {
            "id": event_id,
            "date_created": w.iso(time.time()),
            "event_name": event,
            "content": {"order": w.order_wire(order)},
        }
        return Delivery(
            gateway=GATEWAY,
            event=event,
            event_id=event_id,
            url=self.ctx.settings.webhook_target(GATEWAY, order.fields.get("udf1", "")),
            body=msgspec.json.encode(body),
            headers={"Content-Type": "application/json", "Authorization": basic(w.WEBHOOK_USER, w.WEBHOOK_PASSWORD)},
            tamper=lambda d: replace(
                d, headers={**d.headers, "Authorization": basic(w.WEBHOOK_USER, "wrong-password")}
            ),
        )

    def emit(self, batch: list[Delivery]) -> None:
        """Hand the webhooks produced by one action to the dispatcher."""
        self.ctx.webhooks.emit(batch)


def basic(user: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
