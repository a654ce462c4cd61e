"""``FakeConnector``: a ``GatewayConnector`` (engine/gateways/base.py) answering from a script,
recording every call -- so a test can assert what reached "the gateway" (and what never did).

Each operation has a queue of scripted answers (``will``) and an optional standing answer
(``always``). An answer is a result, an exception to raise *after* the request left, a
``BeforeSend(exc)`` to raise before anything was sent (a connector bug), or a callable taking
the call's arguments and returning (or, when async, awaiting to) one of those. A call with nothing scripted is recorded in
``unexpected`` and raises ``Unscripted`` before sending (the fixture fails the test on it).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import msgspec

from engine.gateways import http
from engine.gateways.base import (
    AttemptRef,
    ChargeRequest,
    ChargeResult,
    Outcome,
    RefundRequest,
    RefundResult,
    WebhookEvent,
    WebhookProof,
)

SIGNATURE_HEADER = "x-fake-signature"


class BeforeSend(msgspec.Struct, frozen=True):
    """Raise ``error`` before any request left (the engine must see a connector bug)."""

    error: Exception


class Unscripted(AssertionError):
    """A connector call the test did not script."""


class Call(msgspec.Struct, frozen=True):
    """One recorded call: the operation and its arguments."""

    operation: str
    args: tuple[Any, ...]


def _mark_sent() -> None:
    # The engine tells "raised before sending" (a bug) from "raised after" (unknown) by this count.
    http.mark_sent()


class FakeConnector:
    """A scripted gateway account connector."""

    def __init__(self, name: str, *, webhook_secret: str = "whsec_fake") -> None:
        self.name = name
        self.webhook_secret = webhook_secret
        self.calls: list[Call] = []
        self.unexpected: list[Call] = []
        self._script: dict[str, deque[Any]] = defaultdict(deque)
        self._always: dict[str, Any] = {}

    # -- scripting -------------------------------------------------------------------------

    def will(self, operation: str, *answers: Any) -> FakeConnector:
        """Answer the next calls of ``operation`` with ``answers``, in order."""
        self._script[operation].extend(answers)
        return self

    def always(self, operation: str, answer: Any) -> FakeConnector:
        """Answer every call of ``operation`` (after its scripted answers) with ``answer``."""
        self._always[operation] = answer
        return self

    def sent(self, operation: str | None = None) -> list[Call]:
        """The recorded calls (of ``operation``)."""
        return [c for c in self.calls if operation is None or c.operation == operation]

    def count(self, operation: str) -> int:
        return len(self.sent(operation))

    def pending(self) -> dict[str, int]:
        """Scripted answers nobody asked for."""
        return {op: len(q) for op, q in self._script.items() if q}

    async def _answer(self, operation: str, *args: Any) -> Any:
        call = Call(operation, args)
        self.calls.append(call)
        if self._script[operation]:
            answer = self._script[operation].popleft()
        elif operation in self._always:
            answer = self._always[operation]
        else:
            self.unexpected.append(call)
            raise Unscripted(f"{self.name}.{operation} was called but nothing was scripted")
        if callable(answer) and not isinstance(answer, type):
            answer = answer(*args)
            if inspect.isawaitable(answer):  # an async script may act (record the order) or raise
                answer = await answer
        if isinstance(answer, BeforeSend):
            raise answer.error
        _mark_sent()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    # -- GatewayConnector ------------------------------------------------------------------

    async def authorize(self, request: ChargeRequest) -> ChargeResult:
        return await self._answer("authorize", request)

    async def capture(self, ref: AttemptRef, amount: int) -> ChargeResult:
        return await self._answer("capture", ref, amount)

    async def void(self, ref: AttemptRef) -> ChargeResult:
        return await self._answer("void", ref)

    async def refund(self, request: RefundRequest) -> RefundResult:
        return await self._answer("refund", request)

    async def sync(self, ref: AttemptRef) -> ChargeResult:
        return await self._answer("sync", ref)

    async def refund_status(self, request: RefundRequest) -> RefundResult:
        return await self._answer("refund_status", request)

    async def create_customer(
        self, customer_id: str, email: str | None, phone: str | None, name: str | None
    ) -> str | None:
        return await self._answer("create_customer", customer_id, email, phone, name)

    def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof | None:
        """What the webhook presents and what it must equal (the core compares them)."""
        self.calls.append(Call("webhook_proof", (headers, body)))
        presented = headers.get(SIGNATURE_HEADER)
        if not presented:
            return None
        return WebhookProof("hmac-sha256-hex", presented.encode(), sign(self.webhook_secret, body).encode())

    def parse_webhook(self, headers: dict[str, str], body: bytes) -> WebhookEvent:
        self.calls.append(Call("parse_webhook", (headers, body)))
        try:
            return msgspec.json.decode(body, type=WebhookEvent)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None

    def verify_callback(self, params: dict[str, str], ref: AttemptRef) -> ChargeResult | None:
        """Scripted like the calls (``will("verify_callback", result_or_None)``), sending nothing."""
        self.calls.append(Call("verify_callback", (params, ref)))
        queue = self._script["verify_callback"]
        answer = queue.popleft() if queue else self._always.get("verify_callback")
        return answer(params, ref) if callable(answer) else answer

    async def aclose(self) -> None:
        pass


def sign(secret: str, body: bytes) -> str:
    """The fake gateway's webhook signature."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(connector: FakeConnector, event: WebhookEvent) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a webhook ``connector`` verifies and parses back into ``event``."""
    body = msgspec.json.encode(event)
    return {SIGNATURE_HEADER: sign(connector.webhook_secret, body)}, body


# Answers tests use often.
def captured(amount: int = 0, reference: str = "pay_gw_1", **kw: Any) -> ChargeResult:
    return ChargeResult(Outcome.CAPTURED, gateway_reference=reference, amount_captured=amount, **kw)


def authorized(reference: str = "pay_gw_1", **kw: Any) -> ChargeResult:
    return ChargeResult(Outcome.AUTHORIZED, gateway_reference=reference, **kw)


def declined(code: str = "insufficient_funds", **kw: Any) -> ChargeResult:
    return ChargeResult(Outcome.DECLINED, decline_code=code, error_message="Declined by the issuer.", **kw)


def retryable(code: str = "gateway_5xx", **kw: Any) -> ChargeResult:
    return ChargeResult(Outcome.RETRYABLE, error_code=code, error_message="The gateway failed.", **kw)


def unknown(**kw: Any) -> ChargeResult:
    return ChargeResult(Outcome.UNKNOWN, error_code="ReadTimeout", **kw)


Answer = ChargeResult | RefundResult | Exception | BeforeSend | Callable[..., Any] | str | None
