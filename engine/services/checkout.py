"""The hosted checkout page's reads: the payment a client secret opens, the merchant's name and
publishable key, and the status the page polls (README "Hosted checkout page").

The page presents no API key, only the payment's client secret; a wrong, missing or malformed
secret is the same 404 as an unknown payment, and nothing about the payment is read before the
secret matched (constant-time, over hashes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import msgspec

from engine import signing
from engine.errors import NotFound
from engine.ids import plausible
from engine.money import to_decimal_string
from engine.services import client_secrets
from engine.services.merchants import checkout_identity
from engine.services.payments import get_payment
from engine.states import CONFIRMABLE

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.model import Payment

# Statuses after which the customer goes back to the merchant.
FINAL = frozenset({"succeeded", "requires_capture", "canceled"})


class CheckoutPage(msgspec.Struct, frozen=True):
    """What the page shows and needs."""

    payment_id: str
    merchant_id: str
    merchant_name: str
    amount_display: str
    currency: str
    status: str
    confirmable: bool
    publishable_key: str
    return_url: str | None


class CheckoutStatus(msgspec.Struct, frozen=True):
    """What the page polls while a payment is processing (UPI: the webhook decides)."""

    status: str
    final: bool
    return_to: str | None
    error: str | None
    # While the customer still has to act (a reloaded page mid-3-D Secure): where to go on.
    redirect_url: str | None = None


async def _opened(engine: Engine, payment_id: str, client_secret: str | None) -> Payment:
    found = None
    if client_secret and len(client_secret) <= client_secrets.MAX_LENGTH and plausible(payment_id):
        found = await engine.db.payments.checkout_secret(payment_id)
    given = client_secrets.digest(client_secret or "")
    if found is None or not signing.constant_time_equal(given, found[1]):
        raise NotFound("No such checkout.", code="resource_missing")
    return await get_payment(engine, found[0], payment_id)


def return_to(payment: Payment) -> str | None:
    """The merchant's ``return_url`` with ``payment_id`` and ``status``, as the gateway
    callback sends the customer there (engine/services/inbound.py)."""
    if not payment.return_url:
        return None
    sep = "&" if "?" in payment.return_url else "?"
    return payment.return_url + sep + urlencode({"payment_id": payment.id, "status": payment.status})


async def open_page(engine: Engine, payment_id: str, client_secret: str | None) -> CheckoutPage:
    """The page of the payment ``client_secret`` opens; 404 otherwise (also when the merchant has
    no publishable key, so the page could not confirm)."""
    payment = await _opened(engine, payment_id, client_secret)
    name, publishable = await checkout_identity(engine, payment.merchant_id)
    if publishable is None:
        raise NotFound("No such checkout.", code="resource_missing")
    return CheckoutPage(
        payment_id=payment.id,
        merchant_id=payment.merchant_id,
        merchant_name=name,
        amount_display=to_decimal_string(payment.amount, payment.currency),
        currency=payment.currency,
        status=payment.status,
        confirmable=payment.status in CONFIRMABLE,
        publishable_key=publishable,
        return_url=payment.return_url,
    )


async def status(engine: Engine, payment_id: str, client_secret: str | None) -> CheckoutStatus:
    """The payment's status for the polling page (and where to send the customer)."""
    payment = await _opened(engine, payment_id, client_secret)
    error = (payment.last_error or {}).get("message") if payment.status in CONFIRMABLE else None
    final = payment.status in FINAL
    action = payment.next_action or {}
    redirect = action.get("redirect_url") if payment.status == "requires_action" else None
    return CheckoutStatus(payment.status, final, return_to(payment), error, redirect)
