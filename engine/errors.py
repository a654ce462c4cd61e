"""The engine's error taxonomy.

Every error a merchant can see is an ``EngineError``: it carries the public error ``type``,
a stable machine ``code``, a human ``message`` (never containing card data or secrets),
the offending ``param`` when there is one, and the HTTP status the API layer answers with.
The API layer only renders these; it never invents its own wording.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every merchant-visible error."""

    type: str = "api_error"
    status: int = 500
    code: str = "internal_error"
    # Seconds a client should wait before retrying (the API sends it as ``Retry-After``).
    retry_after: int | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.param = param
        self.decline_code = decline_code

    def to_dict(self) -> dict[str, object]:
        """The ``error`` object of the public error shape."""
        body: dict[str, object] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        if self.decline_code is not None:
            body["decline_code"] = self.decline_code
        return body


class InvalidRequest(EngineError):
    """The request is malformed or names something impossible (400)."""

    type = "invalid_request_error"
    status = 400
    code = "parameter_invalid"


class ValidationError(InvalidRequest):
    """A field's value fails validation (400, names the ``param``)."""


class NotFound(InvalidRequest):
    """The object does not exist for this merchant (404)."""

    status = 404
    code = "resource_missing"


class IllegalTransition(InvalidRequest):
    """The object's state does not allow the requested operation (409)."""

    status = 409
    code = "payment_intent_unexpected_state"


class AuthenticationFailed(EngineError):
    """Missing or wrong credentials (401)."""

    type = "authentication_error"
    status = 401
    code = "invalid_api_key"


class PermissionDenied(EngineError):
    """Authenticated but not allowed (403)."""

    type = "permission_error"
    status = 403
    code = "forbidden"


class CardDeclined(EngineError):
    """The gateway declined the payment method (402)."""

    type = "card_error"
    status = 402
    code = "card_declined"


class IdempotencyError(EngineError):
    """Idempotency-Key misuse: different body (422) or request in flight (409)."""

    type = "idempotency_error"
    status = 422
    code = "idempotency_key_reused"


class RateLimited(EngineError):
    """Too many requests (429)."""

    type = "rate_limit_error"
    status = 429
    code = "rate_limited"
    retry_after = 1


class ServiceUnavailable(EngineError):
    """A resource of this process is exhausted right now (a starved connection pool, a full
    gateway bulkhead); nothing was done, a retry after ``Retry-After`` seconds may succeed (503)."""

    type = "api_error"
    status = 503
    code = "service_unavailable"
    retry_after = 1


class GatewayFailure(EngineError):
    """The gateway failed or its answer is unknown (502/503)."""

    type = "gateway_error"
    status = 502
    code = "gateway_error"


class Conflict(InvalidRequest):
    """A uniqueness rule was hit, e.g. a reused ``merchant_order_id`` (409)."""

    status = 409
    code = "resource_already_exists"


class OutcomePending(EngineError):
    """The operation's outcome is still open and finishes in the background (e.g. a capture
    whose answer was lost). Nothing is stored for the key: a retry with the same
    ``Idempotency-Key`` resumes the operation and learns its outcome."""

    type = "gateway_error"
    status = 502
    code = "outcome_pending"


class AuthenticationPending(OutcomePending):
    """A resumed confirm whose gateway waits for the customer on a page (3-D Secure, bank,
    wallet) that was lost with the first request and cannot be had again: nothing is charged,
    and once the gateway fails that authentication (its session expires) a retry with the same
    ``Idempotency-Key`` starts a new attempt with a new page (502, nothing stored)."""

    code = "authentication_pending"
    retry_after = 10


class ConnectorBug(EngineError):
    """A connector raised before any request left: a bug, and provably nothing was charged
    (the attempt fails as ``internal_error``, safe to retry)."""

    status = 500
    code = "internal_error"


class DependencyUnavailable(EngineError):
    """PostgreSQL (or another dependency the request cannot do without) is unreachable (503).

    Nothing the client can fix: it retries after ``Retry-After`` seconds, with the same
    ``Idempotency-Key``, and the durable operation continues from its last recorded phase."""

    status = 503
    code = "service_unavailable"
    retry_after = 2

    def __init__(self, dependency: str) -> None:
        super().__init__(f"A dependency of the service ({dependency}) is unavailable; retry shortly.")
        self.dependency = dependency
