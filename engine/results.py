"""What use cases return: domain objects, never HTTP statuses or bytes.

``api/`` maps each result to a status and a body; the same mapping renders the response an
idempotency key stores (the API hands it to the engine with the key's claim, so the stored
bytes are written in the statement of the phase that decided them and replay byte for byte).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from engine.errors import CardDeclined, EngineError, GatewayFailure
from engine.model import Customer, Payment, Refund
from engine.payment_rules import GATEWAY_UNAVAILABLE
from engine.states import PaymentStatus


class Declined(msgspec.Struct, frozen=True):
    """A confirm that ended with the payment back in ``requires_payment_method``, and why."""

    payment: Payment
    error: EngineError


Result = Payment | Declined | Refund | Customer | EngineError
# Renders a result as (status, body): supplied by the API layer.
Render = Callable[[Result], tuple[int, bytes]]


def outcome_of(payment: Payment) -> Payment | Declined:
    """The payment, or ``Declined`` when its last attempt failed and it awaits a new method."""
    error = payment.last_error
    if payment.status != PaymentStatus.REQUIRES_PAYMENT_METHOD or not error:
        return payment
    cls = GatewayFailure if error.get("code") == GATEWAY_UNAVAILABLE else CardDeclined
    message = str(error.get("message") or "The payment failed.")
    return Declined(payment, cls(message, code=error.get("code"), decline_code=error.get("decline_code")))
