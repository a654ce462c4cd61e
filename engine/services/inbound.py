"""Inbound gateway messages: server-to-server webhooks and the customer's browser callback.

Webhooks are verified over the raw body before parsing, deduplicated by event id in the same
transaction that applies them (a crash loses neither), and applied through the same rules as
every other answer, so duplicates and out-of-order events never move a payment backwards.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from engine.errors import InvalidRequest, NotFound
from engine.gateways.base import AttemptRef, Outcome, WebhookEvent
from engine.gateways.common import webhook_verified
from engine.ids import plausible
from engine.metrics import WEBHOOKS
from engine.services.charging import SETTLE_TRIES, auto_capture, call_connector, ref_of, settle, settle_in
from engine.services.payments import get_payment
from engine.services.refunds import settle_refund_in
from engine.store.phases import StaleWrite

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.model import Payment
    from engine.store.uow import UnitOfWork

log = logging.getLogger("engine.inbound")


class SignatureInvalid(InvalidRequest):
    """The message's signature did not verify (400); nothing was applied."""

    code = "signature_invalid"


async def receive_webhook(
    engine: Engine, gateway: str, merchant_id: str, headers: dict[str, str], body: bytes
) -> dict[str, object]:
    """Verify, dedupe and apply one webhook; returns a small acknowledgement."""
    if not plausible(merchant_id):
        raise SignatureInvalid("Webhook signature verification failed.")
    accounts = [a for a in await engine.gateways.accounts(merchant_id) if a.gateway == gateway]
    connector = next(
        (c for c in (engine.gateways.connector(a) for a in accounts) if webhook_verified(c, headers, body)), None
    )
    if connector is None:  # unknown merchant, no such account, or a bad signature: same answer
        WEBHOOKS.labels(gateway, "rejected").inc()
        raise SignatureInvalid("Webhook signature verification failed.")
    try:
        event = connector.parse_webhook(headers, body)
    except ValueError:
        raise InvalidRequest("Webhook body is not a recognised event.", code="webhook_unrecognised") from None
    for _ in range(SETTLE_TRIES):
        try:
            duplicate, settled = await _receive_once(engine, merchant_id, gateway, event)
            break
        except StaleWrite:
            continue  # the payment moved while we folded: the receipt rolled back too; again
    else:
        raise RuntimeError(f"webhook {event.event_id} kept meeting concurrent writes")
    if duplicate:
        WEBHOOKS.labels(gateway, "duplicate").inc()
        return {"received": True, "duplicate": True}
    if settled is not None:
        # The capture row was committed with the receipt: if this run is cut short or meets
        # another holder's lease, the worker finishes it -- the webhook is answered 200 either way.
        await auto_capture(engine, settled)
    WEBHOOKS.labels(gateway, "applied").inc()
    return {"received": True, "duplicate": False}


async def _receive_once(
    engine: Engine, merchant_id: str, gateway: str, event: WebhookEvent
) -> tuple[bool, Payment | None]:
    """The dedupe receipt and what the event settles in one transaction, so a failure loses
    neither (the gateway's redelivery applies it): (duplicate, settled payment)."""
    async with engine.db.transaction() as uow:
        if not await uow.webhooks.record(gateway, merchant_id, event.event_id, event.event_type):
            return True, None
        if event.refund is not None and (refund_id := await _refund_of(uow, merchant_id, event)) is not None:
            await settle_refund_in(uow, merchant_id, refund_id, event.refund)
        if event.charge is None:
            return False, None
        return False, await _apply_charge(uow, engine, merchant_id, gateway, event)


async def _apply_charge(
    uow: UnitOfWork, engine: Engine, merchant_id: str, gateway: str, event: WebhookEvent
) -> Payment | None:
    attempt = None
    if event.attempt_id and plausible(event.attempt_id):
        attempt = await uow.attempts.get(event.attempt_id, merchant_id)
    if attempt is None:
        attempt = await uow.attempts.find_by_gateway_ref(
            merchant_id, gateway, event.gateway_reference, event.gateway_order_id
        )
    if attempt is None or attempt.gateway != gateway:
        log.warning("webhook %s for an unknown attempt ignored", event.event_id)
        return None
    assert event.charge is not None
    read = await uow.phases.read_for_settle(attempt.id, merchant_id)
    assert read is not None
    payment, _ = await settle_in(uow, engine, *read, event.charge)
    return payment


async def _refund_of(uow: UnitOfWork, merchant_id: str, event: WebhookEvent) -> str | None:
    """Our refund id for a refund event: by our id echoed back, else by the gateway's own id
    (gateways with short id limits carry a derived id we stored as ``gateway_refund_id``)."""
    for reference in (event.refund_reference, event.refund.gateway_refund_id if event.refund else None):
        if not reference:
            continue
        refund = await uow.refunds.get(reference, merchant_id) if plausible(reference) else None
        refund = refund or await uow.refunds.find_by_gateway_id(merchant_id, reference)
        if refund is not None:
            return refund.id
    return None


async def receive_callback(
    engine: Engine, gateway: str, merchant_id: str, payment_id: str, params: dict[str, str]
) -> tuple[Payment, str | None]:
    """Verify the browser's return from the gateway, confirm by status sync, and say where to go.

    Returns the settled payment and the merchant's ``return_url`` with ``payment_id`` and
    ``status`` appended (``None`` when the payment has no return URL).
    """
    if not plausible(merchant_id):
        raise NotFound("No such payment.", param="payment_id")
    payment = await get_payment(engine, merchant_id, payment_id)
    attempt = await engine.db.attempts.latest(payment_id, merchant_id)
    if attempt is None or attempt.gateway != gateway:
        raise NotFound("No gateway attempt for this payment.", param="payment_id")
    account = await engine.gateways.account(merchant_id, attempt.gateway_account_id, attempt.gateway)
    connector = engine.gateways.connector(account)
    verified = connector.verify_callback(params, ref_of(attempt, payment.currency))
    if verified is None:
        raise SignatureInvalid("Callback signature verification failed.")
    # A callback is only a hint (and Razorpay does not sign failures): the gateway's status
    # API has the final word.
    ref = AttemptRef(
        attempt.id,
        attempt.gateway_reference or verified.gateway_reference,
        attempt.gateway_order_id,
        attempt.amount,
        payment.currency,
    )
    result = await call_connector(connector.sync, ref)
    if result.outcome is Outcome.UNKNOWN and verified.outcome is not Outcome.UNKNOWN:
        result = verified
    payment = await auto_capture(engine, await settle(engine, merchant_id, attempt.id, result))
    if not payment.return_url:
        return payment, None
    sep = "&" if "?" in payment.return_url else "?"
    return payment, payment.return_url + sep + urlencode({"payment_id": payment.id, "status": payment.status})
