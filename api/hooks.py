"""Litestar's request gate, run before Litestar touches the body (api/admission.py decides).

Auth follows the route's ``opt["auth"]``; then the body is decoded strictly, once: the Struct is
left where Litestar's ``data`` extractor looks for the decoded JSON (the connection's scope
state), and converting an instance of the target Struct hands it over unchanged, so the handler
gets this very object. ``data`` in the handler signatures still documents the schema in OpenAPI.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import msgspec
from litestar import Request
from litestar.utils.scope.state import ScopeState

from api import admission
from api.deps import check_admin, engine_of

_BODY_TYPES: dict[Any, tuple[type[msgspec.Struct], bool] | None] = {}


async def gate(request: Request) -> None:
    """App-level ``before_request``: auth by the route's ``opt["auth"]``, then strict decoding."""
    admission.check_path(request.url.path)
    handler = request.route_handler
    auth = handler.opt.get("auth")
    engine = engine_of(request.app.state)
    publishable = False
    if auth == "merchant":
        merchant_id, publishable = await admission.admit_merchant(
            engine, request.headers.get("authorization"), publishable_route=bool(handler.opt.get("publishable"))
        )
        request.state.merchant_id = merchant_id
        request.state.publishable = publishable
    elif auth == "admin":
        check_admin(engine, request)
    body_type = _body_type(handler)
    if body_type is not None:
        # Kept for the idempotency fingerprint too (api/idem.py: the decoded fields, sorted).
        request.state.body = ScopeState.from_scope(request.scope).json = admission.decode_body(
            await request.body(), *body_type
        )
    if publishable:
        await admission.check_client_secret(
            engine,
            request.state.merchant_id,
            request.path_params.get("payment_id", ""),
            request.method,
            getattr(request.state, "body", None),
            request.query_params.get("client_secret"),
        )


def _body_type(handler: Any) -> tuple[type[msgspec.Struct], bool] | None:
    """The Struct a handler's ``data`` parameter expects, and whether an empty body is allowed."""
    if handler in _BODY_TYPES:
        return _BODY_TYPES[handler]
    found: tuple[type[msgspec.Struct], bool] | None = None
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is not None:
        annotation = parameter.annotation
        args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
        structs = [a for a in args if isinstance(a, type) and issubclass(a, msgspec.Struct)]
        if structs:
            found = (structs[0], type(None) in args)
    _BODY_TYPES[handler] = found
    return found
