"""A resumed confirm whose page for the customer was lost with the first request.

A 3-D Secure card, netbanking or a wallet is paid on a gateway page: the gateway's answer to
the charge carries the page's URL, and the engine gives it back as ``next_action``. When the
engine died after the gateway answered and before it recorded that answer, the retry (same
``Idempotency-Key``) only has the gateway's *status* to go on, and no gateway's status API gives
the page again (reference/gateways.md: Razorpay's payment entity, Paytm's v3 status, PayU's
``verify_payment`` and Juspay's order status carry no authentication URL -- Juspay's
``payment_links`` are the order's hosted payment page, not the transaction's authentication,
which this engine does not use). Nobody has the page, so nobody can authenticate: the gateway
fails the attempt when its authentication session expires. Until then it is *open* -- no
gateway here can void or cancel an unauthenticated payment -- and a second attempt could mean
two charges if the first were somehow authenticated.

So the resumed confirm says exactly that instead of answering ``processing`` with no way on:
502 ``authentication_pending`` (nothing stored for the key, ``Retry-After``), the attempt marked
``redirect_lost``. Once the gateway reports the attempt failed -- it provably cannot charge any
more -- a retry of the same confirm starts a new attempt and answers its new page. A UPI collect
is not concerned: the customer approves it in the UPI app, no page is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from engine.errors import AuthenticationPending
from engine.gateways.base import ChargeResult, Outcome
from engine.model import Attempt, Payment
from engine.services.charging import settle
from engine.states import CONFIRMABLE, AttemptStatus

if TYPE_CHECKING:
    from engine.bootstrap import Engine

# Methods whose open payment waits for the customer on the gateway's page (not UPI collect).
PAGE_METHODS = frozenset({"card", "netbanking", "wallet"})
_OPEN = frozenset({Outcome.PROCESSING, Outcome.REQUIRES_ACTION})


def concerns(attempt: Attempt, result: ChargeResult) -> bool:
    """Whether a resumed confirm's attempt has (or had) a page the engine never received: one
    marked so already, or a page method's payment the gateway holds open without giving a URL
    for it (the engine never had one: the first answer was lost)."""
    if attempt.redirect_lost:
        return True
    return (
        attempt.method_type in PAGE_METHODS
        and attempt.redirect_url is None
        and result.outcome in _OPEN
        and not result.redirect_url
    )


async def resolve(engine: Engine, payment: Payment, attempt: Attempt, result: ChargeResult) -> Payment | None:
    """Fold the gateway's news about such an attempt. Still open: mark it and raise
    ``AuthenticationPending``. Failed at the gateway: the payment as settled, ready for a new
    attempt (``None`` when it is not: the caller then finishes as usual). The gateway could not
    tell about a marked attempt: ``AuthenticationPending`` again. Anything else (it was charged
    after all): ``None``, finished as usual."""
    if result.outcome in _OPEN and not result.redirect_url:
        if not attempt.redirect_lost:
            await engine.db.attempts.mark_redirect_lost(attempt.id, attempt.merchant_id)
        # Only the news that the gateway has the payment: a "requires action" with no page
        # to show would read as one, so it is recorded as what it is for us, processing.
        await settle(
            engine, payment.merchant_id, attempt.id, msgspec.structs.replace(result, outcome=Outcome.PROCESSING)
        )
        raise _pending()
    if result.outcome is Outcome.DECLINED:  # the gateway's own word: it can never charge now
        if not attempt.redirect_lost:  # failed before anyone saw it open: a plain decline
            return None
        settled = await settle(engine, payment.merchant_id, attempt.id, result)
        now = await engine.db.attempts.latest(payment.id, payment.merchant_id)
        return settled if now is not None and now.id == attempt.id and starts_over(now, settled) else None
    if attempt.redirect_lost and result.outcome is Outcome.UNKNOWN:
        raise _pending()  # the gateway could not tell now: still open as far as we know
    return None


def _pending() -> AuthenticationPending:
    return AuthenticationPending(
        "The gateway is waiting for this payment's authentication (3-D Secure, bank or wallet "
        "page), but the page was lost with the first request and the gateway cannot give it "
        "again. Nothing has been charged. The gateway fails the authentication when its "
        "session expires; retry with the same Idempotency-Key until then: the retry then "
        "starts a new attempt with a new page."
    )


def starts_over(attempt: Attempt, payment: Payment) -> bool:
    """The lost page's attempt has failed at the gateway (so it can never charge) and the
    payment can take a new one."""
    return attempt.redirect_lost and attempt.status == AttemptStatus.FAILED and payment.status in CONFIRMABLE
