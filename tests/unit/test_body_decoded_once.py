"""The request gate decodes a body once, strictly, and the handler gets that very object."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.connection import request as litestar_request
from litestar.testing import TestClient

from api.errors import decode_error_handler, engine_error_handler, schema_error_handler
from api.hooks import gate
from engine.errors import EngineError


class Order(msgspec.Struct, forbid_unknown_fields=True):
    amount: int
    note: str = ""


SEEN: list[Any] = []


@post("/orders", status_code=200, opt={})
async def create_order(data: Order) -> dict[str, int]:
    SEEN.append(data)
    return {"amount": data.amount}


class Closing(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = "requested"


@post("/orders/{order_id:str}/close", status_code=200, opt={})
async def close_order(order_id: str, data: Closing | None = None) -> dict[str, str]:
    return {"reason": "none" if data is None else data.reason}


def _app() -> Litestar:
    app = Litestar(
        route_handlers=[create_order, close_order],
        before_request=gate,
        exception_handlers={
            EngineError: engine_error_handler,
            msgspec.DecodeError: decode_error_handler,
            msgspec.ValidationError: schema_error_handler,
        },
    )
    app.state.engine = None  # no route here authenticates
    return app


@pytest.fixture
def json_decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every body Litestar's own JSON decoding is asked to decode."""
    calls: list[bytes] = []
    original = litestar_request.decode_json

    def counting(value: bytes, *args: Any, **kwargs: Any) -> Any:
        calls.append(value)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(litestar_request, "decode_json", counting)
    return calls


def test_the_handler_gets_the_gate_s_struct_and_litestar_decodes_nothing(json_decodes: list[bytes]) -> None:
    SEEN.clear()
    with TestClient(_app()) as client:
        response = client.post("/orders", content=b'{"amount": 150, "note": "x"}')
    assert response.status_code == 200, response.text
    assert response.json() == {"amount": 150}
    assert json_decodes == []
    assert SEEN == [Order(amount=150, note="x")] and type(SEEN[0]) is Order


def test_the_single_decode_is_the_strict_one(json_decodes: list[bytes]) -> None:
    SEEN.clear()
    with TestClient(_app()) as client:
        lenient = client.post("/orders", content=b'{"amount": "150"}')
        unknown = client.post("/orders", content=b'{"amount": 1, "extra": 2}')
    assert lenient.status_code == 400 and unknown.status_code == 400
    assert SEEN == [] and json_decodes == []


@pytest.mark.parametrize("body", [b"", b"null", b" null "])
def test_an_optional_body_may_be_absent_or_null(body: bytes) -> None:
    with TestClient(_app()) as client:
        response = client.post("/orders/o1/close", content=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", [b" ", b"\n\t", b"{", b"[]"])
def test_an_optional_body_that_is_not_json_or_not_an_object_is_refused(body: bytes) -> None:
    with TestClient(_app()) as client:
        response = client.post("/orders/o1/close", content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
