"""PayU behaviour: ``_payment`` (browser and server-to-server), outcomes by test instrument, webhooks.

Choices where PayU's documentation is thin (gateways.md §7), kept lenient:

* Browser flow (no ``txn_s2s_flow``): the answer is a 302 to the PayU page ``/payu/pages/pay/{mihpayid}``
  (approval page for 3-DS / netbanking / wallet / hosted checkout; for final outcomes it posts the
  customer straight back to ``surl`` / ``furl``).
* Server-to-server (``txn_s2s_flow`` set, any value: legacy ``1``, UPI ``2``/``4``): JSON
  ``{"metaData": {message, referenceId, statusCode, txnId, txnStatus, unmappedStatus}, "result": ...}``;
  ``result`` is the full signed response (callback fields + ``hash``) for final outcomes, or
  ``{issuerUrl, acsTemplate, otpPostUrl, enrolled}`` when the customer must act (``issuerUrl`` is the
  page; ``acsTemplate`` a base64 HTML form going there), or the UPI collect details while pending.
* ``additional_charges`` (or ``additionalCharges``) posted by the merchant is echoed back as
  ``additionalCharges`` and prefixed to the reverse hash.
* Request errors: browser → an HTML error page (HTTP 200, like PayU); S2S → ``{"status": "failure",
  "error": code, "message"}``. Codes ``E1001``-``E1007`` are sandbox choices (see ``ERRORS``).
* Decline codes (``error`` / ``error_Message``, also in ``field9``) are sandbox choices: ``E308``
  declined, ``E208`` insufficient funds, ``E217`` expired card, ``E1605`` cancelled by the customer,
  ``E1904`` UPI collect declined.
* Ledger (:mod:`sandbox.ledger`): an ``order`` per accepted ``_payment``, a ``charge`` and a ``capture``
  when it succeeds; ``reference`` is the ``txnid``, ``gateway_id`` the ``mihpayid``.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.context import SandboxContext
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
from sandbox.payu import hashes as h
from sandbox.payu.store import Store, Txn, addedon, digits, rupees
from sandbox.webhooks import Delivery

GATEWAY = "payu"
ERRORS = {
    "hash": ("E1001", "Transaction failed due to incorrectly calculated hash parameter."),
    "missing": ("E1002", "Mandatory param(s) missing"),
    "amount": ("E1003", "Invalid amount"),
    "duplicate": ("E1004", "Duplicate transaction id: this txnid was already used"),
    "card": ("E1005", "Invalid card details"),
    "vpa": ("E1006", "Invalid VPA"),
    "key": ("E1007", "Invalid merchant key"),
}
DECLINES = {
    DeclineReason.CARD_DECLINED: ("E308", "Transaction declined by the bank"),
    DeclineReason.INSUFFICIENT_FUNDS: ("E208", "Insufficient funds"),
    DeclineReason.EXPIRED_CARD: ("E217", "Card expired"),
}
CANCELLED = ("E1605", "Transaction cancelled by the customer")
UPI_DECLINED = ("E1904", "Collect request declined by the payer")
REQUIRED = ("key", "txnid", "amount", "productinfo", "firstname", "email", "phone", "surl", "furl", "hash")
_TXNID = re.compile(r"^[A-Za-z0-9_.-]{1,25}$")


class PayuError(Exception):
    """A ``_payment`` request error (``code``, ``message``), or ``status`` 502 for the gateway-error card."""

    def __init__(self, kind: str, detail: str = "", status: int = 200) -> None:
        code, message = ERRORS.get(kind, ("E500", "Bank was unable to process the transaction"))
        super().__init__(message)
        self.code, self.message, self.status = code, f"{message}{detail}", status


@dataclass(frozen=True)
class Paid:
    """The result of ``_payment``: the transaction, what happens next, and whether to drop the connection."""

    txn: Txn
    outcome: Outcome
    drop: bool = False


def decimal_amount(value: str | None) -> int | None:
    """Paise of a positive decimal string with at most two decimals, or None."""
    try:
        amount = Decimal((value or "").strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


class PayuService:
    """One sandbox's PayU merchants: state plus the rules that move it."""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = Store()

    def pay(self, form: dict[str, str]) -> Paid:
        """``POST /_payment``: validate, check the hash, create the transaction, apply the instrument."""
        missing = [name for name in REQUIRED if not form.get(name)]
        if missing:
            raise PayuError("missing", ": " + ",".join(missing))
        salt = h.SALTS.get(form["key"])
        if salt is None:
            raise PayuError("key")
        if not h.matches(h.request_hash(form, salt), form["hash"]):
            raise PayuError("hash")
        amount = decimal_amount(form["amount"])
        if amount is None:
            raise PayuError("amount")
        existing = self.store.by_merchant_txnid(form["key"], form["txnid"])
        if not _TXNID.match(form["txnid"]) or (existing is not None and existing.status != "failure"):
            raise PayuError("duplicate")
        charges = form.get("additional_charges") or form.get("additionalCharges")
        txn = Txn(
            mihpayid=digits(18),
            key=form["key"],
            txnid=form["txnid"],
            amount=amount,
            posted={k: v for k, v in form.items() if k not in ("ccnum", "ccvv", "hash")},
            mode="CC",
            bankcode="CC",
            s2s=bool(form.get("txn_s2s_flow")),
            additional_charges=rupees(decimal_amount(charges) or 0) if charges else None,
        )
        instrument = self._instrument(txn, form)
        if instrument.outcome is Outcome.GATEWAY_ERROR:
            raise PayuError("gateway", status=502)
        self.store.txns[txn.mihpayid] = txn
        self.store.by_txnid[(txn.key, txn.txnid)] = txn.mihpayid
        self.ctx.ledger.record(GATEWAY, "order", txn.txnid, txn.mihpayid, txn.amount)
        match instrument.outcome:
            case Outcome.SUCCESS:
                self.emit([self.settle(txn, True)])
            case Outcome.CHARGE_THEN_DROP:
                self.settle(txn, True)
                return Paid(txn, instrument.outcome, drop=True)
            case Outcome.DECLINE:
                assert instrument.decline_reason is not None
                self.emit([self.settle(txn, False, DECLINES[instrument.decline_reason])])
            case Outcome.PENDING_SUCCESS | Outcome.PENDING_FAILURE:
                self.ctx.tasks.spawn(self._resolve_later(txn, instrument.outcome))
            case Outcome.REDIRECT:
                self.ctx.tasks.expire(self.ctx.settings.auth_expire_s, lambda: self.decide(txn, False))
        return Paid(txn, instrument.outcome)

    def _instrument(self, txn: Txn, form: dict[str, str]) -> Instrument:
        pg = form.get("pg", "").upper()
        if pg in ("CC", "DC") or form.get("ccnum"):
            number = re.sub(r"\s", "", form.get("ccnum", ""))
            month, year, cvv = form.get("ccexpmon", ""), form.get("ccexpyr", ""), form.get("ccvv", "")
            valid_expiry = month.isdigit() and 1 <= int(month) <= 12 and year.isdigit() and len(year) in (2, 4)
            if not luhn_valid(number) or not valid_expiry or not (cvv.isdigit() and len(cvv) in (3, 4)):
                raise PayuError("card")
            txn.mode, txn.bankcode = pg or "CC", form.get("bankcode") or card_network(number).upper()[:4]
            txn.cardnum, txn.name_on_card = f"{number[:6]}XXXXXX{number[-4:]}", form.get("ccname", "")
            return card_instrument(number)
        if pg == "UPI":
            vpa = form.get("vpa", "")
            if not vpa_valid(vpa):
                raise PayuError("vpa")
            txn.mode, txn.bankcode, txn.vpa = "UPI", "UPI", vpa
            return upi_instrument(vpa)
        if pg in ("NB", "CASH", "WALLET"):
            if not form.get("bankcode"):
                raise PayuError("missing", ": bankcode")
            txn.mode, txn.bankcode = ("NB" if pg == "NB" else "CASH"), form["bankcode"].upper()
        return redirect_instrument()

    def settle(
        self, txn: Txn, success: bool, error: tuple[str, str] | None = None, unmapped: str = "failed"
    ) -> Delivery:
        """Make the transaction final; returns its webhook."""
        if success:
            txn.status, txn.unmappedstatus, txn.bank_ref_num = "success", "captured", digits(12)
            self.ctx.ledger.paid(GATEWAY, txn.txnid, txn.mihpayid, txn.amount)
        else:
            txn.status, txn.unmappedstatus = "failure", unmapped
            txn.error, txn.error_message = error or DECLINES[DeclineReason.CARD_DECLINED]
        return self.webhook(txn)

    def decide(self, txn: Txn, approve: bool) -> None:
        """The customer approved or rejected the PayU / bank page (no-op once decided)."""
        if txn.status == "pending" and not txn.vpa:
            self.emit([self.settle(txn, approve, CANCELLED, "userCancelled")])

    async def _resolve_later(self, txn: Txn, outcome: Outcome) -> None:
        await asyncio.sleep(self.ctx.settings.upi_delay_s)
        if txn.status == "pending":
            self.emit([self.settle(txn, outcome is Outcome.PENDING_SUCCESS, UPI_DECLINED)])

    # ---- wire ---------------------------------------------------------------------------------

    def response_fields(self, txn: Txn) -> dict[str, str]:
        """The signed transaction response (surl / furl callback, webhook, S2S ``result``)."""
        p = txn.posted
        ok = txn.status == "success"
        fields = {
            "mihpayid": txn.mihpayid,
            "mode": txn.mode,
            "status": txn.status,
            "unmappedstatus": txn.unmappedstatus,
            "key": txn.key,
            "txnid": txn.txnid,
            "amount": rupees(txn.amount),
            "discount": "0.00",
            "net_amount_debit": rupees(txn.amount) if ok else "0",
            "addedon": addedon(txn.created_at),
        }
        for name in ("productinfo", "firstname", "lastname", "address1", "address2", "city", "state", "country"):
            fields[name] = p.get(name, "")
        fields.update({"zipcode": p.get("zipcode", ""), "email": p["email"], "phone": p["phone"]})
        fields.update({name: p.get(name, "") for name in h.UDFS})
        fields.update({f"field{i}": "" for i in range(1, 10)})
        fields["field9"] = "Transaction Completed Successfully" if ok else txn.error_message
        fields.update(
            {
                "payment_source": "payu",
                "PG_TYPE": f"{txn.mode}-PG",
                "bank_ref_num": txn.bank_ref_num,
                "bankcode": txn.bankcode,
                "error": txn.error,
                "error_Message": txn.error_message,
                "cardnum": txn.cardnum,
                "name_on_card": txn.name_on_card,
                "cardCategory": "domestic" if txn.cardnum else "",
            }
        )
        if txn.vpa:
            fields["upi_va"] = txn.vpa
        if txn.additional_charges:
            fields["additionalCharges"] = txn.additional_charges
        fields["hash"] = h.reverse_hash(fields, h.SALTS[txn.key])
        return fields

    def s2s_body(self, paid: Paid) -> dict[str, Any]:
        """The JSON answer of a server-to-server ``_payment``."""
        txn = paid.txn
        meta = {
            "message": None if txn.status != "failure" else txn.error_message,
            "referenceId": txn.mihpayid,
            "statusCode": None if txn.status != "failure" else txn.error,
            "txnId": txn.txnid,
            "txnStatus": txn.status,
            "unmappedStatus": txn.unmappedstatus,
            "submerchantId": None,
        }
        if txn.status != "pending":
            return {"metaData": meta, "result": self.response_fields(txn)}
        if txn.vpa:
            result: dict[str, Any] = {"paymentId": txn.mihpayid, "mihpayid": txn.mihpayid, "status": "pending"}
            result.update({"merchantName": "Sandbox Merchant", "merchantVpa": "sandbox@payu"})
            return {"metaData": meta, "result": {**result, "amount": rupees(txn.amount)}}
        url = self.page_url(txn)
        form = f"<form id='f' method='get' action='{url}'></form><script>document.getElementById('f').submit()</script>"
        template = base64.b64encode(f"<html><body>{form}</body></html>".encode()).decode()
        return {
            "metaData": meta,
            "result": {"issuerUrl": url, "acsTemplate": template, "otpPostUrl": url, "enrolled": "1"},
        }

    def page_url(self, txn: Txn) -> str:
        """The customer-facing PayU page of a transaction."""
        return f"{self.ctx.settings.public_url}/{GATEWAY}/pages/pay/{txn.mihpayid}"

    def webhook(self, txn: Txn) -> Delivery:
        """The payment webhook: the response fields, form-encoded, with the reverse ``hash``."""
        return Delivery(
            gateway=GATEWAY,
            event=f"payment.{txn.status}",
            event_id=f"{txn.mihpayid}:{txn.status}",
            url=self.ctx.settings.webhook_target(GATEWAY, txn.posted.get("udf1", "")),
            body=urlencode(self.response_fields(txn)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            tamper=_tamper_form,
        )

    def emit(self, batch: list[Delivery]) -> None:
        """Hand the webhooks produced by one action to the dispatcher."""
        self.ctx.webhooks.emit(batch)


def flip_hex(value: str) -> str:
    """The same hex digest with its last digit changed."""
    return value[:-1] + ("0" if value[-1:] != "0" else "1")


def _tamper_form(delivery: Delivery) -> Delivery:
    fields = dict(parse_qsl(delivery.body.decode(), keep_blank_values=True))
    fields["hash"] = flip_hex(fields["hash"])
    return replace(delivery, body=urlencode(fields).encode())
