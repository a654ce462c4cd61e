"""Pure mapping between the engine's gateway contract and Razorpay's wire format (no IO).

The rule of every function here: a Razorpay answer becomes ``DECLINED`` only when Razorpay
explicitly refused (a ``BAD_REQUEST_ERROR`` body, or a payment entity in status ``failed``).
Anything the connector cannot prove -- a timeout, a dropped connection, an empty, HTML or
garbled body, a 5xx without a trustworthy body, an unknown status -- is ``UNKNOWN`` (or
``PROCESSING``), to be settled by a status sync. ``RETRYABLE`` is reserved for failures that
provably happened before money could move.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from engine.gateways.base import (
    AttemptRef,
    ChargeResult,
    Outcome,
    RefundOutcome,
    RefundRequest,
    RefundResult,
)
from engine.gateways.common import safe_redirect_url
from engine.gateways.common import why as _why
from engine.gateways.http import HttpResult, Transport
from engine.gateways.razorpay.builders import (
    PLACEHOLDER_CONTACT,
    PLACEHOLDER_EMAIL,
    UnsupportedMethod,
    build_order,
    build_payment,
    build_refund,
)
from engine.gateways.razorpay.codes import PAYMENT_STATUS, REFUND_STATUS, decline_code
from engine.gateways.razorpay.wire import (
    ErrorBody,
    ErrorEnvelope,
    Notes,
    OrderCollection,
    Payment,
    PaymentCollection,
    PaymentCreated,
    Refund,
)

__all__ = [  # request builders are re-exported: one import gives a connector both directions
    "PLACEHOLDER_CONTACT",
    "PLACEHOLDER_EMAIL",
    "UnsupportedMethod",
    "build_order",
    "build_payment",
    "build_refund",
    "convert",
    "decline_code",
    "error_of",
    "map_capture_refused",
    "map_order_created",
    "map_order_payments",
    "map_payment",
    "map_payment_answer",
    "map_payment_created",
    "map_refund",
    "map_refund_entity",
    "metadata_get",
    "notes_get",
    "pick_order_payment",
    "safe_redirect_url",
]

T = TypeVar("T")


def convert(data: Any, typ: type[T]) -> T | None:
    """``data`` (parsed JSON) as ``typ``, or ``None`` when its shape or types do not match."""
    try:
        return msgspec.convert(data, typ)
    except (msgspec.ValidationError, TypeError):
        return None


def error_of(result: HttpResult) -> ErrorBody | None:
    """The ``error`` object of an answer, when it is a well-formed Razorpay error document."""
    envelope = convert(result.data, ErrorEnvelope) if result.parsed else None
    return envelope.error if envelope is not None else None


def notes_get(notes: Notes | None, key: str) -> str | None:
    """A string value of ``notes`` (which Razorpay sends as ``[]`` when empty)."""
    value = notes.get(key) if isinstance(notes, dict) else None
    return value if isinstance(value, str) and value else None


def metadata_get(error: ErrorBody, key: str) -> str | None:
    """A string value of an error's ``metadata``."""
    value = error.metadata.get(key) if isinstance(error.metadata, dict) else None
    return value if isinstance(value, str) and value else None


# --- answers ----------------------------------------------------------------------------


def map_order_created(result: HttpResult) -> str | ChargeResult:
    """The order id, or why the attempt stops. No money can move on an order, so every failure
    short of an explicit refusal is ``RETRYABLE`` -- an orphaned order is harmless."""
    if result.ok:
        order = convert(result.data, _OrderId) if result.parsed else None
        if order is not None and order.id:
            return order.id
        return _retryable("order_unreadable", "order answer could not be read")
    if result.transport is not Transport.ANSWERED:
        return _retryable(f"order_{result.transport.value}", "order request failed in transport")
    error = error_of(result)
    if 400 <= result.status < 500 and result.status not in (401, 403, 429) and error is not None:
        return _declined_by(error)
    # 5xx, auth/rate-limit refusals (our account, not the customer's card) and unreadable bodies.
    return _retryable(f"order_http_{result.status}", error.description if error else None)


