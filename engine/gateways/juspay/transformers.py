"""Pure mapping of Juspay's answers to the engine's contract (no IO).

Juspay answers JSON: order objects (create, status, refunds, webhooks), transaction answers
(``/txns``) and errors ``{"status": "error", "error_code", "error_message"}`` (reference §4.9).
Amounts come back as JSON *numbers* (``10.0``), read by the lenient :func:`amount_minor`.
Anything unproven is ``UNKNOWN``; ``RETRYABLE`` only when no transaction can exist (order
creation, a request that never left, a PG Juspay says it never reached).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.gateways.base import AttemptRef, ChargeResult, Outcome, RefundOutcome, RefundResult
from engine.gateways.common import safe_redirect_url
from engine.gateways.common import why as _why
from engine.gateways.http import HttpResult, Transport
from engine.gateways.juspay import codes
from engine.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR, to_decimal_string


def amount_minor(value: object, currency: str) -> int | None:
    """Minor units of a Juspay amount -- a JSON number (``10``, ``10.0``, ``10.5``) or a decimal
    string -- or ``None`` when it is not an exact amount in ``currency``.

    Lenient where ``engine.money.from_decimal_string`` is strict: Juspay serialises doubles, so
    the number of decimals varies. Floats are read through ``repr`` (shortest round-trip form),
    never through binary arithmetic; more precision than the currency has is refused.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        return None
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value() or minor > MAX_AMOUNT_MINOR:
        return None
    return int(minor)


def error_of(result: HttpResult) -> tuple[str, str | None] | None:
    """``(error_code, error_message)`` of a Juspay error document, else ``None``."""
    data = result.data if result.parsed and isinstance(result.data, dict) else None
    if data is None or not isinstance(data.get("error_code"), str):
        return None
    message = data.get("error_message")
    return data["error_code"], message if isinstance(message, str) else None


# --- customers and orders -----------------------------------------------------------------


def map_customer(result: HttpResult) -> str | None:
    """Juspay's customer id (``cst_…``) from a customer object, else ``None``."""
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    value = data.get("id") if data else None
    return value if isinstance(value, str) and value else None


def map_order_created(result: HttpResult, order_id: str) -> str | ChargeResult:
    """The order id, or why the attempt stops. No money moves on an order, so failures are
    ``RETRYABLE`` -- except a 400 refusing our input, which is an invalid request."""
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    if data is not None and data.get("order_id") == order_id:
        return order_id
    error = error_of(result)
    if result.answered and result.status == 400 and error is not None:
        return ChargeResult(Outcome.DECLINED, None, order_id, decline_code="invalid_request",
                            error_code=error[0], error_message=error[1], raw_status="order_refused")  # fmt: skip
    why = "transport_" + (result.error or result.transport.value) if not result.answered else f"http_{result.status}"
    return ChargeResult(Outcome.RETRYABLE, None, order_id, error_code="order_" + why,
                        error_message=error[1] if error else None)  # fmt: skip


def map_order(order: Mapping[str, Any], ref: AttemptRef | None) -> ChargeResult:
    """Map an order object (Order Status, refund answers, webhooks).

    No transaction yet (``NEW``/``CREATED``/``NOT_FOUND``) is ``UNKNOWN`` with
    ``raw_status="no_payment"``. With ``ref``, a success for another amount is ``UNKNOWN``.
    """
    status = _s(order.get("status"))
    order_id = _s(order.get("order_id"))
    txn = _s(order.get("txn_uuid")) or (ref.gateway_reference if ref else None)
    if status in codes.NO_TRANSACTION:
        return ChargeResult(Outcome.UNKNOWN, txn, order_id, raw_status="no_payment")
    outcome = codes.order_outcome(status)
    if outcome in (Outcome.CAPTURED, Outcome.AUTHORIZED):
        currency = _s(order.get("currency")) or (ref.currency if ref else "INR")
        amount = amount_minor(order.get("amount"), currency)
        if amount is None or (ref is not None and (amount != ref.amount or currency != ref.currency)):
            return ChargeResult(Outcome.UNKNOWN, txn, order_id, error_code="amount_mismatch", raw_status=status)
        captured = amount if outcome is Outcome.CAPTURED else 0
        if status == "PARTIAL_CHARGED":
            # Never guess how much moved: without a plausible captured amount the answer is open.
            captured = amount_minor(order.get("amount_captured"), currency) or 0
            if not 0 < captured < amount:
                return ChargeResult(
                    Outcome.UNKNOWN, txn, order_id, error_code="capture_amount_unknown", raw_status=status
                )
        return ChargeResult(outcome, txn, order_id, amount_captured=captured, raw_status=status)
    if outcome is Outcome.DECLINED:
        bank_code = _s(order.get("bank_error_code"))
        return ChargeResult(outcome, txn, order_id, decline_code=codes.decline_code(status, bank_code),
                            error_code=bank_code or status, error_message=_s(order.get("bank_error_message")),
                            raw_status=status)  # fmt: skip
    return ChargeResult(outcome, txn, order_id, raw_status=status)


def map_status(result: HttpResult, ref: AttemptRef, order_id: str) -> ChargeResult:
    """Map ``GET /orders/{order_id}``; a 404 ``object_not_found`` means no payment exists."""
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    if data is not None:
        if data.get("order_id") != order_id:
            return ChargeResult(Outcome.UNKNOWN, ref.gateway_reference, order_id, error_code="order_mismatch")
        return map_order(data, ref)
    error = error_of(result)
    if result.answered and result.status == 404 and error is not None and error[0] == "object_not_found":
        return ChargeResult(Outcome.UNKNOWN, None, order_id, raw_status="no_payment")
    return ChargeResult(Outcome.UNKNOWN, ref.gateway_reference, order_id, error_code=_why(result))


