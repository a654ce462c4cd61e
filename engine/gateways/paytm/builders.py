"""Request bodies for Paytm, built from the engine's contract (pure, no IO).

Signed requests are returned as ``{"head": ..., "body": msgspec.Raw(bytes)}``: the body is
encoded once, its exact bytes are signed (PaytmChecksum string mode, reference §1.2) and those
same bytes are embedded on the wire, so the signature can never drift from what is sent.
"""

from __future__ import annotations

from typing import Any

import msgspec

from engine import signing
from engine.gateways.base import ChargeRequest, RefundRequest
from engine.gateways.paytm.wire import (
    ExtendInfo,
    InitiateBody,
    Money,
    ProcessBody,
    RefundBody,
    RefundStatusBody,
    SignedHead,
    StatusBody,
    TokenHead,
    UserInfo,
)
from engine.money import to_decimal_string

_encoder = msgspec.json.Encoder()


class UnsupportedMethod(ValueError):
    """The payment method cannot be sent to Paytm (unknown type or missing details)."""


def initiate_body(request: ChargeRequest, *, mid: str, website: str) -> InitiateBody:
    """The initiate-transaction body for an attempt: ``orderId`` = our attempt id.

    ``custId`` is mandatory and we have no customer here, so the engine payment id stands in
    (stable across the payment's attempts). ``extendInfo.mercUnqRef`` carries the engine merchant
    id: the sandbox routes webhooks by it, as a per-account webhook URL would (Paytm echoes it
    back as ``MERC_UNQ_REF``); ``udf1`` / ``udf2`` carry the payment and attempt ids.
    """
    return InitiateBody(
        request_type="Payment",
        mid=mid,
        website_name=website,
        order_id=request.attempt_id,
        txn_amount=Money(to_decimal_string(request.amount, request.currency), request.currency),
        user_info=UserInfo(cust_id=request.payment_id, email=request.customer_email, mobile=request.customer_phone),
        callback_url=request.callback_url,
        extend_info=ExtendInfo(udf1=request.payment_id, udf2=request.attempt_id, merc_unq_ref=request.merchant_id),
    )


def process_body(request: ChargeRequest, *, mid: str) -> ProcessBody:
    """The process-transaction body for the attempt's method. Raises ``UnsupportedMethod``.

    Assumptions (written down, not confirmed by a live account):

    * cards go as ``CREDIT_CARD`` with ``authMode=otp``: Paytm wants ``DEBIT_CARD`` for debit
      cards, which needs a BIN lookup (Fetch BIN API) this connector does not make;
    * ``cardInfo`` = ``|number|cvv|MMYYYY`` (no saved-card id);
    * a wallet is Paytm's own (``BALANCE``); the provider name is sent as ``channelCode``.
    """
    method = request.method
    order_id = request.attempt_id
    if method.type == "card" and method.card is not None:
        card = method.card
        info = f"|{card.number}|{card.cvc}|{card.exp_month:02d}{card.exp_year:04d}"
        return ProcessBody("NATIVE", mid, order_id, "CREDIT_CARD", card_info=info, auth_mode="otp")
    if method.type == "upi" and method.vpa:
        return ProcessBody("NATIVE", mid, order_id, "UPI", payer_account=method.vpa)
    if method.type == "netbanking" and method.bank_code:
        return ProcessBody("NATIVE", mid, order_id, "NET_BANKING", channel_code=method.bank_code)
    if method.type == "wallet" and method.wallet_provider:
        return ProcessBody("NATIVE", mid, order_id, "BALANCE", channel_code=method.wallet_provider.upper())
    raise UnsupportedMethod(f"payment method {method.type!r} is not supported or incomplete")


def status_body(order_id: str, *, mid: str) -> StatusBody:
    """The transaction-status (v3) body."""
    return StatusBody(mid, order_id)


def refund_body(request: RefundRequest, *, mid: str, order_id: str, txn_id: str) -> RefundBody:
    """The refund body: ``refId`` = our refund id (Paytm rejects a repeated refId)."""
    return RefundBody(
        txn_type="REFUND",
        mid=mid,
        order_id=order_id,
        txn_id=txn_id,
        ref_id=request.refund_id,
        refund_amount=to_decimal_string(request.amount, request.currency),
        comments=request.reason,
    )


def refund_status_body(request: RefundRequest, *, mid: str, order_id: str) -> RefundStatusBody:
    """The refund-status body, by our refund id."""
    return RefundStatusBody(mid, order_id, request.refund_id)


def signed(body: msgspec.Struct, key: str, *, now: int) -> dict[str, Any]:
    """``{"head": {signature, …}, "body": <exact signed bytes>}`` for a checksum API."""
    raw = _encoder.encode(body)
    signature = signing.paytm_generate_checksum(raw.decode(), key)
    return {"head": SignedHead(signature=signature, request_timestamp=str(now)), "body": msgspec.Raw(raw)}


def with_token(body: ProcessBody, token: str, *, now: int) -> dict[str, Any]:
    """``{"head": {txnToken, …}, "body": …}`` for process-transaction."""
    return {"head": TokenHead(txn_token=token, request_timestamp=str(now)), "body": body}
