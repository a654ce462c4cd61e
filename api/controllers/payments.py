"""``/v1/payments``: create, confirm, capture, cancel, sync, read, list."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter

from api import payment_calls
from api.answers import JSON
from api.deps import call_of, engine_of, merchant_id, run_call
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
from api.errors import respond
from engine.commands import CancelPayment, CapturePayment, ConfirmPayment, CreatePayment, SyncPayment
from engine.services import cancels, captures, charging, eligibility
from engine.services.payments import (
    get_payment,
    list_payments,
)
from engine.states import PaymentStatus
from engine.views import PaymentList, PaymentObject, encode


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
        return respond(await payment_calls.create(engine_of(state), await call_of(request), data))

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
        return respond(await payment_calls.retrieve(engine_of(state), merchant_id, payment_id))

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
        return respond(await payment_calls.confirm(engine_of(state), await call_of(request), payment_id, data))

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
        return await run_call(
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
        return await run_call(
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
        return await run_call(
            request, engine, merchant_id, lambda claim: charging.sync(engine, merchant_id, payment_id, claim)
        )
