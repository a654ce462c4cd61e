"""Pure mapping of PayU's answers and signed messages to the engine's contract (no IO).

PayU signs a transaction's response fields with the *reverse hash* (reference §3.3); a
success is believed only from fields whose hash verifies and whose ``txnid`` and amount are
ours. Everything unproven -- timeouts, drops, empty/HTML/garbled bodies, a 5xx without PayU's
failure document, unknown statuses -- is ``UNKNOWN`` and settled by ``verify_payment``.
``RETRYABLE``: the request never left, or PayU refused it before creating a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine import signing
from engine.errors import ValidationError
from engine.gateways.base import AttemptRef, ChargeResult, Outcome, RefundOutcome, RefundResult
from engine.gateways.common import safe_redirect_url
from engine.gateways.common import why as _why
from engine.gateways.http import HttpResult, Transport
from engine.gateways.payu import codes
from engine.money import from_decimal_string

HASH_FIELD = "hash"


def verify_fields(fields: Mapping[str, Any], salt: str) -> bool:
    """True when ``fields`` carry PayU's reverse hash over themselves (constant time).

    ``additionalCharges`` (or the docs' ``additional_charges``) is prefixed when present.
    """
    received = fields.get(HASH_FIELD)
    if not isinstance(received, str) or not received or not all(isinstance(v, str) for v in fields.values()):
        return False
    charges = fields.get("additionalCharges") or fields.get("additional_charges") or None
    expected = signing.payu_reverse_hash(fields, salt, charges)
    return bool(signing.constant_time_equal(expected, received.strip().lower()))


def map_fields(fields: Mapping[str, Any], ref: AttemptRef | None, txnid: str | None) -> ChargeResult:
    """Map a transaction's (verified) fields: callback, webhook, S2S ``result`` or
    ``verify_payment`` details. With ``ref``, a success for another amount is ``UNKNOWN``."""
    status = _s(fields.get("status"))
    mihpayid = _s(fields.get("mihpayid"))
    order_id = _s(fields.get("txnid")) or txnid
    if txnid and order_id != txnid:
        return _unknown("order_mismatch", txnid, mihpayid, status)
    outcome = codes.payment_outcome(status, _s(fields.get("unmappedstatus")))
    if outcome in (Outcome.CAPTURED, Outcome.AUTHORIZED):
        amount = _minor(fields.get("amount") or fields.get("amt"), ref.currency if ref else "INR")
        if amount is None or (ref is not None and amount != ref.amount):
            return _unknown("amount_mismatch", order_id, mihpayid, status)
        captured = amount if outcome is Outcome.CAPTURED else 0
        return ChargeResult(outcome, mihpayid, order_id, amount_captured=captured, raw_status=status)
    if outcome is Outcome.DECLINED:
        error = _s(fields.get("error")) or _s(fields.get("error_code"))
        message = _s(fields.get("error_Message")) or _s(fields.get("field9"))
        return ChargeResult(outcome, mihpayid, order_id, decline_code=codes.decline_code(error, message),
                            error_code=error, error_message=message, raw_status=status)  # fmt: skip
    return ChargeResult(outcome, mihpayid, order_id, raw_status=status)


def map_payment(
    result: HttpResult, salt: str, txnid: str, ref: AttemptRef, *, trusted_hosts: frozenset[str] = frozenset()
) -> ChargeResult:
    """Map a server-to-server ``_payment`` answer (``{"metaData", "result"}`` or an error)."""
    if result.transport is Transport.NOT_SENT:
        return _retryable("payment_not_sent", "payment request never left", txnid)
    if result.transport is Transport.UNKNOWN:
        return _unknown("transport_" + (result.error or "error"), txnid)
    data = result.data if result.parsed and isinstance(result.data, dict) else None
    if data is None:
        return _unknown(f"unreadable_answer_http_{result.status}", txnid)
    if data.get("status") == "failure" and isinstance(data.get("error"), str):
        return _refused(data["error"], _s(data.get("message")), txnid, server_error=result.status >= 500)
    meta, body = data.get("metaData"), data.get("result")
    if not result.ok or not isinstance(meta, dict):
        return _unknown(f"http_{result.status}", txnid)
    mihpayid = _s(meta.get("referenceId")) or (_s(body.get("mihpayid")) if isinstance(body, dict) else None)
    if isinstance(body, dict) and HASH_FIELD in body:
        if not verify_fields(body, salt):
            return _unknown("signature_invalid", txnid, mihpayid)
        return map_fields(body, ref, txnid)
    status = (_s(meta.get("txnStatus")) or "").lower()
    if status == "pending" and isinstance(body, dict):
        url = _s(body.get("issuerUrl"))
        if url:
            if not safe_redirect_url(url, trusted_hosts):
                return _unknown("invalid_redirect_url", txnid, mihpayid)
            return ChargeResult(Outcome.REQUIRES_ACTION, mihpayid, txnid, redirect_url=url, raw_status="pending")
        return ChargeResult(Outcome.PROCESSING, mihpayid, txnid, raw_status="pending")
    # A final status without signed fields proves nothing: confirm with verify_payment.
    return _unknown("unsigned_result", txnid, mihpayid, status or None)


def map_verify(result: HttpResult, txnid: str, ref: AttemptRef) -> ChargeResult:
    """Map ``verify_payment`` (``transaction_details[txnid]``). "Not Found" is ``UNKNOWN`` with
    ``raw_status="no_payment"``: the engine decides when that is old enough to give up."""
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    details = data.get("transaction_details") if data else None
    item = details.get(txnid) if isinstance(details, dict) else None
    if not isinstance(item, dict):
        return _unknown(_why(result), txnid, ref.gateway_reference)
    if str(item.get("status", "")).lower() == "not found":
        return ChargeResult(Outcome.UNKNOWN, None, txnid, raw_status="no_payment")
    return map_fields(item, ref, txnid)


def map_refund(result: HttpResult) -> RefundResult:
    """Map ``cancel_refund_transaction``: queued is ``PENDING`` (PayU refunds are asynchronous);
    a reused token means the refund already exists (``PENDING``: its webhook settles it)."""
    if result.transport is Transport.NOT_SENT:
        return RefundResult(RefundOutcome.FAILED, error_code="gateway_unavailable",
                            error_message="refund request never reached PayU")  # fmt: skip
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    if data is None or data.get("status") not in (0, 1):
        return RefundResult(RefundOutcome.UNKNOWN, error_code=_why(result))
    code = str(data.get("error_code") or "")
    request_id = _s(str(data["request_id"])) if data.get("request_id") is not None else None
    if data["status"] == 1:
        outcome = RefundOutcome.SUCCEEDED if code in codes.REFUND_SUCCESS_CODES else RefundOutcome.PENDING
        return RefundResult(outcome, request_id)
    if code in codes.REFUND_DUPLICATE_CODES:
        return RefundResult(RefundOutcome.PENDING, request_id, error_code=f"refund_exists_{code}")
    return RefundResult(RefundOutcome.FAILED, error_code=code or "refund_refused", error_message=_s(data.get("msg")))


def map_action_status(result: HttpResult, request_id: str) -> RefundResult:
    """Map ``check_action_status`` for one refund request."""
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    details = data.get("transaction_details") if data else None
    item = details.get(request_id) if isinstance(details, dict) else None
    if not isinstance(item, dict):
        return RefundResult(RefundOutcome.UNKNOWN, request_id, error_code=_why(result))
    return map_refund_item(item, request_id)


def map_refund_item(item: Mapping[str, Any], request_id: str | None) -> RefundResult:
    """A refund action's ``status`` (action status, refund webhook); unknown ones are pending."""
    status = str(item.get("status") or "").lower()
    outcome = codes.REFUND_STATUS.get(status, RefundOutcome.PENDING)
    failed = outcome is RefundOutcome.FAILED
    return RefundResult(outcome, request_id, error_code=status if failed else None)


def _refused(error: str, message: str | None, txnid: str, *, server_error: bool) -> ChargeResult:
    """PayU's ``{"status": "failure", "error"}``: the request was refused, no transaction made."""
    if error in codes.REQUEST_DUPLICATE:
        return _unknown(error, txnid)  # an earlier request with this txnid got through
    if server_error or error in codes.REQUEST_RETRYABLE:
        return ChargeResult(Outcome.RETRYABLE, None, txnid, error_code=error, error_message=message)
    decline = "invalid_request" if error in codes.REQUEST_INVALID else codes.decline_code(error, message)
    return ChargeResult(Outcome.DECLINED, None, txnid, decline_code=decline, error_code=error,
                        error_message=message, raw_status="failure")  # fmt: skip


def _minor(value: object, currency: str) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return from_decimal_string(value, currency)
    except ValidationError:
        return None


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _unknown(code: str, txnid: str | None, mihpayid: str | None = None, raw: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.UNKNOWN, mihpayid, txnid, error_code=code, raw_status=raw)


def _retryable(code: str, message: str | None, txnid: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.RETRYABLE, None, txnid, error_code=code, error_message=message)
