"""The checkout's three routes as raw ASGI, in front of Litestar, behind the same contract.

A checkout is ``POST /v1/payments``, ``POST /v1/payments/{id}/confirm`` and
``GET /v1/payments/{id}``. Under Litestar each request also builds a ``Request``, resolves
dependencies, runs the before-request hook through its layers and renders a ``Response``: per
request that was more interpreted Python than the route's own work (the benchmark's profiles,
README "Performance"). Here those three routes are matched by plain string tests and answered by
the very functions Litestar's ``PaymentController`` uses (api/admission.py, api/payment_calls.py,
api/answers.py), so status, body bytes and headers are the same either way
(tests/e2e/test_hot_routes.py sends the same requests both ways and compares).

Everything else -- other routes, other methods, a trailing slash, an odd ``Host`` or
``Content-Length`` -- goes to Litestar untouched, which also keeps serving the OpenAPI document
for these routes. ``ENGINE_HOT_ROUTES=0`` sends everything to Litestar (the benchmark compares).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar._asgi.utils import is_valid_host

from api import admission, answers, payment_calls
from api.answers import Answer
from api.idem import Call
from api.middleware import ASGIApp, Receive, Scope, Send
from engine.bootstrap import Engine
from engine.commands import ConfirmPayment, CreatePayment
from engine.errors import EngineError

PAYMENTS = "/v1/payments"
_PREFIX = PAYMENTS + "/"
_CONFIRM = "/confirm"
# The route templates Litestar would put in ``scope["path_template"]`` (the metrics' labels).
_TEMPLATES = {"create": PAYMENTS, "retrieve": PAYMENTS + "/{payment_id}", "confirm": PAYMENTS + "/{payment_id}/confirm"}
_JSON = (b"content-type", b"application/json")
_READ = frozenset({b"authorization", b"idempotency-key", b"content-length", b"host"})  # headers used here


class _TooLarge(Exception):
    """The body passed ``MAX_BODY_BYTES``."""


class _Gone(Exception):
    """The client disconnected before its body arrived: there is nobody to answer."""


def match(method: str, path: str) -> tuple[str, str] | None:
    """``(route, payment id)`` when the request is one of the hot routes, else ``None``."""
    if method == "POST":
        if path == PAYMENTS:
            return "create", ""
        if path.startswith(_PREFIX) and path.endswith(_CONFIRM):
            payment_id = path[len(_PREFIX) : -len(_CONFIRM)]
            return ("confirm", payment_id) if payment_id and "/" not in payment_id else None
    elif method == "GET" and path.startswith(_PREFIX):
        payment_id = path[len(_PREFIX) :]
        return ("retrieve", payment_id) if payment_id and "/" not in payment_id else None
    return None


class HotRoutes:
    """ASGI app: the hot routes answered here, every other request passed to ``app``."""

    def __init__(self, app: Litestar, *, max_body_bytes: int, enabled: bool = True) -> None:
        """Serve in front of ``app`` (its lifespan starts the engine this reads from its state)."""
        self.app: ASGIApp = app
        self.state = app.state
        self.max_body_bytes = max_body_bytes
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a hot route, or hand the request to Litestar."""
        found = match(scope["method"], scope["path"]) if self.enabled and scope["type"] == "http" else None
        if found is None or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        if headers is None:
            await self.app(scope, receive, send)  # an unusual request: Litestar decides
            return
        route, payment_id = found
        scope["path_template"] = _TEMPLATES[route]
        try:
            answer = await self._answer(route, payment_id, scope, headers, receive)
        except _Gone:
            return
        await _send(send, answer)

    async def _answer(
        self, route: str, payment_id: str, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> Answer:
        method, path = scope["method"], scope["path"]
        try:
            admission.check_path(path)
            engine: Engine = self.state.engine
            authorization = headers.get(b"authorization")
            merchant_id, publishable = await admission.admit_merchant(
                engine,
                authorization.decode("latin-1") if authorization is not None else None,
                publishable_route=route == "confirm",
            )
            if route == "retrieve":
                return await payment_calls.retrieve(engine, merchant_id, payment_id)
            raw = await self._body(receive, headers.get(b"content-length"))
            key = headers.get(b"idempotency-key")
            if route == "create":
                data: Any = admission.decode_body(raw, CreatePayment, False)
                call = Call(method, path, _text(key), data, b"", merchant_id, publishable)
                return await payment_calls.create(engine, call, data)
            data = admission.decode_body(raw, ConfirmPayment, False)
            if publishable:
                await admission.check_client_secret(engine, merchant_id, payment_id, method, data, None)
            call = Call(method, path, _text(key), data, b"", merchant_id, publishable)
            return await payment_calls.confirm(engine, call, payment_id, data)
        except EngineError as exc:
            return answers.engine_error(exc)
        except msgspec.ValidationError as exc:
            return answers.invalid_body(str(exc), None)
        except msgspec.DecodeError:
            return answers.malformed_json()
        except _TooLarge:
            return answers.too_large()
        except _Gone:
            raise
        except Exception as exc:
            return answers.unexpected(exc, method, path)

    async def _body(self, receive: Receive, announced: bytes | None) -> bytes:
        """The whole body, refused past ``max_body_bytes`` (announced or streamed), as Litestar does."""
        if announced is not None and int(announced) > self.max_body_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.max_body_bytes:
                    raise _TooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes] | None:
    """The headers the hot routes read (first occurrence, as Litestar reads them), or ``None`` when
    Litestar must see the request: a ``Host`` it would refuse, a ``Content-Length`` that is not
    a number."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        name = name.lower()
        if name in _READ and name not in found:
            found[name] = value
    host = found.get(b"host")
    if host is not None and not is_valid_host(host):
        return None
    length = found.get(b"content-length")
    if length is not None and not length.isdigit():
        return None
    return found


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _send(send: Send, answer: Answer) -> None:
    headers = [_JSON, (b"content-length", str(len(answer.body)).encode())]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers)
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
