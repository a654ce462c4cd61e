"""engine/services/eligibility.py: the payment-methods list is confirm's routing, so a listed
choice always routes and an unlisted one never does."""

from __future__ import annotations

import itertools

import pytest

from engine.commands import CreatePayment
from engine.errors import GatewayFailure, InvalidRequest
from engine.gateways import catalog
from engine.gateways.base import Outcome
from engine.services.eligibility import eligible_methods
from engine.services.payments import create_payment, new_payment
from engine.services.routing import plan, set_routing
from engine.states import PaymentStatus
from tests.support.fake_engine import add_merchant

GATEWAYS = ("razorpay", "paytm", "payu", "juspay")
ALL_WALLETS = sorted(catalog.RAZORPAY_WALLETS | catalog.PAYTM_WALLETS | catalog.PAYU_WALLETS | catalog.JUSPAY_WALLETS)


@pytest.fixture
async def merchant(engine) -> str:
    return await add_merchant(engine, *GATEWAYS)


def _details(entry: dict) -> list[str | None]:
    if entry["type"] == "card":
        return entry["brands"]
    if entry["type"] == "netbanking":
        return [b["code"] for b in entry["banks"]]
    if entry["type"] == "wallet":
        return entry["providers"]
    return [None]


async def a_payment(engine, merchant_id: str, amount: int = 49900, currency: str = "INR", **kw):
    """A stored payment in ``currency`` (the shared helper's is INR)."""
    payment = new_payment(merchant_id, CreatePayment(amount=amount, currency=currency, **kw))
    await create_payment(engine, payment, None)
    return payment


async def _routes(engine, payment, method: str, detail: str | None) -> bool:
    try:
        await plan(engine, payment.merchant_id, payment.currency, method, payment.gateway, payment.capture_method,
                   probe=False, amount=payment.amount, detail=detail)  # fmt: skip
    except (InvalidRequest, GatewayFailure):
        return False
    return True


async def test_every_gateway_routed_lists_every_method(engine, merchant):
    methods = await eligible_methods(engine, await a_payment(engine, merchant))
    assert [m["type"] for m in methods] == ["card", "upi", "netbanking", "wallet"]
    assert methods[0]["brands"] == ["visa", "mastercard", "rupay", "amex", "diners", "maestro"]
    assert methods[2]["banks"][0] == {"code": "HDFC", "name": "HDFC Bank"}
    assert methods[3]["providers"] == ALL_WALLETS


async def test_currency_capture_method_amount_and_named_gateway_narrow_the_list(engine, merchant):
    usd = await eligible_methods(engine, await a_payment(engine, merchant, currency="USD"))
    assert [m["type"] for m in usd] == ["card"]  # Razorpay alone takes USD, and only cards
    manual = await eligible_methods(engine, await a_payment(engine, merchant, capture_method="manual"))
    assert manual[3]["providers"] == sorted(catalog.RAZORPAY_WALLETS | catalog.JUSPAY_WALLETS)
    big = await eligible_methods(engine, await a_payment(engine, merchant, amount=100_000_01))
    assert "upi" not in [m["type"] for m in big]  # over NPCI's per-transaction limit
    named = await eligible_methods(engine, await a_payment(engine, merchant, gateway="paytm"))
    assert named[0]["brands"] == ["visa", "mastercard", "rupay", "amex", "diners"]
    assert named[3]["providers"] == ["paytm"]


async def test_open_breakers_and_disabled_gateways_leave_the_list(engine, merchant):
    await set_routing(engine, merchant, ["paytm"])
    payment = await a_payment(engine, merchant)
    assert [m["providers"] for m in await eligible_methods(engine, payment) if m["type"] == "wallet"] == [["paytm"]]
    engine.breaker.threshold = 1
    await engine.breaker.record("paytm", Outcome.UNKNOWN)
    assert await eligible_methods(engine, payment) == []


async def test_a_payment_that_cannot_be_confirmed_lists_nothing(engine, merchant):
    payment = await a_payment(engine, merchant)
    payment.status = PaymentStatus.CANCELED
    assert await eligible_methods(engine, payment) == []


@pytest.mark.parametrize("order", [list(p) for n in (1, 2, 4) for p in itertools.combinations(GATEWAYS, n)])
@pytest.mark.parametrize(
    ("currency", "capture_method"), [("INR", "automatic"), ("INR", "manual"), ("USD", "automatic")]
)
async def test_listed_exactly_when_confirms_routing_accepts(engine, merchant, order, currency, capture_method):
    await set_routing(engine, merchant, order)
    payment = await a_payment(engine, merchant, currency=currency, capture_method=capture_method)
    listed = {(m["type"], d) for m in await eligible_methods(engine, payment) for d in _details(m)}
    universe = (
        [("card", b) for b in (*catalog.CARD_BRANDS, "discover", "jcb")]
        + [("upi", None)]
        + [("netbanking", c) for c in (*catalog.BANK_CODES, "ZZZZ")]
        + [("wallet", w) for w in (*ALL_WALLETS, "nosuchwallet")]
    )
    for method, detail in universe:
        assert ((method, detail) in listed) == await _routes(engine, payment, method, detail), (method, detail)