# --- transactions ---------------------------------------------------------------------------


def map_txn(
    result: HttpResult, ref: AttemptRef, order_id: str, *, upi: bool, trusted_hosts: frozenset[str] = frozenset()
) -> ChargeResult:
    """Map a ``POST /txns`` answer: ``{order_id, txn_id, txn_uuid, status, payment?}``.

    ``PENDING_VBV`` with an authentication URL is ``REQUIRES_ACTION`` -- except UPI collect,
    which is ``PROCESSING`` (the customer approves in the UPI app; the page only waits).
    ``CHARGED`` is captured for the order's amount (we created the order moments ago).
    """
    if result.transport is Transport.NOT_SENT:
        return ChargeResult(Outcome.RETRYABLE, None, order_id, error_code="txn_not_sent")
    if result.transport is Transport.UNKNOWN:
        return ChargeResult(Outcome.UNKNOWN, None, order_id, error_code="transport_" + (result.error or "error"))
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    if data is None:
        return _txn_error(result, order_id)
    if data.get("order_id") not in (None, order_id):
        return ChargeResult(Outcome.UNKNOWN, None, order_id, error_code="order_mismatch")
    status = _s(data.get("status"))
    txn = _s(data.get("txn_uuid"))
    if status == "PENDING_VBV" and not upi:
        auth = data.get("payment", {}).get("authentication") if isinstance(data.get("payment"), dict) else None
        url = _s(auth.get("url")) if isinstance(auth, dict) else None
        if url is None or not safe_redirect_url(url, trusted_hosts) or str(auth.get("method", "GET")).upper() != "GET":
            return ChargeResult(Outcome.UNKNOWN, txn, order_id, error_code="invalid_redirect_url", raw_status=status)
        return ChargeResult(Outcome.REQUIRES_ACTION, txn, order_id, redirect_url=url, raw_status=status)
    if status is None:
        return ChargeResult(Outcome.UNKNOWN, txn, order_id, error_code="unreadable_answer")
    # The answer has no amount: it is the order's, which we created for ``ref.amount``.
    order = {"order_id": order_id, "amount": to_decimal_string(ref.amount, ref.currency), "currency": ref.currency}
    return map_order({**data, **order}, ref)


def _txn_error(result: HttpResult, order_id: str) -> ChargeResult:
    error = error_of(result)
    if error is None:
        return ChargeResult(Outcome.UNKNOWN, None, order_id, error_code=_why(result))
    code, message = error
    if result.status >= 500:
        outcome = Outcome.RETRYABLE if code in codes.NOT_FORWARDED else Outcome.UNKNOWN
        return ChargeResult(outcome, None, order_id, error_code=code, error_message=message)
    if result.status in (401, 403, 429):  # refused at the door: our account, not the customer
        return ChargeResult(Outcome.RETRYABLE, None, order_id, error_code=code, error_message=message)
    if code in codes.ALREADY_STARTED:  # an earlier transaction on this order exists
        return ChargeResult(Outcome.UNKNOWN, None, order_id, error_code=code, error_message=message)
    decline = codes.INPUT_DECLINES.get(code, "invalid_request")
    return ChargeResult(Outcome.DECLINED, None, order_id, decline_code=decline, error_code=code,
                        error_message=message, raw_status="txn_refused")  # fmt: skip


# --- refunds ----------------------------------------------------------------------------------


def find_refund(order: Mapping[str, Any], unique_request_id: str) -> Mapping[str, Any] | None:
    """Our refund (by ``unique_request_id``) in an order's ``refunds``."""
    refunds = order.get("refunds")
    if not isinstance(refunds, list):
        return None
    return next((r for r in refunds if isinstance(r, dict) and r.get("unique_request_id") == unique_request_id), None)


def map_refund_item(item: Mapping[str, Any], unique_request_id: str) -> RefundResult:
    """A refund item's status; an unknown one is ``PENDING`` (the refund exists).

    ``gateway_refund_id`` is the ``unique_request_id``: it is how this connector addresses the
    refund at Juspay (refund status is read from the order by it).
    """
    status = _s(item.get("status")) or ""
    outcome = codes.REFUND_STATUS.get(status, RefundOutcome.PENDING)
    failed = outcome is RefundOutcome.FAILED
    if not failed:
        return RefundResult(outcome, unique_request_id)
    error = _s(item.get("error_code")) or status
    return RefundResult(outcome, unique_request_id, error_code=error, error_message=_s(item.get("error_message")))


def map_refund(result: HttpResult, unique_request_id: str, amount: int, currency: str) -> RefundResult:
    """Map a refund answer (the order with its ``refunds``) or a refund-status read."""
    if result.transport is Transport.NOT_SENT:
        return RefundResult(RefundOutcome.FAILED, error_code="gateway_unavailable",
                            error_message="refund request never reached Juspay")  # fmt: skip
    data = result.data if result.ok and result.parsed and isinstance(result.data, dict) else None
    if data is not None:
        item = find_refund(data, unique_request_id)
        if item is None:
            return RefundResult(RefundOutcome.UNKNOWN, unique_request_id, error_code="refund_not_found")
        if amount_minor(item.get("amount"), currency) != amount:
            return RefundResult(RefundOutcome.UNKNOWN, unique_request_id, error_code="amount_mismatch")
        return map_refund_item(item, unique_request_id)
    error = error_of(result)
    if result.answered and 400 <= result.status < 500 and error is not None:
        return RefundResult(RefundOutcome.FAILED, error_code=error[0], error_message=error[1])
    return RefundResult(RefundOutcome.UNKNOWN, error_code=_why(result))


# --- helpers ----------------------------------------------------------------------------------


def _s(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
