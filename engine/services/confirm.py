"""Confirm: attach a payment method and charge it, failing over between gateways.

Routing gives an ordered list of gateway accounts. Only a ``RETRYABLE`` answer (the gateway
failed before any money could move) moves on to the next account, as a new attempt with the
reason recorded; an ``UNKNOWN`` answer never fails over -- it is reconciled instead, because
the first gateway may have charged.

Recovery points: the transaction that records the attempt also moves the key to
``charge_started``; a gateway order is committed on the attempt before the payment is created
at the gateway. A retry of the key after a crash never charges again: it asks the gateway about
the recorded attempt (by its payment id, order id, or our reference) and finishes from there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from engine.commands import ConfirmPayment
from engine.errors import ConnectorBug, IllegalTransition, OutcomePending, ValidationError
from engine.gateways.base import ChargeRequest, ChargeResult, GatewayConnector, Outcome, PaymentMethod
from engine.ids import new_id, plausible
from engine.model import Attempt, GatewayAccount, Payment
from engine.payment_rules import INTERNAL_ERROR, NO_PAYMENT
from engine.results import Declined, outcome_of
from engine.services import bulkhead, failover, idempotency, lost_pages, routing
from engine.services.charging import (
    absent_after_s,
    auto_capture,
    call_connector,
    charge_request,
    finish,
    ref_of,
    remember,
    require,
    settle,
)
from engine.services.idempotency import RecoveryPoint
from engine.services.methods import prepare_method
from engine.services.payments import get_payment, no_such_payment
from engine.states import CONFIRMABLE, UNRESOLVED_ATTEMPTS, AttemptStatus, PaymentStatus
from engine.store import phases
from engine.views import payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine

_CONFIRMABLE = [str(status) for status in CONFIRMABLE]
# A pending attempt is due for a status check this long after it began, unless news comes first.
PENDING_CHECK_AFTER = timedelta(minutes=2)


async def confirm(
    engine: Engine,
    merchant_id: str,
    payment_id: str,
    cmd: ConfirmPayment,
    claim: idempotency.Claim | None,
) -> Payment | Declined | idempotency.Replay:
    """Charge the payment through the routed gateways; see the module docstring.

    A ``claim`` not held yet is judged on the key row read with the payment (replay, takeover,
    409/422) and stored by the first write (``start_attempt``): a request rejected before it
    stores nothing, and a confirm costs no statement of its own for its key.
    """
    unheld = claim.key if claim is not None and not claim.hold.held else None
    read = await engine.db.phases.read_for_confirm(payment_id, merchant_id, unheld) if plausible(payment_id) else None
    if read is None:
        raise no_such_payment(payment_id)
    payment, contact, stored = read
    if claim is not None and stored is not None:
        judged = await idempotency.judge(engine, claim, stored)
        if isinstance(judged, idempotency.Replay):
            return judged
        claim = judged or claim  # None: the row vanished meanwhile; claimed by the first write
    if claim is not None and claim.resumes(RecoveryPoint.CHARGE_STARTED):
        return await resume(engine, payment, claim, cmd, contact)
    return await _charge_new(engine, payment, cmd, contact, claim)


async def _charge_new(
    engine: Engine, payment: Payment, cmd: ConfirmPayment, contact: phases.Contact, claim: idempotency.Claim | None
) -> Payment | Declined | idempotency.Replay:
    """Route the payment method and charge it as a new attempt."""
    merchant_id = payment.merchant_id
    if cmd.payment_method is None:
        raise ValidationError(
            "payment_method is required to confirm.", code="parameter_missing", param="payment_method"
        )
    method, masked = prepare_method(cmd.payment_method)
    require(payment, CONFIRMABLE, "confirmed")
    plan = await routing.plan(
        engine,
        merchant_id,
        payment.currency,
        method.type,
        cmd.gateway or payment.gateway,
        payment.capture_method,
        amount=payment.amount,
        detail=routing.method_detail(method.type, masked),
    )
    # The first candidate with room in its bulkhead; the slot is held for each charge call.
    plan, slot = bulkhead.admit(engine.bulkheads, plan)
    try:
        return await _charge(engine, payment, plan, method, masked, cmd, contact, claim, slot)
    finally:
        slot.release()


async def _charge(
    engine: Engine,
    payment: Payment,
    plan: routing.Plan,
    method: PaymentMethod,
    masked: dict[str, Any],
    cmd: ConfirmPayment,
    contact: phases.Contact,
    claim: idempotency.Claim | None,
    slot: bulkhead.Slot,
) -> Payment | Declined | idempotency.Replay:
    """Record the attempt and charge it, failing over on ``RETRYABLE`` answers; ``slot`` (and
    each failover target's) is given back as soon as its call returned."""
    merchant_id = payment.merchant_id
    account = plan.candidates[0]
    started = await _start(engine, payment, account, method.type, masked, cmd.return_url, plan, claim)
    if isinstance(started, idempotency.Replay):
        return started
    payment, attempt = started
    remaining = list(plan.candidates[1:]) if not plan.named else []
    while True:
        # The rows as this request wrote them: the answer's phase is then one write, no read.
        written = [payment, attempt]
        request = _with_order_recorder(engine, charge_request(engine, payment, attempt, method, contact), written)
        try:
            result = await call_connector(engine.gateways.connector(account).authorize, request)
        except ConnectorBug:
            await settle(engine, merchant_id, attempt.id, ChargeResult(Outcome.RETRYABLE, error_code=INTERNAL_ERROR))
            raise
        finally:
            slot.release()
        await engine.breaker.record(account.gateway, result.outcome)
        following = await failover.next_allowed(engine, remaining) if result.outcome is Outcome.RETRYABLE else None
        if following is None:
            return await finish(engine, payment, attempt.id, result, claim, rows=(written[0], written[1]))
        account, slot = following
        try:
            payment, attempt = await failover.hand_over(engine, payment, attempt, result, account, method)
        except BaseException:
            slot.release()
            raise


async def _start(
    engine: Engine,
    payment: Payment,
    account: GatewayAccount,
    method_type: str,
    masked: dict[str, Any],
    return_url: str | None,
    plan: routing.Plan,
    claim: idempotency.Claim | None,
) -> tuple[Payment, Attempt] | idempotency.Replay:
    """The first phase, one statement: the payment goes processing with its pending attempt,
    event and the key's recovery point (the key itself when not held yet) -- unless the payment
    changed since it was read (then re-check), or another request claimed the key first (then
    that request decides: replay, 409 or 422)."""
    for _ in range(3):
        now = engine.clock()
        after = msgspec.structs.replace(
            payment,
            status=PaymentStatus.PROCESSING,
            gateway=account.gateway,
            payment_method=masked,
            return_url=return_url or payment.return_url,
            last_error=None,
            next_action=None,
            routing=plan.decision(),
            version=payment.version + 1,
            updated_at=now,
        )
        attempt = Attempt(
            id=new_id("att"), payment_id=payment.id, merchant_id=payment.merchant_id, gateway=account.gateway,
            gateway_account_id=account.id, status=AttemptStatus.PENDING, amount=payment.amount,
            method_type=method_type, next_sync_at=now + PENDING_CHECK_AFTER, created_at=now, updated_at=now,
        )  # fmt: skip
        key = claim.key if claim else None
        new_key = _new_key(engine, claim)
        outcome = await engine.db.phases.start_attempt(
            payment, after, attempt, _CONFIRMABLE, payment_view(after), key, new_key
        )
        if outcome == "started":
            if claim is not None:
                claim.hold.held = True
            return after, attempt
        if outcome == "key_taken" and claim is not None:
            judged = await idempotency.claim(engine, claim)  # replay, 409 or 422 -- or held now
            if isinstance(judged, idempotency.Replay):
                return judged
            continue
        payment = await get_payment(engine, payment.merchant_id, payment.id)
        require(payment, CONFIRMABLE, "confirmed")
    raise IllegalTransition("This payment is being changed by another request; retry.")


async def resume(
    engine: Engine, payment: Payment, claim: idempotency.Claim, cmd: ConfirmPayment, contact: phases.Contact
) -> Payment | Declined | idempotency.Replay:
    """Finish a confirm whose request died after recording its attempt: ask the gateway about
    that attempt (never charge twice), settle, and answer as the first request would have.

    When the gateway provably has no payment for the attempt (the request died before creating
    it, e.g. during Razorpay's order call), the same attempt is continued with the retry's
    payment method -- on the order found, if any -- once no live request can still be creating
    one (``absent_after_s``); until then the outcome is pending and nothing final is stored.
    """
    attempt = await engine.db.attempts.latest(payment.id, payment.merchant_id)
    assert attempt is not None  # the recovery point was written with the attempt
    if attempt.status in UNRESOLVED_ATTEMPTS:
        account = await engine.gateways.account(payment.merchant_id, attempt.gateway_account_id, attempt.gateway)
        connector = engine.gateways.connector(account)
        result = await call_connector(connector.sync, ref_of(attempt, payment.currency))
        if lost_pages.concerns(attempt, result):
            # Its page never reached us: raises while it is open, a new attempt once it failed.
            settled = await lost_pages.resolve(engine, payment, attempt, result)
            if settled is not None and cmd.payment_method is not None:
                return await _charge_new(engine, settled, cmd, contact, claim)
        if _nothing_at_gateway(attempt, result) and cmd.payment_method is not None:
            if (engine.clock() - attempt.created_at).total_seconds() <= absent_after_s(engine):
                raise OutcomePending(
                    "The first request's charge is still being resolved; nothing was charged yet. "
                    "Retry with the same Idempotency-Key to continue it.",
                    code="charge_pending",
                )
            result = await _continue(engine, connector, payment, attempt, result.gateway_order_id, cmd, contact)
        return await finish(engine, payment, attempt.id, result, claim)
    if lost_pages.starts_over(attempt, payment) and cmd.payment_method is not None:
        # Its lost page's attempt failed meanwhile (reconciler, webhook): it can never charge.
        return await _charge_new(engine, payment, cmd, contact, claim)
    payment = await auto_capture(engine, payment)  # settled meanwhile (webhook, worker)
    return await remember(engine, claim, outcome_of(payment))


def _nothing_at_gateway(attempt: Attempt, result: ChargeResult) -> bool:
    """The gateway has no payment for an attempt that never got an answer."""
    never_answered = attempt.status in (AttemptStatus.PENDING, AttemptStatus.UNKNOWN)
    return never_answered and result.outcome is Outcome.UNKNOWN and result.raw_status == NO_PAYMENT


async def _continue(
    engine: Engine,
    connector: GatewayConnector,
    payment: Payment,
    attempt: Attempt,
    found_order: str | None,
    cmd: ConfirmPayment,
    contact: phases.Contact,
) -> ChargeResult:
    """Charge the recorded attempt now, on its gateway order if one exists (recorded first)."""
    assert cmd.payment_method is not None
    method, _ = prepare_method(cmd.payment_method)
    order_id = attempt.gateway_order_id or found_order
    if order_id and not attempt.gateway_order_id:
        await engine.db.attempts.record_order(attempt.id, attempt.merchant_id, order_id)
    request = msgspec.structs.replace(
        charge_request(engine, payment, attempt, method, contact), gateway_order_id=order_id
    )
    result = await call_connector(connector.authorize, _with_order_recorder(engine, request, [payment, attempt]))
    await engine.breaker.record(attempt.gateway, result.outcome)
    return result


def _new_key(engine: Engine, claim: idempotency.Claim | None) -> phases.NewKey | None:
    if claim is None or claim.hold.held:
        return None
    return phases.NewKey(claim.method, claim.path, claim.fingerprint, engine.settings.idempotency_ttl_hours)


def _with_order_recorder(engine: Engine, request: ChargeRequest, written: list[Any]) -> ChargeRequest:
    """The request with its order recovery point: the gateway's order id is committed on the
    attempt before the connector creates the payment (and ``written``'s attempt follows)."""

    async def record_order(order_id: str) -> None:
        if await engine.db.attempts.record_order(request.attempt_id, request.merchant_id, order_id):
            attempt = written[1]
            written[1] = msgspec.structs.replace(attempt, gateway_order_id=order_id, version=attempt.version + 1)

    return msgspec.structs.replace(request, record_order=record_order)
