"""The checkout's calls -- create, confirm, retrieve a payment -- whatever serves them.

Litestar's ``PaymentController`` (which also documents them in OpenAPI) and the raw ASGI hot
routes (api/hot_routes.py) both answer these routes through the functions here, with the request
already admitted (api/admission.py): one behaviour, two ways in.
"""

from __future__ import annotations

from api.answers import Answer
from api.browser import for_browser, splice, with_client_secret
from api.idem import Call, run
from api.render import CREATED
from engine.bootstrap import Engine
from engine.commands import ConfirmPayment, CreatePayment
from engine.errors import ValidationError
from engine.results import Result
from engine.services import client_secrets, idempotency, routing
from engine.services import confirm as confirming
from engine.services.methods import prepare_method
from engine.services.payments import create_for_confirm, create_payment, new_payment
from engine.views import encode, payment_view


async def create(engine: Engine, call: Call, data: CreatePayment) -> Answer:
    """Create a payment in ``requires_payment_method``; with ``confirm: true`` charge it now.
    The answer carries the payment's ``client_secret`` (for the browser; README "Checkout")."""
    merchant_id = call.merchant_id
    payment = new_payment(merchant_id, data)
    secret = client_secrets.new_secret(payment.id)
    if not data.confirm:
        if data.payment_method is not None:
            raise ValidationError(
                "payment_method needs confirm: true (card data is never stored for later).", param="payment_method"
            )
        answer = await run(
            call,
            engine,
            merchant_id,
            lambda claim: create_payment(engine, payment, claim, secret),
            render=CREATED,
            pre_claim=False,
        )
        return await with_client_secret(engine, merchant_id, answer, payment.id, secret)
    if data.payment_method is None:
        raise ValidationError(
            "payment_method is required with confirm: true.", code="parameter_missing", param="payment_method"
        )
    method, masked = prepare_method(data.payment_method)  # reject a bad card before anything is stored
    # ... and a payment no gateway could take (routing is cached, this costs no round trip)
    await routing.plan(
        engine,
        merchant_id,
        payment.currency,
        method.type,
        data.gateway,
        payment.capture_method,
        probe=False,
        amount=payment.amount,
        detail=routing.method_detail(method.type, masked),
    )
    confirm_data = ConfirmPayment(payment_method=data.payment_method, return_url=data.return_url, gateway=data.gateway)

    async def create_and_confirm(claim: idempotency.Claim | None) -> Result:
        # A retry after a crash continues the payment the first request created.
        payment_id = claim.object_id if claim and claim.object_id else None
        payment_id = payment_id or await create_for_confirm(engine, payment, claim, secret)
        # A 4xx from here on is final for the key: its recovery point names the payment, so
        # ``run`` stores the error instead of releasing the key.
        return await confirming.confirm(engine, merchant_id, payment_id, confirm_data, claim)

    answer = await run(call, engine, merchant_id, create_and_confirm, render=CREATED)
    return await with_client_secret(engine, merchant_id, answer, payment.id, secret)


async def confirm(engine: Engine, call: Call, payment_id: str, data: ConfirmPayment) -> Answer:
    """Charge the payment: 200 with the payment, 402 for a decline, 502 for a gateway failure
    (a publishable key sees the trimmed browser payment)."""
    merchant_id = call.merchant_id
    # The key is claimed by confirm's first write (one statement fewer per confirm).
    answer = await run(
        call,
        engine,
        merchant_id,
        lambda claim: confirming.confirm(engine, merchant_id, payment_id, data, claim),
        pre_claim=False,
    )
    return for_browser(call.publishable, answer)


async def retrieve(engine: Engine, merchant_id: str, payment_id: str) -> Answer:
    """The payment with its ``client_secret``, or 404 (also for another merchant's payment)."""
    payment, secret = await client_secrets.payment_with_secret(engine, merchant_id, payment_id)
    body = encode(payment_view(payment))
    return Answer(200, splice(body, secret) if secret else body)
