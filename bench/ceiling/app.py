"""The ceiling: the least an HTTP service can do per payment on this stack.

A raw ASGI app (no framework) with an asyncpg pool: each ``POST /ceiling`` decodes a small JSON
body with msgspec, does one durable prepared ``INSERT`` (synchronous commit, as the engine's
writes are) and answers a small msgspec JSON body. The engine is measured against this.

Run: ``python -m bench.ceiling.app --port 8100`` (``DATABASE_URL`` names the PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg
import msgspec

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

SCHEMA = """CREATE TABLE IF NOT EXISTS ceiling_payments (
    id bigserial PRIMARY KEY,
    amount bigint NOT NULL,
    currency text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())"""
INSERT = "INSERT INTO ceiling_payments (amount, currency) VALUES ($1, $2) RETURNING id, created_at"


class PaymentIn(msgspec.Struct, forbid_unknown_fields=False):
    """The request body."""

    amount: int
    currency: str


class PaymentOut(msgspec.Struct):
    """The response body."""

    id: str
    object: str
    amount: int
    currency: str
    status: str
    created_at: int


_decode = msgspec.json.Decoder(PaymentIn).decode
_encode = msgspec.json.Encoder().encode
_JSON = [(b"content-type", b"application/json")]


class CeilingApp:
    """The ASGI application; one instance per process."""

    def __init__(self, dsn: str, pool_size: int = 20) -> None:
        """Remember where PostgreSQL is; the pool opens at lifespan startup."""
        self.dsn = dsn
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI scope."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open the pool and create the table."""
        self.pool = await asyncpg.create_pool(self.dsn, min_size=self.pool_size, max_size=self.pool_size)
        assert self.pool is not None
        await self.pool.execute(SCHEMA)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path, method = scope["path"], scope["method"]
        if path == "/ceiling" and method == "POST":
            try:
                payment = _decode(body)
            except msgspec.DecodeError as exc:
                await _respond(send, 400, {"error": {"type": "invalid_request_error", "message": str(exc)}})
                return
            assert self.pool is not None
            async with self.pool.acquire() as conn:
                row = await conn.fetchrow(INSERT, payment.amount, payment.currency)
            out = PaymentOut(
                id=f"cpay_{row['id']}",
                object="payment",
                amount=payment.amount,
                currency=payment.currency,
                status="requires_payment_method",
                created_at=int(row["created_at"].timestamp()),
            )
            await _respond(send, 201, out)
        elif path == "/healthz":
            await _respond(send, 200, {"status": "ok"})
        else:
            await _respond(send, 404, {"error": {"type": "invalid_request_error", "message": "not found"}})


async def _respond(send: Send, status: int, payload: Any) -> None:
    data = _encode(payload)
    headers = [*_JSON, (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> None:
    """Serve the ceiling app with uvicorn + uvloop + httptools (one process)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--pool-size", type=int, default=20)
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error("--dsn or DATABASE_URL is required")
    uvicorn.run(
        CeilingApp(args.dsn, args.pool_size),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=False,  # as the engine serves: nothing reads the client address
        log_level="warning",
        lifespan="on",
        server_header=False,
    )


if __name__ == "__main__":
    main()
