"""Razorpay's error envelope: ``{"error": {code, description, source, step, reason, metadata, field}}``.

HTTP statuses used: 400 ``BAD_REQUEST_ERROR`` (validation, business rules, unknown ids), 401
``BAD_REQUEST_ERROR`` "Authentication failed", 502 ``GATEWAY_ERROR``, 500 ``SERVER_ERROR``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

BAD_REQUEST = "BAD_REQUEST_ERROR"
GATEWAY_ERROR = "GATEWAY_ERROR"
SERVER_ERROR = "SERVER_ERROR"


class RazorpayError(Exception):
    """An error answered in Razorpay's wire format."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        code: str = BAD_REQUEST,
        source: str = "NA",
        step: str = "NA",
        reason: str = "NA",
        metadata: dict[str, Any] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.body: dict[str, Any] = {
            "error": {
                "code": code,
                "description": description,
                "source": source,
                "step": step,
                "reason": reason,
                "metadata": metadata or {},
                "field": field,
            }
        }


def input_error(description: str, field: str | None) -> RazorpayError:
    """400 for a request that fails input validation."""
    return RazorpayError(
        400,
        description,
        source="business",
        step="payment_initiation",
        reason="input_validation_failed",
        field=field,
    )


def business_error(description: str, field: str | None = None) -> RazorpayError:
    """400 for a well-formed request that the current state of an object does not allow."""
    return RazorpayError(400, description, field=field)


def not_found() -> RazorpayError:
    """What Razorpay answers for an id that does not exist (for this account)."""
    return RazorpayError(400, "The id provided does not exist")


def auth_failed() -> RazorpayError:
    """401 for a missing or wrong key id / key secret."""
    return RazorpayError(401, "Authentication failed")


def gateway_error() -> RazorpayError:
    """502 for a failure between Razorpay and the bank, before any money moved."""
    return RazorpayError(
        502,
        "Payment failed due to a technical error at the bank. Please retry.",
        code=GATEWAY_ERROR,
        source="gateway",
        step="payment_initiation",
        reason="gateway_technical_error",
    )


SERVER_ERROR_BODY: bytes = msgspec.json.encode(
    RazorpayError(
        500,
        "The server encountered an error. The incident has been reported to admins.",
        code=SERVER_ERROR,
    ).body
)


def error_response(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Litestar exception handler rendering :class:`RazorpayError`."""
    assert isinstance(exc, RazorpayError)
    return Response(content=exc.body, status_code=exc.status, media_type="application/json")


def not_found_response(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Razorpay's answer to an unknown URL under its prefix."""
    err = RazorpayError(400, "The requested URL was not found on the server.")
    return Response(content=err.body, status_code=err.status, media_type="application/json")
