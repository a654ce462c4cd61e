"""Admin, health and readiness endpoints."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.datastructures import State

from api import lifecycle
from api.answers import JSON
from api.deps import engine_of
from api.docs import MerchantCreated, responses
from engine.commands import CreateMerchant
from engine.services.health import readiness
from engine.services.merchants import create_merchant
from engine.views import encode


class AdminController(Controller):
    """``/v1/admin``: needs ``Authorization: Bearer $ENGINE_ADMIN_TOKEN``."""

    path = "/v1/admin"
    opt = {"auth": "admin"}
    tags = ["admin"]

    @post(
        "/merchants",
        status_code=201,
        summary="Create a merchant and its secret API key",
        responses=responses(201, MerchantCreated, "The merchant and its API key.", 400, 401, 403, 413),
    )
    async def create_merchant(self, state: State, data: CreateMerchant) -> Response[bytes]:
        """Returns ``{merchant, api_key, publishable_key}``; both keys are shown only here and
        stored only hashed (the publishable one is meant for browsers: docs/README "Checkout")."""
        merchant, api_key, publishable = await create_merchant(engine_of(state), data.name)
        body = {"merchant": merchant, "api_key": api_key, "publishable_key": publishable}
        return Response(encode(body), status_code=201, media_type=JSON)


class HealthController(Controller):
    """Liveness and readiness probes."""

    path = "/"
    tags = ["health"]
    include_in_schema = False

    @get("/healthz", summary="Liveness")
    async def healthz(self) -> Response[bytes]:
        """The process answers."""
        return Response(b'{"status":"ok"}', media_type=JSON)

    @get("/readyz", summary="Readiness: PostgreSQL and Redis reachable")
    async def readyz(self, state: State) -> Response[bytes]:
        """503 naming the dependency that is down: ``{"status", "checks": {"postgres", "redis"}}``;
        503 at once when the process is stopping."""
        if lifecycle.draining():
            return Response(b'{"status":"draining","checks":{}}', status_code=503, media_type=JSON)
        checks = await readiness(engine_of(state))
        ok = all(v == "ok" for v in checks.values())
        body = encode({"status": "ok" if ok else "unavailable", "checks": checks})
        return Response(body, status_code=200 if ok else 503, media_type=JSON)
