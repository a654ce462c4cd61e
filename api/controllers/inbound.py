"""Gateway webhooks (signature is the auth) and the customer's browser return."""

from __future__ import annotations

from html import escape

from litestar import Controller, Request, Response, post, route
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect

from api.answers import JSON
from api.deps import engine_of
from api.docs import WebhookAck, responses
from engine.commands import GatewayName
from engine.services.inbound import receive_callback, receive_webhook
from engine.views import encode

# A PayU callback alone carries about 50 fields; more than this is not a gateway talking.
MAX_CALLBACK_FIELDS = 200


class WebhookController(Controller):
    """``POST /v1/webhooks/{gateway}/{merchant_id}``: no API key; the gateway's signature is checked."""

    path = "/v1/webhooks"
    tags = ["webhooks"]

    @post(
        "/{gateway:str}/{merchant_id:str}",
        status_code=200,
        summary="Inbound gateway webhook",
        responses=responses(200, WebhookAck, "Verified and recorded.", 400, 404, 413),
    )
    async def receive(self, request: Request, state: State, gateway: GatewayName, merchant_id: str) -> Response[bytes]:
        """Verify the signature over the raw body, dedupe by event id, apply."""
        body = await request.body()
        headers = dict(request.headers.items())
        ack = await receive_webhook(engine_of(state), gateway, merchant_id[:64], headers, body)
        return Response(encode(ack), media_type=JSON)


class CallbackController(Controller):
    """Where the gateway sends the customer's browser after a redirect step (3-D Secure, bank page)."""

    path = "/v1/callbacks"
    tags = ["webhooks"]

    @route(
        "/{gateway:str}/{merchant_id:str}/{payment_id:str}",
        http_method=["GET", "POST"],
        status_code=200,
        summary="Browser return from the gateway",
        responses={
            **responses(200, None, "An HTML page with the outcome (no return URL).", 400, 404),
            303: ResponseSpec(data_container=None, description="To the merchant's return_url, with status."),
        },
    )
    async def receive(
        self, request: Request, state: State, gateway: GatewayName, merchant_id: str, payment_id: str
    ) -> Response[str] | Redirect:
        """Verify the signed parameters, confirm by status sync, send the customer on."""
        params = dict(request.query_params.items())
        if request.method == "POST":
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        params = dict(list(params.items())[:MAX_CALLBACK_FIELDS])
        payment, target = await receive_callback(engine_of(state), gateway, merchant_id, payment_id, params)
        if target is not None:
            return Redirect(path=target, status_code=303)
        page = (
            f"<!doctype html><title>Payment {escape(payment.status)}</title>"
            f"<p>Payment <code>{escape(payment.id)}</code>: <strong>{escape(payment.status)}</strong></p>"
        )
        return Response(page, media_type="text/html")