def map_payment_created(
    result: HttpResult, order_id: str, *, trusted_hosts: frozenset[str] = frozenset()
) -> tuple[ChargeResult, str | None]:
    """Map the S2S JSON answer. Returns the result and, when Razorpay processed the payment
    synchronously (an id and no ``next`` step), the payment id to fetch for the real status."""
    if result.transport is Transport.NOT_SENT:
        # Never reached Razorpay: the order exists but no payment does; safe to go elsewhere.
        return _retryable("payment_not_sent", "payment request never left", order_id), None
    if result.transport is Transport.UNKNOWN:
        return _unknown("transport_" + (result.error or "error"), order_id), None
    error = error_of(result)
    if result.ok:
        created = convert(result.data, PaymentCreated) if result.parsed else None
        if created is None or not created.razorpay_payment_id:
            # "Success" without a payment id proves nothing.
            return _unknown("unreadable_answer", order_id), None
        pay_id = created.razorpay_payment_id
        actions = {a.action: a for a in created.next}
        if "redirect" in actions:
            url = actions["redirect"].url
            if not url or not safe_redirect_url(url, trusted_hosts):
                return _unknown("invalid_redirect_url", order_id, pay_id), None
            return ChargeResult(
                Outcome.REQUIRES_ACTION, pay_id, order_id, redirect_url=url, raw_status="redirect"
            ), None
        if actions:  # poll (UPI collect), or an action this engine cannot drive (native OTP)
            return ChargeResult(Outcome.PROCESSING, pay_id, order_id, raw_status=next(iter(actions))), None
        return _unknown("not_fetched", order_id, pay_id), pay_id
    if result.status in (401, 403, 429) and error is not None:
        # Refused at the door (credentials / rate limit): nothing was created.
        return _retryable(f"payment_http_{result.status}", error.description, order_id), None
    if 400 <= result.status < 500 and error is not None and error.code == "BAD_REQUEST_ERROR":
        return _declined_by(error, order_id, metadata_get(error, "payment_id")), None
    if (
        result.status >= 500
        and error is not None
        and error.code in ("GATEWAY_ERROR", "SERVER_ERROR")
        and error.step == "payment_initiation"
    ):
        # Razorpay says it failed while initiating, before the bank moved anything.
        return _retryable(
            error.reason or error.code, error.description, order_id, metadata_get(error, "payment_id")
        ), None
    return _unknown(f"http_{result.status}", order_id), None


def map_payment(payment: Payment, *, expect: AttemptRef | None = None) -> ChargeResult:
    """Map a payment entity. With ``expect``, a successful payment whose order, amount or
    currency differ from ours is ``UNKNOWN`` (to reconcile), never a success."""
    outcome = PAYMENT_STATUS.get(payment.status, Outcome.UNKNOWN)
    order_id = payment.order_id
    if expect is not None:
        if expect.gateway_order_id and order_id and order_id != expect.gateway_order_id:
            return _unknown("order_mismatch", expect.gateway_order_id, payment.id, payment.status)
        if outcome in (Outcome.AUTHORIZED, Outcome.CAPTURED) and (
            (expect.amount and payment.amount != expect.amount)
            or (expect.currency and payment.currency and payment.currency != expect.currency)
        ):
            return _unknown("amount_mismatch", order_id, payment.id, payment.status)
    if outcome is Outcome.DECLINED:
        return ChargeResult(
            Outcome.DECLINED,
            payment.id,
            order_id,
            decline_code=decline_code(payment.error_reason),
            error_code=payment.error_reason or payment.error_code,
            error_message=payment.error_description,
            raw_status=payment.status,
        )
    captured = 0
    if outcome is Outcome.CAPTURED:
        captured = payment.amount_captured if payment.amount_captured else payment.amount
    return ChargeResult(outcome, payment.id, order_id, amount_captured=captured, raw_status=payment.status)


def map_payment_answer(result: HttpResult, ref: AttemptRef) -> ChargeResult:
    """Map ``GET /v1/payments/{id}`` (or a capture answer): the entity, else ``UNKNOWN``."""
    payment = convert(result.data, Payment) if result.ok and result.parsed else None
    if payment is None:
        return _unknown(_why(result), ref.gateway_order_id, ref.gateway_reference)
    return map_payment(payment, expect=ref)


