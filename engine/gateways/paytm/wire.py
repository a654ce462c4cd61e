"""Paytm PG's wire types (msgspec Structs), as its API documents them.

Every JSON API wraps its payload as ``{"head": {...}, "body": {...}}``; the merchant's requests
carry ``head.signature`` (PaytmChecksum over the exact ``body`` bytes sent) and Paytm signs the
``body`` of its answers the same way. Response Structs give every field a default and ignore
unknown fields, so only a wrong *type* makes an answer unreadable (which the transformers treat
as garbled, i.e. ``UNKNOWN``).

Sources: reference/gateways.md §1; Paytm's API docs (initiate-transaction, process-transaction,
v3 transaction-status, refund, refund-status); the official pg-python SDK's request/response
models; juspay/connector-service's Paytm connector (process-transaction response shapes).
"""

from __future__ import annotations

from typing import Any

import msgspec

# --- requests ---------------------------------------------------------------------------


class Money(msgspec.Struct, frozen=True):
    """``txnAmount``: a decimal string in rupees (``"1.00"``) and ``"INR"``."""

    value: str
    currency: str


class UserInfo(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """``userInfo``: ``custId`` is mandatory (the SDK refuses a request without it)."""

    cust_id: str
    email: str | None = None
    mobile: str | None = None


class ExtendInfo(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """``extendInfo``: merchant fields Paytm echoes back (our references ride here)."""

    udf1: str | None = None
    udf2: str | None = None
    udf3: str | None = None
    merc_unq_ref: str | None = None


class InitiateBody(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """``POST /theia/api/v1/initiateTransaction`` body (its JSON text is what gets signed).

    Constant fields (``requestType``) have no default: ``omit_defaults`` would drop them.
    """

    request_type: str  # "Payment"
    mid: str
    website_name: str
    order_id: str
    txn_amount: Money
    user_info: UserInfo
    callback_url: str
    extend_info: ExtendInfo | None = None


class ProcessBody(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """``POST /theia/api/v1/processTransaction`` body (authenticated by ``head.txnToken``).

    ``card_info`` is ``savedCardId|cardNumber|cvv|expiryMMYYYY`` (Paytm docs: "saveCardId |
    cardNo | cvv | expDate"), so ``repr`` never shows it.
    """

    request_type: str  # "NATIVE"
    mid: str
    order_id: str
    payment_mode: str  # CREDIT_CARD | DEBIT_CARD | UPI | NET_BANKING | BALANCE
    card_info: str | None = None
    auth_mode: str | None = None
    payer_account: str | None = None  # UPI collect: the customer's VPA
    channel_code: str | None = None  # netbanking: Paytm's bank code

    def __repr__(self) -> str:
        return f"ProcessBody(order_id={self.order_id!r}, payment_mode={self.payment_mode!r})"


class StatusBody(msgspec.Struct, frozen=True, rename="camel"):
    """``POST /v3/order/status`` body."""

    mid: str
    order_id: str


class RefundBody(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    """``POST /refund/apply`` body. ``ref_id`` is the merchant's unique refund id (≤ 50)."""

    txn_type: str  # "REFUND"
    mid: str
    order_id: str
    txn_id: str
    ref_id: str
    refund_amount: str
    comments: str | None = None


class RefundStatusBody(msgspec.Struct, frozen=True, rename="camel"):
    """``POST /v2/refund/status`` body."""

    mid: str
    order_id: str
    ref_id: str


class SignedHead(msgspec.Struct, frozen=True, rename="camel"):
    """``head`` of a checksum-authenticated request."""

    signature: str
    request_timestamp: str
    channel_id: str = "WEB"
    version: str = "v1"


class TokenHead(msgspec.Struct, frozen=True, rename="camel"):
    """``head`` of a process-transaction request (the txn token is the credential)."""

    txn_token: str
    request_timestamp: str
    channel_id: str = "WEB"
    version: str = "v1"

    def __repr__(self) -> str:
        return "TokenHead(txn_token=***)"


# --- responses --------------------------------------------------------------------------


class ResultInfo(msgspec.Struct, frozen=True, rename="camel"):
    """``resultInfo``: ``S``/``F`` (APIs) or ``TXN_SUCCESS``/``TXN_FAILURE``/``PENDING`` (status)."""

    result_status: str = ""
    result_code: str = ""
    result_msg: str | None = None


class ResponseHead(msgspec.Struct, frozen=True, rename="camel"):
    """``head`` of an answer; ``signature`` signs the exact ``body`` text."""

    signature: str | None = None
    response_timestamp: str | None = None
    version: str | None = None


class Envelope(msgspec.Struct, frozen=True):
    """An answer with its ``body`` kept as the raw bytes Paytm signed."""

    body: msgspec.Raw
    head: ResponseHead = ResponseHead()


class InitiateAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """Initiate-transaction ``body``."""

    result_info: ResultInfo = ResultInfo()
    txn_token: str | None = None


class RedirectForm(msgspec.Struct, frozen=True, rename="camel"):
    """``bankForm.redirectForm``: where the customer's browser must go next."""

    action_url: str = ""
    method: str = "post"
    content: dict[str, str] = {}


class BankForm(msgspec.Struct, frozen=True, rename="camel"):
    """``bankForm`` of a process-transaction answer (card OTP, bank or wallet page)."""

    redirect_form: RedirectForm | None = None
    page_type: str | None = None


class ProcessAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """Process-transaction ``body``: a bank form, a final ``txnInfo`` or just ``resultInfo``."""

    result_info: ResultInfo = ResultInfo()
    bank_form: BankForm | None = None
    txn_info: dict[str, Any] | None = None  # callback-style upper-case fields (STATUS, TXNID, …)
    trans_id: str | None = None  # UPI collect: Paytm's transaction id


class StatusAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """Transaction-status (v3) ``body``."""

    result_info: ResultInfo = ResultInfo()
    txn_id: str | None = None
    bank_txn_id: str | None = None
    order_id: str | None = None
    txn_amount: str | None = None
    payment_mode: str | None = None
    refund_amt: str | None = None
    txn_type: str | None = None


class RefundAnswer(msgspec.Struct, frozen=True, rename="camel"):
    """Refund-apply and refund-status ``body`` (both carry our ``refId`` and Paytm's ``refundId``)."""

    result_info: ResultInfo = ResultInfo()
    ref_id: str | None = None
    refund_id: str | None = None
    refund_amount: str | None = None
    order_id: str | None = None
    txn_id: str | None = None
