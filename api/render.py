"""How use-case results become HTTP answers (status + the exact bytes sent and stored)."""

from __future__ import annotations

from engine.errors import EngineError
from engine.model import Customer, Payment, Refund
from engine.results import Declined, Render, Result
from engine.views import customer_view, encode, payment_view, refund_view


def error_body(exc: EngineError, **extra: str) -> bytes:
    """The error envelope of every failed request: ``{"error": {type, code, message, ...}}``."""
    return encode({"error": {**exc.to_dict(), **extra}})


def renderer(ok_status: int) -> Render:
    """Render results with ``ok_status`` for success: a declined payment is its error's status
    (402 card declined, 502 no gateway could take it) with the payment's id."""

    def render(result: Result) -> tuple[int, bytes]:
        if isinstance(result, Payment):
            return ok_status, encode(payment_view(result))
        if isinstance(result, Declined):
            return result.error.status, error_body(result.error, payment_id=result.payment.id)
        if isinstance(result, Refund):
            return ok_status, encode(refund_view(result))
        if isinstance(result, Customer):
            return ok_status, encode(customer_view(result))
        if isinstance(result, EngineError):
            return result.status, error_body(result)
        raise TypeError(f"no rendering for {type(result).__name__}")

    return render


# Built once at import: every request of an endpoint renders with the same function.
OK = renderer(200)
CREATED = renderer(201)
