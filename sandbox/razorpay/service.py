"""Razorpay behaviour: orders, payments by test instrument, capture, refunds, and their webhooks.

Choices where the real gateway is stricter or undocumented:

* Capture must be for the full authorized amount, as Razorpay's capture API documents ("should
  be equal to the order amount"); a partial capture answers 400 on the ``amount`` field.
* Refunds live in :mod:`sandbox.razorpay.refunds`.
* The sandbox ledger (:mod:`sandbox.ledger`) gets an ``order`` per created order, a ``charge`` when a
  payment first turns ``authorized`` and a ``capture`` when it turns ``captured``; ``reference`` is
  the order's ``receipt``.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sandbox.context import SandboxContext
from sandbox.ids import random_chars
from sandbox.instruments import (
    DeclineReason,
    Instrument,
    Outcome,
    card_instrument,
    card_network,
    redirect_instrument,
    upi_instrument,
)
from sandbox.razorpay import validation as v
from sandbox.razorpay.errors import RazorpayError, business_error, gateway_error, input_error
from sandbox.razorpay.events import GATEWAY, event
from sandbox.razorpay.store import Order, Payment, Store, new_id
from sandbox.webhooks import Delivery

DECLINE_REASONS = {
    DeclineReason.CARD_DECLINED: "card_declined",
    DeclineReason.INSUFFICIENT_FUNDS: "insufficient_funds",
    DeclineReason.EXPIRED_CARD: "card_expired",
}
DECLINE_DESCRIPTION = "Your payment has been declined by the bank."


class PaymentCreated:
    """The answer to a create-payment call: the JSON body and whether to drop the connection."""

    def __init__(self, body: dict[str, Any], drop: bool = False) -> None:
        self.body, self.drop = body, drop


class RazorpayService:
    """One sandbox's Razorpay accounts: state plus the rules that move it."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = Store()

    # ---- orders -------------------------------------------------------------------------------

    def create_order(self, key_id: str, data: dict[str, Any]) -> Order:
        """``POST /v1/orders``."""
        body = v.order_input(data)
        order = Order(
            id=new_id("order"),
            key_id=key_id,
            amount=body.amount,
            currency=body.currency,
            receipt=body.receipt,
            notes=body.notes,
            payment_capture=body.payment_capture,
            partial_payment=body.partial_payment,
        )
        self.store.orders[order.id] = order
        self.ctx.ledger.record(GATEWAY, "order", order.receipt, order.id, order.amount, order.currency)
        return order

    def list_orders(self, key_id: str, receipt: str | None, count: int, skip: int) -> list[Order]:
        """``GET /v1/orders``: newest first, optionally filtered by receipt."""
        orders = [o for o in reversed(self.store.orders.values()) if o.key_id == key_id]
        if receipt is not None:
            orders = [o for o in orders if o.receipt == receipt]
        return orders[skip : skip + count]

    # ---- payments -----------------------------------------------------------------------------

    def create_payment(self, key_id: str, data: dict[str, Any]) -> PaymentCreated:
        """``POST /v1/payments/create/json``: the outcome is chosen by the test instrument."""
        amount, currency = v.amount_and_currency(data)
        order_id = v.required_str(data, "order_id")
        order = self.store.order(key_id, order_id)
        email, contact = v.contact_details(data)
        method = v.method_input(data)
        payment = Payment(
            id=new_id("pay"),
            key_id=key_id,
            order_id=order.id,
            amount=amount,
            currency=currency,
            method=method,
            email=email,
            contact=contact,
            description=v.optional_str(data, "description"),
            notes=v.notes(data),
            callback_url=v.callback_url(data),
        )
        instrument = self._instrument(payment, data)
        if amount != order.amount:
            raise input_error("The amount must be equal to the order amount.", "amount")
        if currency != order.currency:
            raise input_error("The currency must be the same as the order currency.", "currency")
        if order.status == "paid":
            raise business_error("Order has already been paid.", "order_id")
        if instrument.outcome is Outcome.GATEWAY_ERROR:
            raise gateway_error()
        self.store.payments[payment.id] = payment
        order.payment_ids.append(payment.id)
        order.attempts += 1
        order.status = "attempted"
        result: dict[str, Any] = {"razorpay_payment_id": payment.id}
        public = f"{self.ctx.settings.public_url}/{GATEWAY}"
        match instrument.outcome:
            case Outcome.SUCCESS:
                self.emit(self._authorize(payment, order))
            case Outcome.CHARGE_THEN_DROP:
                # charged, but no webhooks and no complete response: the caller cannot know
                self._authorize(payment, order)
                return PaymentCreated(result, drop=True)
            case Outcome.DECLINE:
                assert instrument.decline_reason is not None
                reason = DECLINE_REASONS[instrument.decline_reason]
                self.emit(self._fail(payment, order, "bank", "payment_authorization", reason, DECLINE_DESCRIPTION))
                raise RazorpayError(
                    400,
                    DECLINE_DESCRIPTION,
                    source="bank",
                    step="payment_authorization",
                    reason=reason,
                    metadata={"payment_id": payment.id, "order_id": order.id},
                )
            case Outcome.REDIRECT:
                url = f"{public}/pages/authenticate/{payment.id}"
                result["next"] = [{"action": "redirect", "url": url}]
                self.ctx.tasks.expire(self.ctx.settings.auth_expire_s, lambda: self.decide(payment, False))
            case Outcome.PENDING_SUCCESS | Outcome.PENDING_FAILURE:
                self.ctx.tasks.spawn(self._resolve_later(payment, order, instrument.outcome))
                url = f"{public}/v1/payments/{payment.id}"
                result["next"] = [{"action": "poll", "url": url}]
        return PaymentCreated(result)

    def _instrument(self, payment: Payment, data: dict[str, Any]) -> Instrument:
        """Validate the method's details, record their masked form, and pick the outcome."""
        if payment.method == "card":
            card = v.card_input(data)
            payment.card = {
                "id": new_id("card"),
                "entity": "card",
                "name": card.name,
                "last4": card.number[-4:],
                "network": card_network(card.number),
                "type": "credit",
                "issuer": None,
                "international": False,
                "emi": False,
                "sub_type": "consumer",
                "token_iin": None,
            }
            return card_instrument(card.number)
        if payment.method == "upi":
            payment.vpa = v.vpa_input(data)
            return upi_instrument(payment.vpa)
        if payment.method == "netbanking":
            payment.bank = v.bank_input(data)
        else:
            payment.wallet = v.wallet_input(data)
        return redirect_instrument()

    def decide(self, payment: Payment, approve: bool) -> None:
        """The customer approved or rejected a redirect-page challenge (no-op once decided)."""
        if payment.status != "created":
            return
        order = self.store.orders[payment.order_id]
        if approve:
            self.emit(self._authorize(payment, order))
        else:
            self.emit(self._customer_fail(payment, order, "Payment was cancelled by the customer."))

    async def _resolve_later(self, payment: Payment, order: Order, outcome: Outcome) -> None:
        await asyncio.sleep(self.ctx.settings.upi_delay_s)
        if payment.status != "created":
            return
        if outcome is Outcome.PENDING_SUCCESS:
            self.emit(self._authorize(payment, order))
        else:
            description = "Payment failed because the customer declined the UPI collect request."
            self.emit(self._customer_fail(payment, order, description))

    def _authorize(self, payment: Payment, order: Order) -> list[Delivery]:
        payment.status = "authorized"
        payment.acquirer_data = _acquirer_data(payment)
        self.ctx.ledger.record(GATEWAY, "charge", order.receipt, payment.id, payment.amount, payment.currency)
        events = [event(self.ctx.settings, "payment.authorized", order, payment)]
        if order.payment_capture:
            events += self._capture(payment, order, payment.amount)
        return events

    def _capture(self, payment: Payment, order: Order, amount: int) -> list[Delivery]:
        payment.status, payment.captured, payment.amount_captured = "captured", True, amount
        payment.fee = round(amount * 0.0236)
        payment.tax = round(payment.fee * 18 / 118)
        order.amount_paid = min(order.amount, order.amount_paid + amount)
        order.status = "paid"
        self.ctx.ledger.record(GATEWAY, "capture", order.receipt, payment.id, amount, payment.currency)
        return [
            event(self.ctx.settings, "payment.captured", order, payment),
            event(self.ctx.settings, "order.paid", order, payment),
        ]

    def _fail(
        self, payment: Payment, order: Order, source: str, step: str, reason: str, description: str
    ) -> list[Delivery]:
        payment.status = "failed"
        payment.error_code = "BAD_REQUEST_ERROR"
        payment.error_description = description
        payment.error_source, payment.error_step, payment.error_reason = source, step, reason
        return [event(self.ctx.settings, "payment.failed", order, payment)]

    def _customer_fail(self, payment: Payment, order: Order, description: str) -> list[Delivery]:
        return self._fail(payment, order, "customer", "payment_authentication", "payment_failed", description)

    # ---- capture and refunds ------------------------------------------------------------------

    def capture(self, key_id: str, payment_id: str, data: dict[str, Any]) -> Payment:
        """``POST /v1/payments/{id}/capture``."""
        payment = self.store.payment(key_id, payment_id)
        if data.get("amount") is None:
            raise input_error("The amount field is required.", "amount")
        amount = v.integer(data.get("amount"), "amount")
        currency = data.get("currency")
        if currency is not None and currency != payment.currency:
            raise input_error("The currency should be the same as the payment currency.", "currency")
        if payment.status in ("captured", "refunded"):
            raise business_error("This payment has already been captured")
        if payment.status != "authorized":
            raise business_error("Only payments which have been authorized and not yet captured can be captured")
        if amount != payment.amount:
            # Razorpay's capture API: "should be equal to the order amount" (no partial capture).
            raise input_error("Capture amount must be equal to the amount authorized.", "amount")
        self.emit(self._capture(payment, self.store.orders[payment.order_id], amount))
        return payment

    def emit(self, batch: list[Delivery]) -> None:
        """Hand the webhooks produced by one action to the dispatcher."""
        self.ctx.webhooks.emit(batch)


def _acquirer_data(payment: Payment) -> dict[str, Any]:
    digits = random_chars("0123456789", 12)
    if payment.method == "card":
        return {"auth_code": digits[:6]}
    if payment.method == "upi":
        return {"rrn": digits, "upi_transaction_id": secrets.token_hex(16).upper()}
    if payment.method == "netbanking":
        return {"bank_transaction_id": digits}
    return {"transaction_id": None}
