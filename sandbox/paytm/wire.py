"""Paytm wire format: the ``{"head", "body"}`` envelope, signatures, result codes, callback fields.

Every JSON response is ``{"head": {"responseTimestamp", "version": "v1", "signature"}, "body": {...}}``
(head first, as Paytm's docs and SDK parser expect); ``head.signature`` is the PaytmChecksum of the
exact ``body`` JSON text as emitted. Request signatures are checked against the exact text of the
request's ``body`` value as it arrived (no re-serialisation).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import msgspec

from sandbox.paytm import checksum

if TYPE_CHECKING:
    from sandbox.paytm.store import Order, Txn

MID = "SANDBOXMID0000000001"
MERCHANT_KEY = "sandboxmerchkey1"  # the published sandbox test account
WEBSITE = "WEBSTAGING"
KEYS = {MID: MERCHANT_KEY}

# (resultStatus, resultCode, resultMsg) of API-level outcomes. Codes other than 0000/0002/F are
# UNCONFIRMED (see gateways.md §7) and chosen here; clients should key on resultStatus.
OK = ("S", "0000", "Success")
IDEMPOTENT = ("S", "0002", "Success Idempotent")
BAD_CHECKSUM = ("F", "2005", "Checksum provided is invalid")
BAD_MID = ("F", "2006", "Mid is invalid")
QUERY_MID_MISMATCH = ("F", "2013", "Mid in the query param doesn't match with the Mid send in the request")
QUERY_ORDER_MISMATCH = ("F", "2014", "OrderId in the query param doesn't match with the OrderId send in the request")
BAD_PARAMS = ("F", "1001", "Request parameters are not valid")
BAD_AMOUNT = ("F", "1007", "Txn amount is invalid")
DUPLICATE_ORDER = ("F", "325", "Duplicate Order Id.")
BAD_TOKEN = ("F", "1006", "Your Session has expired.")
SYSTEM_ERROR = ("F", "501", "System Error")

# (STATUS, RESPCODE, RESPMSG) of transactions.
TXN_SUCCESS = ("TXN_SUCCESS", "01", "Txn Success")
DECLINED = (
    "TXN_FAILURE",
    "227",
    "Your payment has been declined by your bank. Please try again or use a different method to complete the payment.",
)
NO_FUNDS = ("TXN_FAILURE", "202", "User does not have enough credit limit. Bank has declined the transaction")
EXPIRED = ("TXN_FAILURE", "207", "Card used by customer has expired")
CANCELLED = ("TXN_FAILURE", "141", "User has not completed transaction.")
INVALID_VPA = ("TXN_FAILURE", "295", "Invalid UPI ID")
UPI_PENDING = ("PENDING", "400", "Transaction status not confirmed yet.")
BANK_PENDING = (
    "PENDING",
    "402",
    "Looks like the payment is not complete. Please wait while we confirm the status with your bank.",
)
NO_ORDER = ("TXN_FAILURE", "334", "Invalid Order Id.")

PAYMENT_MODES = {"CREDIT_CARD": "CC", "DEBIT_CARD": "DC", "NET_BANKING": "NB", "UPI": "UPI", "BALANCE": "PPI"}


def result_info(code: tuple[str, str, str]) -> dict[str, str]:
    """A ``resultInfo`` object."""
    return {"resultStatus": code[0], "resultCode": code[1], "resultMsg": code[2]}


def paise(value: Any) -> int | None:
    """Minor units of a decimal rupee string with at most two decimals ("10", "10.5", "10.00"), or None."""
    if not isinstance(value, str):
        return None
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


def rupees(minor: int) -> str:
    """``"10.00"`` from 1000."""
    return f"{minor // 100}.{minor % 100:02d}"


def txn_date(ts: float) -> str:
    """Paytm's ``TXNDATE`` style: ``2020-07-24 15:13:02.0``."""
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") + ".0"


def body_text(raw: bytes) -> tuple[dict[str, Any], str]:
    """The parsed envelope and the exact text of its top-level ``body`` value ("" when absent).

    Raises ``ValueError`` for anything that is not a JSON object.
    """
    text = raw.decode("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    decoder = json.JSONDecoder()
    ws = " \t\r\n"
    pos = len(text) - len(text.lstrip(ws)) + 1
    while True:
        while pos < len(text) and text[pos] in ws + ",":
            pos += 1
        if pos >= len(text) or text[pos] == "}":
            return data, ""
        key, pos = decoder.raw_decode(text, pos)
        pos = text.index(":", pos) + 1
        while text[pos] in ws:
            pos += 1
        _, end = decoder.raw_decode(text, pos)
        if key == "body":
            return data, text[pos:end]
        pos = end


def signed(body: dict[str, Any], key: str = MERCHANT_KEY) -> bytes:
    """A response envelope whose ``head.signature`` signs the exact ``body`` text."""
    text = msgspec.json.encode(body).decode()
    head = {
        "responseTimestamp": str(int(time.time() * 1000)),
        "version": "v1",
        "signature": checksum.generate(text, key),
    }
    return b'{"head":' + msgspec.json.encode(head) + b',"body":' + text.encode() + b"}"


def forged(params: checksum.Params, key: str = MERCHANT_KEY) -> str:
    """A well-formed checksum that does not match ``params`` (a tampered signature)."""
    return checksum.generate(checksum.canonical(params) + "|tampered", key)


def callback_fields(order: Order, txn: Txn) -> dict[str, str]:
    """The browser callback / payment webhook fields, ``CHECKSUMHASH`` included (dict-mode checksum)."""
    fields = {
        "BANKNAME": txn.bank_name,
        "BANKTXNID": txn.bank_txn_id,
        "CURRENCY": "INR",
        "GATEWAYNAME": txn.gateway_name,
        "MID": order.mid,
        "ORDERID": order.order_id,
        "PAYMENTMODE": PAYMENT_MODES[txn.payment_mode],
        "RESPCODE": txn.code[1],
        "RESPMSG": txn.code[2],
        "STATUS": txn.code[0],
        "TXNAMOUNT": rupees(order.amount),
        "TXNDATE": txn_date(txn.created_at),
        "TXNID": txn.txn_id,
    }
    if order.merc_unq_ref:
        fields["MERC_UNQ_REF"] = order.merc_unq_ref
    fields["CHECKSUMHASH"] = checksum.generate(fields, KEYS[order.mid])
    return fields


def status_body(order: Order | None, txn: Txn | None) -> dict[str, Any]:
    """The Transaction Status API (v3) ``body``."""
    if order is None or txn is None:
        return {"resultInfo": result_info(NO_ORDER)}
    body: dict[str, Any] = {
        "resultInfo": result_info(txn.code),
        "txnId": txn.txn_id,
        "bankTxnId": txn.bank_txn_id,
        "orderId": order.order_id,
        "txnAmount": rupees(order.amount),
        "txnType": "SALE",
        "gatewayName": txn.gateway_name,
        "bankName": txn.bank_name,
        "mid": order.mid,
        "paymentMode": PAYMENT_MODES[txn.payment_mode],
        "refundAmt": rupees(order.refunded),
        "txnDate": txn_date(txn.created_at),
    }
    if order.merc_unq_ref:
        body["merchantUniqueReference"] = order.merc_unq_ref
    if txn.masked_card:
        body["maskedCardNo"] = txn.masked_card
    if txn.vpa:
        body["vpa"] = txn.vpa
    return body
