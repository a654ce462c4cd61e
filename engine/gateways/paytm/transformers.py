"""Pure mapping of Paytm's answers to the engine's contract (no IO).

Rules: an answer becomes ``DECLINED`` only when Paytm explicitly failed the transaction
(``TXN_FAILURE`` with a deciding code, or a process-transaction ``F``); a success is believed
only from a *signed* body (``head.signature`` over the exact body bytes, reference §1.2) whose
order and amount are ours. Timeouts, drops, empty/HTML/garbled bodies, unsigned or badly signed
answers and unknown statuses are ``UNKNOWN`` (settled later by the signed status API).
``RETRYABLE`` is kept for failures before any transaction existed (initiate, or a request that
never left).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec

from engine import signing
from engine.errors import ValidationError
from engine.gateways.base import AttemptRef, ChargeResult, Outcome, RefundOutcome, RefundRequest, RefundResult
from engine.gateways.common import safe_redirect_url
from engine.gateways.http import HttpResult, Transport
from engine.gateways.paytm import codes
from engine.gateways.paytm.wire import (
    Envelope,
    InitiateAnswer,
    ProcessAnswer,
    RedirectForm,
    RefundAnswer,
    StatusAnswer,
)
from engine.money import from_decimal_string

T = TypeVar("T")
_envelope = msgspec.json.Decoder(Envelope)


def convert(data: Any, typ: type[T]) -> T | None:
    """``data`` (parsed JSON) as ``typ``, or ``None`` when its shape or types do not match."""
    try:
        return msgspec.convert(data, typ)
    except (msgspec.ValidationError, TypeError):
        return None


def open_body(result: HttpResult, key: str, typ: type[T], *, signed: bool) -> tuple[T | None, str]:
    """The answer's ``body`` as ``typ`` and ``""``, or ``None`` and why it cannot be used.

    With ``signed``, ``head.signature`` must verify over the body's exact bytes (verification
    is PaytmChecksum's, through ``engine.signing``). Without it, a *present* signature must
    still verify -- a wrong one means the answer was tampered with.
    """
    if result.transport is not Transport.ANSWERED:
        return None, "transport_" + (result.error or result.transport.value)
    try:
        envelope = _envelope.decode(result.body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, f"unreadable_answer_http_{result.status}"
    raw = bytes(envelope.body)
    signature = envelope.head.signature
    if signature or signed:
        if not signature:
            return None, "signature_missing"
        if not signing.paytm_verify_checksum(raw.decode("utf-8", "replace"), key, signature):
            return None, "signature_invalid"
    try:
        return msgspec.json.decode(raw, type=typ), ""
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, f"unreadable_answer_http_{result.status}"


def minor_units(value: object, currency: str = "INR") -> int | None:
    """A Paytm amount string (``"1.00"``) in minor units, ``None`` when malformed."""
    if not isinstance(value, str):
        return None
    try:
        return from_decimal_string(value, currency)
    except ValidationError:
        return None


# --- payments ---------------------------------------------------------------------------


def map_initiate(result: HttpResult, key: str) -> str | ChargeResult:
    """The ``txnToken``, or why the attempt stops. Nothing can be charged on an initiated
    order, so every failure is ``RETRYABLE`` (an orphaned order is harmless). ``0002``
    ("success idempotent": the same orderId initiated again) still carries the token."""
    body, why = open_body(result, key, InitiateAnswer, signed=False)
    if body is None:
        return _retryable("initiate_" + why, "initiate transaction failed")
    info = body.result_info
    if info.result_status == "S" and body.txn_token:
        return body.txn_token
    return _retryable(f"initiate_{info.result_code or 'failed'}", info.result_msg)


def map_process(
    result: HttpResult, key: str, order_id: str, *, trusted_hosts: frozenset[str] = frozenset()
) -> ChargeResult:
    """Map a process-transaction answer.

    A bank form is ``REQUIRES_ACTION``; ``S`` without one (UPI collect) is ``PROCESSING``; a
    ``txnInfo`` is mapped like a callback except that a success is returned as ``UNKNOWN`` with
    ``raw_status="confirm"``: the connector confirms it with the signed status API.
    """
    if result.transport is Transport.NOT_SENT:
        return _retryable("process_not_sent", "process transaction never left", order_id)
    body, why = open_body(result, key, ProcessAnswer, signed=False)
    if body is None:
        return _unknown(why, order_id)
    info = body.result_info
    if body.txn_info:
        mapped = map_txn_fields(body.txn_info, None)
        if mapped.outcome is Outcome.CAPTURED:
            return ChargeResult(Outcome.UNKNOWN, mapped.gateway_reference, order_id, raw_status="confirm")
        return msgspec.structs.replace(mapped, gateway_order_id=order_id)
    if info.result_status == "F":
        outcome, decline = codes.process_failure(info.result_code)
        return ChargeResult(
            outcome,
            body.trans_id,
            order_id,
            decline_code=decline if outcome is Outcome.DECLINED else None,
            error_code=info.result_code or "process_failed",
            error_message=info.result_msg,
            raw_status="F",
        )
    if info.result_status != "S":
        return _unknown(f"result_{info.result_status or 'missing'}", order_id)
    form = body.bank_form.redirect_form if body.bank_form else None
    if form is not None:
        url = redirect_url(form)
        if url is None or not safe_redirect_url(url, trusted_hosts):
            return _unknown("invalid_redirect_url", order_id, body.trans_id)
        return ChargeResult(Outcome.REQUIRES_ACTION, body.trans_id, order_id, redirect_url=url, raw_status="bank_form")
    return ChargeResult(Outcome.PROCESSING, body.trans_id, order_id, raw_status=info.result_code or "S")


def map_status(result: HttpResult, key: str, ref: AttemptRef, order_id: str) -> ChargeResult:
    """Map a transaction-status (v3) answer; its signature is required (it settles money)."""
    body, why = open_body(result, key, StatusAnswer, signed=True)
    if body is None:
        return _unknown(why, order_id, ref.gateway_reference)
    info = body.result_info
    if body.order_id and body.order_id != order_id:
        return _unknown("order_mismatch", order_id, ref.gateway_reference, info.result_status)
    fields = {
        "STATUS": info.result_status,
        "RESPCODE": info.result_code,
        "RESPMSG": info.result_msg,
        "TXNID": body.txn_id,
        "TXNAMOUNT": body.txn_amount,
        "ORDERID": body.order_id or order_id,
    }
    mapped = map_txn_fields(fields, ref)
    if mapped.outcome is Outcome.UNKNOWN and info.result_code in codes.UNDECIDED_CODES:
        return msgspec.structs.replace(mapped, raw_status=codes.UNDECIDED_CODES[info.result_code])
    return mapped


def map_txn_fields(fields: Mapping[str, Any], ref: AttemptRef | None) -> ChargeResult:
    """Map callback-style fields (``STATUS``, ``RESPCODE``, ``TXNID``, ``TXNAMOUNT``, ``ORDERID``).

    With ``ref``, a success for another amount or currency is ``UNKNOWN`` (to reconcile).
    """
    status = _str(fields.get("STATUS"))
    code = _str(fields.get("RESPCODE"))
    txn_id = _str(fields.get("TXNID")) or (ref.gateway_reference if ref else None)
    order_id = _str(fields.get("ORDERID"))
    outcome, decline = codes.payment_outcome(status, code)
    if outcome is Outcome.CAPTURED:
        currency = _str(fields.get("CURRENCY")) or (ref.currency if ref else "INR")
        amount = minor_units(fields.get("TXNAMOUNT"), currency)
        if amount is None or (ref is not None and (amount != ref.amount or currency != ref.currency)):
            return _unknown("amount_mismatch", order_id, txn_id, status)
        return ChargeResult(outcome, txn_id, order_id, amount_captured=amount, raw_status=status)
    return ChargeResult(
        outcome,
        txn_id,
        order_id,
        decline_code=decline,
        error_code=code if outcome is not Outcome.PROCESSING else None,
        error_message=_str(fields.get("RESPMSG")) if outcome is Outcome.DECLINED else None,
        raw_status=status or None,
    )


# --- refunds ----------------------------------------------------------------------------


def map_refund(result: HttpResult, key: str, request: RefundRequest) -> RefundResult:
    """Map a refund-apply or refund-status answer (signed). Paytm refunds are asynchronous:
    an accepted refund is ``PENDING`` until the refund webhook or refund status settles it."""
    if result.transport is Transport.NOT_SENT:
        return RefundResult(RefundOutcome.FAILED, error_code="gateway_unavailable",
                            error_message="refund request never reached Paytm")  # fmt: skip
    body, why = open_body(result, key, RefundAnswer, signed=True)
    if body is None:
        return RefundResult(RefundOutcome.UNKNOWN, error_code=why)
    if body.ref_id and body.ref_id != request.refund_id:
        return RefundResult(RefundOutcome.UNKNOWN, body.refund_id, error_code="refund_mismatch")
    info = body.result_info
    outcome = codes.REFUND_STATUS.get(info.result_status)
    if outcome is None:
        # "F" (refused outright) is final; anything else unrecognised is left unresolved.
        outcome = RefundOutcome.FAILED if info.result_status == "F" else RefundOutcome.UNKNOWN
    amount = minor_units(body.refund_amount, request.currency) if body.refund_amount else None
    if outcome is not RefundOutcome.FAILED and amount is not None and amount != request.amount:
        return RefundResult(RefundOutcome.UNKNOWN, body.refund_id, error_code="amount_mismatch")
    failed = outcome is RefundOutcome.FAILED
    return RefundResult(
        outcome,
        body.refund_id,
        error_code=(info.result_code or info.result_status) if failed else None,
        error_message=info.result_msg if failed else None,
    )


# --- helpers ----------------------------------------------------------------------------


def redirect_url(form: RedirectForm) -> str | None:
    """The URL a customer's browser opens for a bank form.

    The engine's ``next_action`` is a plain URL, so a form's fields become query parameters
    (assumption: Paytm's and the sandbox's pages accept them by GET as well as by POST).
    """
    if not form.action_url:
        return None
    if not form.content:
        return form.action_url
    sep = "&" if "?" in form.action_url else "?"
    return form.action_url + sep + urlencode(form.content)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _unknown(code: str, order_id: str | None, txn_id: str | None = None, raw: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.UNKNOWN, txn_id, order_id, error_code=code, raw_status=raw)


def _retryable(code: str, message: str | None, order_id: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.RETRYABLE, None, order_id, error_code=code, error_message=message)
