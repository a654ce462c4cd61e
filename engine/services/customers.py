"""Customers of a merchant.

Gateways that keep their own customer records (Juspay's "create customer") register the
customer when it is created; the gateway's reference is kept in ``gateway_refs``. No gateway
wired so far needs it, so today a customer is only stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.commands import CreateCustomer
from engine.errors import NotFound
from engine.ids import new_id, plausible
from engine.model import Customer
from engine.services import idempotency
from engine.store.sqlfile import load_queries
from engine.views import customer_view, encode

if TYPE_CHECKING:
    from engine.bootstrap import Engine

Q = load_queries("merchants")


async def create_customer(
    engine: Engine, merchant_id: str, cmd: CreateCustomer, claim: idempotency.Claim | None
) -> tuple[int, bytes]:
    """Store a customer (and its idempotency record) in one transaction."""
    async with engine.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            Q.insert_customer, new_id("cus"), merchant_id, cmd.email, cmd.phone, cmd.name, dict(cmd.metadata)
        )
        body = encode(customer_view(Customer(**dict(row))))
        if claim is not None:
            await idempotency.complete(conn, claim, 201, body)
    return 201, body


async def get_customer(engine: Engine, merchant_id: str, customer_id: str) -> Customer:
    """The merchant's customer or a 404."""
    row = await engine.pool.fetchrow(Q.get_customer, customer_id, merchant_id) if plausible(customer_id) else None
    if row is None:
        raise NotFound(f"No such customer: {customer_id[:64]!r}.", param="id")
    return Customer(**dict(row))
