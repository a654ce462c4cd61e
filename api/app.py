"""The Litestar application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from api import lifecycle
from api.checkout.controller import CheckoutController
from api.controllers.admin import AdminController, HealthController
from api.controllers.inbound import CallbackController, WebhookController
from api.controllers.metrics import MetricsController
from api.controllers.payments import PaymentController
from api.controllers.refunds import CustomerController, RefundController
from api.controllers.routing import RoutingController
from api.controllers.webhook_endpoints import EventController, WebhookEndpointController
from api.docs import ClosedStructSchemaPlugin
from api.errors import (
    decode_error_handler,
    engine_error_handler,
    http_error_handler,
    internal_error_handler,
    schema_error_handler,
    validation_handler,
)
from api.hooks import gate
from api.hot_routes import HotRoutes
from api.middleware import ASGIApp, RequestIdMiddleware
from engine.bootstrap import Engine
from engine.config import Settings, load_settings
from engine.errors import EngineError
from engine.logs import configure_logging
from engine.runtime import gc_tuning
from engine.services import deliveries, housekeeping, reconciler


def create_app(settings: Settings, *, signal_hooks: bool = False) -> Litestar:
    """Build the API for ``settings`` (database and Redis URLs already resolved); with
    ``signal_hooks`` (the served app) a stop signal turns ``/readyz`` to 503 at once."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = await Engine.start(settings)
        app.state.engine = engine
        if signal_hooks:
            lifecycle.chain_signal_hook(asyncio.get_running_loop(), settings.shutdown_drain)
            gc_tuning.tune_for_serving()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(housekeeping.run_forever(engine, stop=stop))]
        if settings.reconcile_interval > 0:
            tasks.append(asyncio.create_task(reconciler.run_forever(engine, settings.reconcile_interval, stop)))
        tasks.append(asyncio.create_task(deliveries.run_forever(engine, stop)))
        try:
            yield
        finally:
            # Requests in flight are done (uvicorn waited for them): the loops finish the pass
            # they are in (each item is bounded by the gateway timeouts), then the pools close.
            await lifecycle.stop_loops(stop, tasks, settings.shutdown_grace)
            await engine.close()

    return Litestar(
        route_handlers=[
            PaymentController,
            RefundController,
            CustomerController,
            AdminController,
            HealthController,
            WebhookController,
            RoutingController,
            CallbackController,
            MetricsController,
            WebhookEndpointController,
            EventController,
            CheckoutController,
        ],
        lifespan=[lifespan],
        before_request=gate,
        plugins=[ClosedStructSchemaPlugin()],
        exception_handlers={
            EngineError: engine_error_handler,
            ValidationException: validation_handler,
            HTTPException: http_error_handler,
            msgspec.DecodeError: decode_error_handler,
            msgspec.ValidationError: schema_error_handler,
            Exception: internal_error_handler,
        },
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Payment Engine API", version="1.0.0", path="/schema", render_plugins=[SwaggerRenderPlugin()]
        ),
        debug=False,
        logging_config=None,  # engine.logs configures JSON logging; Litestar must not replace it
    )


def app_from_env() -> ASGIApp:
    """Uvicorn factory: settings from the environment (the CLI resolved every URL and key)."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return served_app(create_app(settings, signal_hooks=True), settings)


def served_app(app: Litestar, settings: Settings) -> ASGIApp:
    """What a server runs: request ids, metrics and load shedding around the hot routes
    (api/hot_routes.py) around ``app``."""
    hot = HotRoutes(app, max_body_bytes=settings.max_body_bytes, enabled=settings.hot_routes)
    return RequestIdMiddleware(hot, max_inflight=settings.max_inflight)
