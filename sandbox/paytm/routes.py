"""Paytm JSON API routes (``/paytm/...``): every answer is a signed ``{"head", "body"}`` envelope.

Request failures (bad JSON, bad signature, unknown MID, bad parameters) answer HTTP 200 with
``resultInfo.resultStatus: "F"``, as Paytm does; only the gateway-error test card answers 502.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, Router, post

from sandbox.context import context_of
from sandbox.faults import DROP_HEADER
from sandbox.paytm import refunds
from sandbox.paytm import wire as w
from sandbox.paytm.api import Answer, PaytmError, fail
from sandbox.paytm.service import PaytmService

AnyRequest = Request[Any, Any, Any]


def reply(answer: Answer) -> Response[bytes]:
    """The signed HTTP response for an answer."""
    headers = {DROP_HEADER.decode(): "1"} if answer.drop else None
    return Response(w.signed(answer.body), status_code=answer.status, headers=headers, media_type="application/json")


async def _run(request: AnyRequest, action: Callable[[PaytmService, dict[str, Any], str], Answer]) -> Response[bytes]:
    paytm: PaytmService = context_of(request.scope).gateways["paytm"]
    try:
        data, text = w.body_text(await request.body())
        return reply(action(paytm, data, text))
    except (ValueError, UnicodeDecodeError):
        return reply(fail(w.BAD_PARAMS))
    except PaytmError as exc:
        return reply(fail(exc.code))


@post(["/theia/api/v1/initiateTransaction", "/order/initiate"], status_code=200)
async def initiate(request: AnyRequest) -> Response[bytes]:
    """Initiate Transaction API: returns the ``txnToken``."""
    query = dict(request.query_params)
    return await _run(request, lambda paytm, data, text: paytm.initiate(query, data, text))


@post(["/theia/api/v1/processTransaction", "/order/process"], status_code=200)
async def process(request: AnyRequest) -> Response[bytes]:
    """Process Transaction API (server-to-server card / UPI / netbanking / wallet)."""
    query = dict(request.query_params)
    return await _run(request, lambda paytm, data, _: paytm.process(query, data))


@post(["/v3/order/status", "/order/status"], status_code=200)
async def order_status(request: AnyRequest) -> Response[bytes]:
    """Transaction Status API v3."""
    return await _run(request, lambda paytm, data, text: paytm.status(data, text))


@post("/refund/apply", status_code=200)
async def refund_apply(request: AnyRequest) -> Response[bytes]:
    """Refund API (asynchronous)."""
    path = request.url.path
    return await _run(request, lambda paytm, data, text: refunds.apply(paytm, data, text, path))


@post("/v2/refund/status", status_code=200)
async def refund_status(request: AnyRequest) -> Response[bytes]:
    """Refund Status API."""
    return await _run(request, lambda paytm, data, text: refunds.status(paytm, data, text))


def api_router() -> Router:
    """The JSON API."""
    return Router(path="/", route_handlers=[initiate, process, order_status, refund_apply, refund_status])
