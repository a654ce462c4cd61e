"""``/v1/payments``: create, confirm, capture, cancel, sync, read, list."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter

from api.browser import for_browser, splice, with_client_secret
from api.deps import engine_of, merchant_id
from api.docs import (
    CURSOR,
    GATEWAY_ERRORS,
    PAGE_LIMIT,
    READ_ERRORS,
    WRITE_ERRORS,
    PaymentMethodList,
    PaymentWithSecret,
    responses,
)
from api.idem import JSON, run
from api.render import CREATED
from engine.commands import CancelPayment, CapturePayment, ConfirmPayment, CreatePayment, SyncPayment
from engine.errors import ValidationError
from engine.results import Result
from engine.services import cancels, captures, charging, client_secrets, eligibility, idempotency, routing
from engine.services import confirm as confirming
from engine.services.methods import prepare_method
from engine.services.payments import (
    create_for_confirm,
    create_payment,
    get_payment,
    list_payments,
    new_payment,
)
from engine.states import PaymentStatus
from engine.views import PaymentList, PaymentObject, encode, payment_view


class PaymentController(Controller):
    """Payments of the authenticated merchant."""

    path = "/v1/payments"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["payments"]

    @post(
        "/",
        status_code=201,
        summary="Create a payment (optionally confirm it at once)",
        responses=responses(201, PaymentWithSecret, "The payment.", *WRITE_ERRORS, *GATEWAY_ERRORS),
    )
    async def create(self, request: Request, state: State, merchant_id: str, data: CreatePayment) -> Response[bytes]:
        """Create a payment in ``requires_payment_method``; with ``confirm: true`` charge it now.
        The answer carries the payment's ``client_secret`` (for the browser; README "Checkout")."""
        engine = engine_of(state)
        payment = new_payment(merchant_id, data)
        secret = client_secrets.new_secret(payment.id)
        if not data.confirm:
            if data.payment_method is not None:
                raise ValidationError(
                    "payment_method needs confirm: true (card data is never stored for later).", param="payment_method"
                )
            response = await run(
                request,
                engine,
                merchant_id,
                lambda claim: create_payment(engine, payment, claim, secret),
                render=CREATED,
                pre_claim=False,
            )
            return await with_client_secret(engine, merchant_id, response, payment.id, secret)
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
        confirm = ConfirmPayment(payment_method=data.payment_method, return_url=data.return_url, gateway=data.gateway)

        async def create_and_confirm(claim: idempotency.Claim | None) -> Result:
            # A retry after a crash continues the payment the first request created.
            payment_id = claim.object_id if claim and claim.object_id else None
            payment_id = payment_id or await create_for_confirm(engine, payment, claim, secret)
            # A 4xx from here on is final for the key: its recovery point names the payment, so
            # ``run`` stores the error instead of releasing the key.
            return await confirming.confirm(engine, merchant_id, payment_id, confirm, claim)

        response = await run(request, engine, merchant_id, create_and_confirm, render=CREATED)
        return await with_client_secret(engine, merchant_id, response, payment.id, secret)

    @get(
        "/",
        summary="List payments (newest first, cursor pagination)",
        responses=responses(200, PaymentList, "A page of payments.", *READ_ERRORS),
    )
    async def list_(
        self,
        state: State,
        merchant_id: str,
        # Bounds and statuses are checked by list_payments (400 naming the parameter).
        limit: int = PAGE_LIMIT,
        starting_after: str | None = CURSOR,
        ending_before: str | None = CURSOR,
        status: str | None = Parameter(
            default=None, max_length=40, schema_extra={"enum": [s.value for s in PaymentStatus]}
        ),
    ) -> Response[bytes]:
        """A page of payments; ``starting_after`` (older) or ``ending_before`` (newer) a payment id."""
        page = await list_payments(
            engine_of(state),
            merchant_id,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
            status=status,
        )
        return Response(encode(page), media_type=JSON)

    @get(
        "/{payment_id:str}",
        summary="Retrieve a payment",
        responses=responses(200, PaymentWithSecret, "The payment.", *READ_ERRORS),
    )
    async def retrieve(self, state: State, merchant_id: str, payment_id: str) -> Response[bytes]:
        """The payment with its ``client_secret``, or 404 (also for another merchant's payment)."""
        engine = engine_of(state)
        payment, secret = await client_secrets.payment_with_secret(engine, merchant_id, payment_id)
        body = encode(payment_view(payment))
        return Response(splice(body, secret) if secret else body, media_type=JSON)

    @get(
        "/{payment_id:str}/payment_methods",
        opt={"publishable": True},
        summary="The payment methods this payment can use now",
        responses=responses(200, PaymentMethodList, "The eligible methods.", *READ_ERRORS, 403),
    )
    async def payment_methods(
        self,
        state: State,
        merchant_id: str,
        payment_id: str,
        client_secret: str | None = Parameter(
            default=None, max_length=120, description="Required with a publishable key (pk_test_…)."
        ),
    ) -> Response[bytes]:
        """Card brands, UPI, netbanking banks and wallet providers this payment can be confirmed
        with now, computed by confirm's own routing (engine/services/eligibility.py). Callable
        with the secret key, or with the publishable key plus the payment's ``client_secret``."""
        engine = engine_of(state)
        payment = await get_payment(engine, merchant_id, payment_id)
        methods = await eligibility.eligible_methods(engine, payment)
        return Response(encode({"object": "list", "data": methods}), media_type=JSON)

    @post(
        "/{payment_id:str}/confirm",
        status_code=200,
        opt={"publishable": True},
        summary="Confirm a payment with a payment method",
        description=(
            "With the secret key: the payment object. With the publishable key (the browser), which"
            " needs `client_secret` in the body and may not set `gateway` or `return_url`: the"
            " trimmed `BrowserPayment` (id, amount, currency, status, payment_method, next_action,"
            " last_error, return_url)."
        ),
        responses=responses(200, PaymentObject, "The payment.", *WRITE_ERRORS, *GATEWAY_ERRORS, 403),
    )
    async def confirm(
        self, request: Request, state: State, merchant_id: str, payment_id: str, data: ConfirmPayment
    ) -> Response[bytes]:
        """Charge the payment: 200 with the payment, 402 for a decline, 502 for a gateway failure."""
        engine = engine_of(state)
        # The key is claimed by confirm's first write (one statement fewer per confirm).
        response = await run(
            request,
            engine,
            merchant_id,
            lambda claim: confirming.confirm(engine, merchant_id, payment_id, data, claim),
            pre_claim=False,
        )
        return for_browser(request, response)

    @post(
        "/{payment_id:str}/capture",
        status_code=200,
        summary="Capture an authorized payment",
        responses=responses(200, PaymentObject, "The captured payment.", *WRITE_ERRORS, *GATEWAY_ERRORS),
    )
    async def capture(
        self, request: Request, state: State, merchant_id: str, payment_id: str, data: CapturePayment | None = None
    ) -> Response[bytes]:
        """Capture all (no body) or part (``amount``) of the authorized amount."""
        engine = engine_of(state)
        return await run(
            request,
            engine,
            merchant_id,
            lambda claim: captures.capture(engine, merchant_id, payment_id, data.amount if data else None, claim),
        )

    @post(
        "/{payment_id:str}/cancel",
        status_code=200,
        summary="Cancel a payment before capture",
        responses=responses(200, PaymentObject, "The canceled payment.", *WRITE_ERRORS, *GATEWAY_ERRORS),
    )
    async def cancel(
        self, request: Request, state: State, merchant_id: str, payment_id: str, data: CancelPayment | None = None
    ) -> Response[bytes]:
        """Cancel; an authorization is voided at the gateway first."""
        engine = engine_of(state)
        return await run(
            request, engine, merchant_id, lambda claim: cancels.cancel(engine, merchant_id, payment_id, claim)
        )

    @post(
        "/{payment_id:str}/sync",
        status_code=200,
        summary="Ask the gateway for the latest status",
        responses=responses(200, PaymentObject, "The payment.", *WRITE_ERRORS, *GATEWAY_ERRORS),
    )
    async def sync(
        self, request: Request, state: State, merchant_id: str, payment_id: str, data: SyncPayment | None = None
    ) -> Response[bytes]:
        """Resolve an unknown or pending attempt by asking the gateway now."""
        engine = engine_of(state)
        return await run(
            request, engine, merchant_id, lambda claim: charging.sync(engine, merchant_id, payment_id, claim)
        )
