"""``/v1/merchant/routing``: the merchant's ordered gateway list."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.datastructures import State
from litestar.di import Provide

from api.answers import JSON
from api.deps import engine_of, merchant_id
from api.docs import READ_ERRORS, RoutingObject, responses
from engine.commands import GatewayName, Strict, documented
from engine.services.routing import get_routing, set_routing
from engine.views import encode


class SetRouting(Strict):
    """``PUT /v1/merchant/routing``: gateways in the order payments should try them."""

    gateways: Annotated[list[GatewayName], msgspec.Meta(min_length=1, max_length=4), documented(uniqueItems=True)]


class RoutingController(Controller):
    """Read and set the routing order of the authenticated merchant."""

    path = "/v1/merchant/routing"
    dependencies = {"merchant_id": Provide(merchant_id)}
    opt = {"auth": "merchant"}
    tags = ["routing"]

    @get(
        "/",
        summary="The merchant's gateway routing order",
        responses=responses(200, RoutingObject, "The routing order.", *READ_ERRORS),
    )
    async def read(self, state: State, merchant_id: str) -> Response[bytes]:
        """Enabled gateways in order, and every configured one."""
        return Response(encode(await get_routing(engine_of(state), merchant_id)), media_type=JSON)

    @put(
        "/",
        summary="Set the gateway routing order",
        responses=responses(200, RoutingObject, "The routing order now.", *READ_ERRORS, 413),
    )
    async def write(self, request: Request, state: State, merchant_id: str, data: SetRouting) -> Response[bytes]:
        """Set the order; configured gateways left out are disabled for routing."""
        routing = await set_routing(engine_of(state), merchant_id, list(data.gateways))
        return Response(encode(routing), media_type=JSON)
