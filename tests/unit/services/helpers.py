"""Builders shared by the service unit tests."""

from __future__ import annotations

from typing import Any

from api.render import CREATED, OK
from engine.bootstrap import Engine
from engine.commands import CardInput, ConfirmPayment, CreatePayment, PaymentMethodInput, UpiInput
from engine.model import Payment
from engine.services import idempotency
from engine.services.payments import create_payment, new_payment

VISA = "4111111111111111"


def card(number: str = VISA) -> PaymentMethodInput:
    return PaymentMethodInput(type="card", card=CardInput(number=number, exp_month=12, exp_year=2030, cvc="123"))


def upi(vpa: str = "success@upi") -> PaymentMethodInput:
    return PaymentMethodInput(type="upi", upi=UpiInput(vpa=vpa))


def confirm_cmd(method: PaymentMethodInput | None = None, **kw: Any) -> ConfirmPayment:
    return ConfirmPayment(payment_method=method or card(), **kw)


async def a_payment(engine: Engine, merchant_id: str, amount: int = 49900, **kw: Any) -> Payment:
    """A stored payment awaiting its payment method."""
    payment = new_payment(merchant_id, CreatePayment(amount=amount, currency="INR", **kw))
    stored = await create_payment(engine, payment, None)
    assert isinstance(stored, Payment)
    return stored


def a_claim(
    engine: Engine, merchant_id: str, key: str, path: str = "/v1/payments", body: bytes = b"{}", created: bool = False
) -> idempotency.Claim:
    """This request's (unstored) claim on ``key``, rendering as the API does."""
    return idempotency.new_claim(engine, merchant_id, key, "POST", path, body, CREATED if created else OK)


async def claimed(engine: Engine, merchant_id: str, key: str, path: str = "/v1/payments", body: bytes = b"{}"):
    """A claim stored in flight (what the API does before running an operation)."""
    outcome = await idempotency.claim(engine, a_claim(engine, merchant_id, key, path, body))
    assert isinstance(outcome, idempotency.Claim)
    return outcome


async def confirmed(engine: Engine, merchant_id: str, answer: Any, gateway: str = "razorpay", **kw: Any) -> Payment:
    """A payment confirmed with a card, the gateway answering ``answer`` (the payment as stored)."""
    from engine.services.confirm import confirm
    from tests.support.fake_engine import fake

    payment = await a_payment(engine, merchant_id, **kw)
    fake(engine, gateway).will("authorize", answer)
    await confirm(engine, merchant_id, payment.id, confirm_cmd(gateway=gateway), None)
    stored = await engine.db.payments.get(payment.id, merchant_id)
    assert stored is not None
    return stored
