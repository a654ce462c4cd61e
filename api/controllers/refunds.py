"""``/v1/refunds`` and ``/v1/customers``."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.params import Parameter

from api.answers import JSON
from api.deps import engine_of, merchant_id, run_call
from api.docs import CURSOR, GATEWAY_ERRORS, PAGE_LIMIT, READ_ERRORS, WRITE_ERRORS, responses
from api.render import CREATED
from engine.commands import CreateCustomer, CreateRefund
from engine.services.customers import create_customer, get_customer, list_customers
from engine.services.refunds import create_refund, get_refund, list_refunds
from engine.views import CustomerList, CustomerObject, RefundList, RefundObject, customer_view, encode, refund_view


class RefundController(Controller):
    """Refunds of the authenticated merchant's payments."""

    path = "/v1/refunds"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["refunds"]

    @post(
        "/",
        status_code=200,
        summary="Refund a payment (partial or full)",
        responses=responses(200, RefundObject, "The refund.", *WRITE_ERRORS, *GATEWAY_ERRORS),
    )
    async def create(self, request: Request, state: State, merchant_id: str, data: CreateRefund) -> Response[bytes]:
        """Refund ``amount`` (default: all that is left) of a succeeded payment."""
        engine = engine_of(state)
        return await run_call(
            request, engine, merchant_id, lambda claim: create_refund(engine, merchant_id, data, claim)
        )

    @get(
        "/",
        summary="List refunds (newest first, cursor pagination)",
        responses=responses(200, RefundList, "A page of refunds.", *READ_ERRORS),
    )
    async def list_(
        self,
        state: State,
        merchant_id: str,
        payment_id: str | None = Parameter(default=None, max_length=64),
        limit: int = PAGE_LIMIT,
        starting_after: str | None = CURSOR,
        ending_before: str | None = CURSOR,
    ) -> Response[bytes]:
        """A page of refunds (of one payment with ``payment_id``); ``starting_after`` (older) or
        ``ending_before`` (newer) a refund id."""
        page = await list_refunds(
            engine_of(state),
            merchant_id,
            payment_id=payment_id,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )
        return Response(encode(page), media_type=JSON)

    @get(
        "/{refund_id:str}",
        summary="Retrieve a refund",
        responses=responses(200, RefundObject, "The refund.", *READ_ERRORS),
    )
    async def retrieve(self, state: State, merchant_id: str, refund_id: str) -> Response[bytes]:
        """The refund, or 404."""
        refund = await get_refund(engine_of(state), merchant_id, refund_id)
        return Response(encode(refund_view(refund)), media_type=JSON)


class CustomerController(Controller):
    """Customers of the authenticated merchant."""

    path = "/v1/customers"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["customers"]

    @post(
        "/",
        status_code=201,
        summary="Create a customer",
        responses=responses(201, CustomerObject, "The customer.", *WRITE_ERRORS),
    )
    async def create(self, request: Request, state: State, merchant_id: str, data: CreateCustomer) -> Response[bytes]:
        """Store a customer (registered with gateways that keep customers)."""
        engine = engine_of(state)
        return await run_call(
            request,
            engine,
            merchant_id,
            lambda claim: create_customer(engine, merchant_id, data, claim),
            render=CREATED,
        )

    @get(
        "/",
        summary="List customers (newest first, cursor pagination)",
        responses=responses(200, CustomerList, "A page of customers.", *READ_ERRORS),
    )
    async def list_(
        self,
        state: State,
        merchant_id: str,
        limit: int = PAGE_LIMIT,
        starting_after: str | None = CURSOR,
        ending_before: str | None = CURSOR,
    ) -> Response[bytes]:
        """A page of customers; ``starting_after`` (older) or ``ending_before`` (newer) a customer id."""
        page = await list_customers(
            engine_of(state), merchant_id, limit=limit, starting_after=starting_after, ending_before=ending_before
        )
        return Response(encode(page), media_type=JSON)

    @get(
        "/{customer_id:str}",
        summary="Retrieve a customer",
        responses=responses(200, CustomerObject, "The customer.", *READ_ERRORS),
    )
    async def retrieve(self, state: State, merchant_id: str, customer_id: str) -> Response[bytes]:
        """The customer, or 404."""
        customer = await get_customer(engine_of(state), merchant_id, customer_id)
        return Response(encode(customer_view(customer)), media_type=JSON)
