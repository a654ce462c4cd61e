"""Payment use cases without a gateway call: create, read, list, and writing a ``Change``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from engine import validation
from engine.commands import CreatePayment
from engine.errors import NotFound, ValidationError
from engine.ids import new_id, plausible
from engine.model import Attempt, Payment
from engine.payment_rules import Change
from engine.services import client_secrets, idempotency, pages
from engine.states import PaymentStatus
from engine.views import PaymentList, payment_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine
    from engine.store.uow import UnitOfWork


def new_payment(merchant_id: str, cmd: CreatePayment) -> Payment:
    """Validate a create command and build the payment (no IO)."""
    currency = cmd.currency.upper() if cmd.currency.isalpha() else cmd.currency
    validation.validate_amount(cmd.amount, currency)
    now = datetime.now(UTC)
    return Payment(
        id=new_id("pay"),
        merchant_id=merchant_id,
        amount=cmd.amount,
        currency=currency,
        status=PaymentStatus.REQUIRES_PAYMENT_METHOD,
        capture_method=cmd.capture_method,
        customer_id=cmd.customer_id,
        merchant_order_id=cmd.merchant_order_id,
        description=cmd.description,
        metadata=dict(cmd.metadata),
        return_url=cmd.return_url,
        gateway=cmd.gateway,
        created_at=now,
        updated_at=now,
    )


async def create_payment(
    engine: Engine, payment: Payment, claim: idempotency.Claim | None, secret: str | None = None
) -> Payment | idempotency.Replay:
    """Store a new payment: one statement holding the payment, its event and the key's response
    (and the hash and sealed copy of its client ``secret``, engine/services/client_secrets.py).

    With an idempotency key the response is written in the same statement, so a crash can never
    leave a payment without its key or a key without its payment. When the key already exists
    nothing is written and the earlier request decides (replay, 409 or 422).
    """
    view = payment_view(payment)
    answer = idempotency.rendered(claim, payment)
    stored_secret = client_secrets.stored_form(engine, payment.id, secret) if secret else None
    if claim is None or answer is None:  # (both or neither)
        await engine.db.payments.insert(payment, view, client_secret=stored_secret)
        return payment
    _, status, body = answer
    key = (claim.key, claim.method, claim.path, claim.fingerprint, status, body, engine.settings.idempotency_ttl_hours)
    if await engine.db.payments.insert(payment, view, key, client_secret=stored_secret):
        return payment
    outcome = await idempotency.claim(engine, claim)
    if isinstance(outcome, idempotency.Replay):
        return outcome
    # The earlier holder vanished between our insert and the re-read; very unlikely. Retry once.
    await idempotency.release(engine, outcome)
    return await create_payment(engine, payment, claim, secret)


async def create_for_confirm(
    engine: Engine, payment: Payment, claim: idempotency.Claim | None, secret: str | None = None
) -> str:
    """Store the payment of a create-with-confirm; with a key, the key's recovery point names it
    in the same statement (a retry after a crash confirms this payment, never a new one)."""
    stored_secret = client_secrets.stored_form(engine, payment.id, secret) if secret else None
    await engine.db.payments.insert(
        payment, payment_view(payment), claimed_key=claim.key if claim else None, client_secret=stored_secret
    )
    return payment.id


async def get_payment(engine: Engine, merchant_id: str, payment_id: str) -> Payment:
    """The merchant's payment or a 404."""
    payment = await engine.db.payments.get(payment_id, merchant_id) if plausible(payment_id) else None
    if payment is None:
        raise no_such_payment(payment_id)
    return payment


def no_such_payment(payment_id: str) -> NotFound:
    """The 404 of an unknown payment id (another merchant's included)."""
    return NotFound(f"No such payment: {payment_id[:64]!r}.", param="id")


async def list_payments(
    engine: Engine,
    merchant_id: str,
    *,
    limit: int,
    starting_after: str | None,
    status: str | None,
    ending_before: str | None = None,
) -> PaymentList:
    """A cursor page (``engine.services.pages``): ``{"object": "list", "data": [...], "has_more": bool}``."""
    if status is not None and status not in PaymentStatus.__members__.values():
        raise ValidationError(f"Unknown status {status[:40]!r}.", param="status")
    w = await pages.window(
        limit, starting_after, ending_before, lambda pid: engine.db.payments.cursor_of(pid, merchant_id), "payment"
    )
    rows = await engine.db.payments.page(merchant_id, status, w.older_than, w.newer_than, w.size)
    page, has_more = pages.trim(rows, limit, w.newer_than is not None)
    return PaymentList("list", [payment_view(p) for p in page], has_more)


async def write_change(uow: UnitOfWork, change: Change) -> Payment:
    """Persist a ``Change`` (attempt, payment, events) in the caller's unit of work."""
    attempt = await uow.attempts.update(change.attempt) if change.attempt_changed else change.attempt
    payment = await uow.payments.update(change.payment) if change.payment_changed else change.payment
    for event in event_rows(change.events, attempt, payment):
        await uow.events.add(payment.merchant_id, event["type"], event["object_id"], event["data"])
    return payment


def event_rows(types: tuple[str, ...], attempt: Attempt, payment: Payment) -> list[dict[str, Any]]:
    """The outbox rows of a change: attempt events carry the attempt's status, payment events the
    payment object as the merchant sees it."""
    rows = []
    for type_ in types:
        if type_.startswith("attempt."):
            rows.append({"id": new_id("evt"), "type": type_, "object_id": attempt.id,
                         "data": {"attempt_id": attempt.id, "status": attempt.status}})  # fmt: skip
        else:
            rows.append({"id": new_id("evt"), "type": type_, "object_id": payment.id, "data": payment_view(payment)})
    return rows
