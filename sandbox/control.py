"""The sandbox control API (no auth): health, fault injection, webhook delivery modes and log, ledger.

| method and path | what |
|---|---|
| ``GET /healthz`` | ``{"status": "ok", "gateways": [...]}`` |
| ``POST /_sandbox/faults`` | ``{"gateway", "fault", "path_contains"?, "method"?, "count"?, "latency_ms"?}`` |
| ``GET /_sandbox/faults`` | ``{"faults": [...]}`` |
| ``DELETE /_sandbox/faults`` | clear all → ``{"cleared": n}`` |
| ``POST /_sandbox/webhooks`` | ``{"mode": "normal"|"duplicate"|"reverse"|"tamper"|"hold"}`` |
| ``GET /_sandbox/webhooks`` | ``{"mode", "held"}`` |
| ``POST /_sandbox/webhooks/flush`` | send held webhooks → ``{"flushed": n}`` |
| ``GET /_sandbox/webhooks/log`` | ``{"entries": [...]}``, one per delivery attempt (status received) |
| ``DELETE /_sandbox/webhooks/log`` | clear the log |
| ``GET /_sandbox/ledger`` | ``{"entries": [...]}``, oldest first; query ``gateway``?, ``kind``?, ``reference``? |
| ``DELETE /_sandbox/ledger`` | clear the ledger → ``{"cleared": n}`` |

The ledger (:mod:`sandbox.ledger`) holds every order / charge / capture / refund / void the simulated
gateways performed, one entry ``{"gateway", "kind", "reference", "gateway_id", "amount", "currency",
"at"}`` each (``amount`` in paise, ``at`` Unix seconds). The query filters match exactly and combine
with AND; an unknown ``gateway`` or ``kind`` answers 400.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.exceptions import HTTPException

from sandbox.context import SandboxContext, context_of
from sandbox.faults import FaultKind
from sandbox.ledger import KINDS
from sandbox.webhooks import WebhookMode

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class _ControlError(HTTPException):
    status_code = 400


async def _json_object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    try:
        data = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise _ControlError(detail="body must be a JSON object") from exc
    if not isinstance(data, dict):
        raise _ControlError(detail="body must be a JSON object")
    return data


def _ctx(request: Request[Any, Any, Any]) -> SandboxContext:
    return context_of(request.scope)


@get("/healthz", sync_to_thread=False)
def healthz(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Liveness: the sandbox answers and lists the gateways it simulates."""
    return {"status": "ok", "gateways": sorted(_ctx(request).gateways)}


@post("/_sandbox/faults", status_code=201)
async def add_fault(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Register a fault for one gateway."""
    ctx = _ctx(request)
    data = await _json_object(request)
    gateway = data.get("gateway")
    if gateway not in ctx.gateways:
        raise _ControlError(detail=f"gateway must be one of {sorted(ctx.gateways)}")
    try:
        kind = FaultKind(data.get("fault"))
    except ValueError as exc:
        raise _ControlError(detail=f"fault must be one of {[k.value for k in FaultKind]}") from exc
    count, latency_ms, path_contains = (
        data.get("count"),
        data.get("latency_ms", 1000),
        data.get("path_contains"),
    )
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise _ControlError(detail="count must be a positive integer")
    if not isinstance(latency_ms, int) or isinstance(latency_ms, bool) or latency_ms < 0:
        raise _ControlError(detail="latency_ms must be a non-negative integer")
    if path_contains is not None and not isinstance(path_contains, str):
        raise _ControlError(detail="path_contains must be a string")
    method = data.get("method")
    if method is not None and method not in _METHODS:
        raise _ControlError(detail=f"method must be one of {sorted(_METHODS)}")
    return ctx.faults.add(gateway, kind, path_contains, count, latency_ms, method).to_dict()


@get("/_sandbox/faults", sync_to_thread=False)
def list_faults(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The active faults."""
    return {"faults": [fault.to_dict() for fault in _ctx(request).faults.list()]}


@delete("/_sandbox/faults", status_code=200, sync_to_thread=False)
def clear_faults(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Remove every fault."""
    return {"cleared": _ctx(request).faults.clear()}


@post("/_sandbox/webhooks", status_code=200)
async def set_webhook_mode(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Change how webhooks are delivered from now on."""
    ctx = _ctx(request)
    data = await _json_object(request)
    try:
        ctx.webhooks.mode = WebhookMode(data.get("mode"))
    except ValueError as exc:
        raise _ControlError(detail=f"mode must be one of {[m.value for m in WebhookMode]}") from exc
    return {"mode": ctx.webhooks.mode.value, "held": sum(len(b) for b in ctx.webhooks.held)}


@get("/_sandbox/webhooks", sync_to_thread=False)
def get_webhook_mode(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The current delivery mode and the number of held deliveries."""
    hooks = _ctx(request).webhooks
    return {"mode": hooks.mode.value, "held": sum(len(b) for b in hooks.held)}


@post("/_sandbox/webhooks/flush", status_code=200, sync_to_thread=False)
def flush_webhooks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Send the held webhooks now."""
    return {"flushed": _ctx(request).webhooks.flush()}


@get("/_sandbox/webhooks/log", sync_to_thread=False)
def webhook_log(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Every delivery attempt so far, with the HTTP status received (or the error)."""
    return {"entries": list(_ctx(request).webhooks.log)}


@delete("/_sandbox/webhooks/log", status_code=200, sync_to_thread=False)
def clear_webhook_log(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Forget the delivery log."""
    hooks = _ctx(request).webhooks
    cleared, hooks.log = len(hooks.log), []
    return {"cleared": cleared}


@get("/_sandbox/ledger", sync_to_thread=False)
def ledger_entries(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The gateways' money-relevant operations, optionally filtered by gateway, kind and reference."""
    ctx, query = _ctx(request), request.query_params
    gateway, kind = query.get("gateway"), query.get("kind")
    if gateway is not None and gateway not in ctx.gateways:
        raise _ControlError(detail=f"gateway must be one of {sorted(ctx.gateways)}")
    if kind is not None and kind not in KINDS:
        raise _ControlError(detail=f"kind must be one of {list(KINDS)}")
    return {"entries": ctx.ledger.entries(gateway, kind, query.get("reference"))}


@delete("/_sandbox/ledger", status_code=200, sync_to_thread=False)
def clear_ledger(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Forget every ledger entry."""
    return {"cleared": _ctx(request).ledger.clear()}


def control_router() -> Router:
    """The health and ``/_sandbox`` control routes."""
    return Router(
        path="/",
        route_handlers=[
            healthz,
            add_fault,
            list_faults,
            clear_faults,
            set_webhook_mode,
            get_webhook_mode,
            flush_webhooks,
            webhook_log,
            clear_webhook_log,
            ledger_entries,
            clear_ledger,
        ],
        response_class=Response,
    )


__all__ = ["control_router"]
