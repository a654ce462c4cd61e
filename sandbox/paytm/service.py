"""Paytm behaviour: initiate, process by test instrument, status, the approval-page decision, webhooks.

Choices where Paytm's documentation is silent (gateways.md §7), kept lenient:

* Re-initiating an ``orderId`` with the same amount, customer, callback and ``mercUnqRef`` answers
  ``S/0002`` with the same ``txnToken``; anything else on an existing order is ``F/325``.
* ``processTransaction`` is authenticated by ``head.txnToken`` (Paytm: "Checksum required: No");
  a ``head.signature`` is accepted and ignored. A new attempt is allowed after a failed one.
* Success and decline cards answer at once with ``txnInfo`` (the callback fields, signed);
  3-DS cards, netbanking and wallet (``BALANCE``) answer a ``bankForm`` whose ``actionUrl`` is the
  sandbox's approval page; UPI collect answers ``S/0000`` and resolves after ``SANDBOX_UPI_DELAY_S``.
* The order status of an order with no transaction is ``TXN_FAILURE/334`` ("Invalid Order Id.").
* Ledger (:mod:`sandbox.ledger`): an ``order`` per new order; a ``charge`` and a ``capture`` (Paytm
  sells, no pre-auth) when a transaction turns ``TXN_SUCCESS``; ``reference`` is the ``orderId``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

from sandbox.context import SandboxContext
from sandbox.instruments import (
    DeclineReason,
    Instrument,
    Outcome,
    card_instrument,
    redirect_instrument,
    upi_instrument,
    vpa_valid,
)
from sandbox.paytm import wire as w
from sandbox.paytm.api import Answer, PaytmError, authenticate, card_details, check_query, envelope, fail
from sandbox.paytm.store import Order, Store, Txn, digits, new_txn_id
from sandbox.webhooks import Delivery

GATEWAY = "paytm"
DECLINES = {
    DeclineReason.CARD_DECLINED: w.DECLINED,
    DeclineReason.INSUFFICIENT_FUNDS: w.NO_FUNDS,
    DeclineReason.EXPIRED_CARD: w.EXPIRED,
}
_ORDER_ID = re.compile(r"^[A-Za-z0-9@._-]{1,50}$")
_BANK = re.compile(r"^[A-Za-z0-9_]{2,20}$")


class PaytmService:
    """One sandbox's Paytm account: state plus the rules that move it."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = Store()

    # ---- initiate -----------------------------------------------------------------------------

    def initiate(self, query: dict[str, str], data: dict[str, Any], text: str) -> Answer:
        """``POST /theia/api/v1/initiateTransaction`` (and ``/order/initiate``)."""
        head, body = envelope(data)
        mid = authenticate(head, body, text)
        order_id = body.get("orderId")
        check_query(query, mid, order_id)
        amount_info = body.get("txnAmount") if isinstance(body.get("txnAmount"), dict) else {}
        user = body.get("userInfo") if isinstance(body.get("userInfo"), dict) else {}
        extend = body.get("extendInfo") if isinstance(body.get("extendInfo"), dict) else {}
        callback = body.get("callbackUrl")
        if not isinstance(order_id, str) or not _ORDER_ID.match(order_id) or not user.get("custId"):
            raise PaytmError(w.BAD_PARAMS)
        if body.get("requestType") not in ("Payment", "NATIVE"):
            raise PaytmError(w.BAD_PARAMS)
        if callback is not None and not (isinstance(callback, str) and callback.startswith(("http://", "https://"))):
            raise PaytmError(w.BAD_PARAMS)
        amount = w.paise(amount_info.get("value"))
        if amount is None or amount_info.get("currency", "INR") != "INR":
            raise PaytmError(w.BAD_AMOUNT)
        merc_unq_ref = str(extend.get("mercUnqRef") or "")
        fingerprint = hashlib.sha256(
            msgspec.json.encode([amount, str(user["custId"]), callback, merc_unq_ref])
        ).hexdigest()
        order = self.store.orders.get((mid, order_id))
        if order is not None:
            paid = order.txn is not None and order.txn.status != "TXN_FAILURE"
            if order.fingerprint != fingerprint or paid:
                raise PaytmError(w.DUPLICATE_ORDER)
            return Answer(self._token_body(order, w.IDEMPOTENT))
        order = Order(
            mid=mid,
            order_id=order_id,
            amount=amount,
            cust_id=str(user["custId"]),
            callback_url=callback,
            merc_unq_ref=merc_unq_ref,
            txn_token=digits(8) + hashlib.sha256(f"{mid}{order_id}{time.time()}".encode()).hexdigest()[:32],
            fingerprint=fingerprint,
        )
        self.store.orders[(mid, order_id)] = order
        self.ctx.ledger.record(GATEWAY, "order", order_id, order_id, amount)
        return Answer(self._token_body(order, w.OK))

    @staticmethod
    def _token_body(order: Order, code: tuple[str, str, str]) -> dict[str, Any]:
        return {
            "resultInfo": w.result_info(code),
            "txnToken": order.txn_token,
            "isPromoCodeValid": False,
            "authenticated": False,
        }

    # ---- process ------------------------------------------------------------------------------

    def process(self, query: dict[str, str], data: dict[str, Any]) -> Answer:
        """``POST /theia/api/v1/processTransaction``: the outcome follows the test instrument."""
        head, body = envelope(data)
        mid, order_id = str(body.get("mid")), body.get("orderId")
        check_query(query, mid, order_id)
        order = self.store.orders.get((mid, str(order_id)))
        token = head.get("txnToken") or body.get("txnToken")
        if order is None or token != order.txn_token:
            raise PaytmError(w.BAD_TOKEN)
        if order.txn is not None and order.txn.status != "TXN_FAILURE":
            raise PaytmError(w.DUPLICATE_ORDER)
        mode = body.get("paymentMode")
        mode = "BALANCE" if mode == "WALLET" else mode
        txn, instrument = self._attempt(mode, body)
        if instrument.outcome is Outcome.GATEWAY_ERROR:
            return fail(w.SYSTEM_ERROR, 502)
        order.txns.append(txn)
        match instrument.outcome:
            case Outcome.SUCCESS | Outcome.CHARGE_THEN_DROP:
                self._finish(order, txn, w.TXN_SUCCESS)
                if instrument.outcome is Outcome.SUCCESS:
                    self.emit([self.payment_webhook(order, txn)])
                return Answer(self._direct_body(order, txn), drop=instrument.outcome is Outcome.CHARGE_THEN_DROP)
            case Outcome.DECLINE:
                assert instrument.decline_reason is not None
                txn.code = DECLINES[instrument.decline_reason]
                self.emit([self.payment_webhook(order, txn)])
                return Answer(self._direct_body(order, txn))
            case Outcome.REDIRECT:
                txn.code = w.BANK_PENDING
                self.ctx.tasks.expire(self.ctx.settings.auth_expire_s, lambda: self.decide(order, txn, False))
                return Answer(self._bank_form(order, txn))
        txn.code = w.UPI_PENDING
        self.ctx.tasks.spawn(self._resolve_later(order, txn, instrument.outcome))
        return Answer({"resultInfo": w.result_info(w.OK), "transId": txn.txn_id, "orderId": order.order_id})

    def _attempt(self, mode: Any, body: dict[str, Any]) -> tuple[Txn, Instrument]:
        """Validate the payment details for ``mode``; the new transaction and its instrument."""
        if mode not in w.PAYMENT_MODES:
            raise PaytmError(("F", "1001", "Invalid payment mode"))
        txn = Txn(new_txn_id(), mode, w.BANK_PENDING, gateway_name="HDFC", bank_name="HDFC Bank")
        if mode in ("CREDIT_CARD", "DEBIT_CARD"):
            number = card_details(body.get("cardInfo"))
            txn.masked_card = f"{number[:6]}XXXXXX{number[-4:]}"
            return txn, card_instrument(number)
        if mode == "UPI":
            vpa = body.get("payerAccount")
            if not isinstance(vpa, str) or not vpa_valid(vpa):
                raise PaytmError(("F", w.INVALID_VPA[1], w.INVALID_VPA[2]))
            txn.vpa, txn.gateway_name, txn.bank_name = vpa, "PPBL", "Paytm Payments Bank"
            return txn, upi_instrument(vpa)
        if mode == "NET_BANKING":
            bank = body.get("channelCode")
            if not isinstance(bank, str) or not _BANK.match(bank):
                raise PaytmError(("F", "1001", "Invalid channel code"))
            txn.gateway_name = txn.bank_name = bank.upper()
        else:
            txn.gateway_name = txn.bank_name = "WALLET"
        return txn, redirect_instrument()

    def _direct_body(self, order: Order, txn: Txn) -> dict[str, Any]:
        ok = txn.status == "TXN_SUCCESS"
        return {
            "resultInfo": w.result_info(w.OK if ok else ("F", txn.code[1], txn.code[2])),
            "txnInfo": w.callback_fields(order, txn),
            "callBackUrl": order.callback_url or "",
        }

    def _bank_form(self, order: Order, txn: Txn) -> dict[str, Any]:
        url = f"{self.ctx.settings.public_url}/{GATEWAY}/pages/bank/{txn.txn_id}"
        return {
            "resultInfo": w.result_info(w.OK),
            "bankForm": {
                "pageType": "redirect",
                "isForceResendOtp": False,
                "redirectForm": {
                    "actionUrl": url,
                    "method": "post",
                    "type": "redirect",
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                    "content": {"mid": order.mid, "orderId": order.order_id, "txnId": txn.txn_id},
                },
            },
        }

    def decide(self, order: Order, txn: Txn, approve: bool) -> None:
        """The customer approved or rejected the bank / OTP / wallet page (no-op once decided)."""
        if txn.status != "PENDING":
            return
        self._finish(order, txn, w.TXN_SUCCESS if approve else w.CANCELLED)
        self.emit([self.payment_webhook(order, txn)])

    async def _resolve_later(self, order: Order, txn: Txn, outcome: Outcome) -> None:
        await asyncio.sleep(self.ctx.settings.upi_delay_s)
        if txn.status != "PENDING":
            return
        self._finish(order, txn, w.TXN_SUCCESS if outcome is Outcome.PENDING_SUCCESS else w.DECLINED)
        self.emit([self.payment_webhook(order, txn)])

    def _finish(self, order: Order, txn: Txn, code: tuple[str, str, str]) -> None:
        """Make a pending transaction final; a success is a charge and a capture in the ledger."""
        txn.code = code
        if code == w.TXN_SUCCESS:
            txn.bank_txn_id = digits(12)
            self.ctx.ledger.paid(GATEWAY, order.order_id, txn.txn_id, order.amount)

    # ---- status and webhooks ------------------------------------------------------------------

    def status(self, data: dict[str, Any], text: str) -> Answer:
        """``POST /v3/order/status``."""
        head, body = envelope(data)
        mid = authenticate(head, body, text)
        order = self.store.orders.get((mid, str(body.get("orderId"))))
        return Answer(w.status_body(order, order.txn if order else None))

    def payment_webhook(self, order: Order, txn: Txn) -> Delivery:
        """The payment-status webhook: the callback fields, form-encoded, with ``CHECKSUMHASH``."""
        return Delivery(
            gateway=GATEWAY,
            event=f"payment.{txn.status}",
            event_id=f"{txn.txn_id}:{txn.status}",
            url=self.ctx.settings.webhook_target(GATEWAY, order.merc_unq_ref),
            body=urlencode(w.callback_fields(order, txn)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            tamper=_tamper_form,
        )

    def emit(self, batch: list[Delivery]) -> None:
        """Hand the webhooks produced by one action to the dispatcher."""
        self.ctx.webhooks.emit(batch)


def _tamper_form(delivery: Delivery) -> Delivery:
    fields = dict(parse_qsl(delivery.body.decode(), keep_blank_values=True))
    fields["CHECKSUMHASH"] = w.forged({k: v for k, v in fields.items() if k != "CHECKSUMHASH"})
    return replace(delivery, body=urlencode(fields).encode())