def pick_order_payment(collection: PaymentCollection) -> Payment | None:
    """The payment of an order that tells its outcome: a captured or authorized one if any
    (one success per order), else the most recent attempt."""
    for status in ("captured", "refunded", "authorized"):
        for item in collection.items:
            if item.status == status:
                return item
    if not collection.items:
        return None
    return max(enumerate(collection.items), key=lambda p: (p[1].created_at or 0, p[0]))[1]


def map_order_payments(result: HttpResult, ref: AttemptRef) -> ChargeResult:
    """Map ``GET /v1/orders/{id}/payments``. An order without payments stays ``UNKNOWN``
    (``raw_status="no_payment"``): the engine decides when that is old enough to give up."""
    collection = convert(result.data, PaymentCollection) if result.ok and result.parsed else None
    if collection is None:
        return _unknown(_why(result), ref.gateway_order_id)
    payment = pick_order_payment(collection)
    if payment is None:
        return ChargeResult(Outcome.UNKNOWN, None, ref.gateway_order_id, raw_status="no_payment")
    return map_payment(payment, expect=ref)


def map_orders_by_receipt(result: HttpResult, receipt: str) -> str | ChargeResult:
    """The id of the order created for ``receipt`` (our attempt id), else why not: no such
    order is ``UNKNOWN`` with ``raw_status="no_payment"`` (nothing can have been charged)."""
    collection = convert(result.data, OrderCollection) if result.ok and result.parsed else None
    if collection is None:
        return _unknown(_why(result), None)
    order = next((o for o in collection.items if o.receipt == receipt), None)
    return order.id if order else ChargeResult(Outcome.UNKNOWN, raw_status="no_payment")


def map_capture_refused(result: HttpResult) -> ErrorBody | None:
    """The refusal of a capture (400 ``BAD_REQUEST_ERROR``), else ``None``."""
    error = error_of(result)
    if result.answered and 400 <= result.status < 500 and error and error.code == "BAD_REQUEST_ERROR":
        return error
    return None


def map_refund(result: HttpResult, request: RefundRequest) -> RefundResult:
    """Map a refund answer. A refusal is ``FAILED``; a lost answer is ``UNKNOWN`` (the
    ``X-Refund-Idempotency`` key makes retrying it safe)."""
    if result.transport is Transport.NOT_SENT:
        return RefundResult(
            RefundOutcome.FAILED,
            error_code="gateway_unavailable",
            error_message="refund request never reached Razorpay",
        )
    if result.ok:
        refund = convert(result.data, Refund) if result.parsed else None
        if refund is None:
            return RefundResult(RefundOutcome.UNKNOWN, error_code="unreadable_answer")
        if refund.amount is not None and refund.amount != request.amount:
            return RefundResult(RefundOutcome.UNKNOWN, refund.id, error_code="amount_mismatch")
        return map_refund_entity(refund)
    error = error_of(result)
    if result.answered and 400 <= result.status < 500 and error and error.code == "BAD_REQUEST_ERROR":
        return RefundResult(
            RefundOutcome.FAILED,
            error_code=error.reason if error.reason not in (None, "NA") else error.code,
            error_message=error.description,
        )
    return RefundResult(RefundOutcome.UNKNOWN, error_code=_why(result))


def map_refund_entity(refund: Refund) -> RefundResult:
    """Map a refund entity's status; an unknown status is still ``PENDING`` (it exists)."""
    return RefundResult(REFUND_STATUS.get(refund.status, RefundOutcome.PENDING), refund.id)


# --- helpers ----------------------------------------------------------------------------


class _OrderId(msgspec.Struct, frozen=True):
    id: str


def _unknown(code: str, order_id: str | None, pay_id: str | None = None, raw: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.UNKNOWN, pay_id, order_id, error_code=code, raw_status=raw)


def _retryable(code: str, message: str | None, order_id: str | None = None, pay_id: str | None = None) -> ChargeResult:
    return ChargeResult(Outcome.RETRYABLE, pay_id, order_id, error_code=code, error_message=message)


def _declined_by(error: ErrorBody, order_id: str | None = None, pay_id: str | None = None) -> ChargeResult:
    reason = error.reason if error.reason not in (None, "NA") else None
    return ChargeResult(
        Outcome.DECLINED,
        pay_id,
        order_id,
        decline_code=decline_code(reason, error.field),
        error_code=reason or error.code,
        error_message=error.description,
        raw_status="failed",
    )
