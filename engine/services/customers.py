"""Customers of a merchant.

Gateways that keep their own customer records (Juspay's "create customer", declared by the
``customers`` capability) get the customer registered right after it is stored; the gateway's
reference is kept in ``gateway_refs``. A registration that fails is logged and retried the next
time the customer is read, so a gateway outage never blocks creating customers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import msgspec

from engine.commands import CreateCustomer
from engine.errors import NotFound
from engine.gateways import registry
from engine.ids import new_id, plausible
from engine.model import Customer
from engine.services import idempotency
from engine.store.sqlfile import load_queries
from engine.views import customer_view, encode

if TYPE_CHECKING:
    from engine.bootstrap import Engine

Q = load_queries("merchants")
log = logging.getLogger("engine.customers")


async def create_customer(
    engine: Engine, merchant_id: str, cmd: CreateCustomer, claim: idempotency.Claim | None
) -> tuple[int, bytes]:
    """Store a customer (and its idempotency record) in one transaction."""
    async with engine.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            Q.insert_customer, new_id("cus"), merchant_id, cmd.email, cmd.phone, cmd.name, dict(cmd.metadata)
        )
        customer = Customer(**dict(row))
        body = encode(customer_view(customer))
        if claim is not None:
            await idempotency.complete(conn, claim, 201, body)
    await register_with_gateways(engine, customer)
    return 201, body


async def register_with_gateways(engine: Engine, customer: Customer) -> Customer:
    """Register ``customer`` with every account whose gateway keeps customers; store the refs."""
    refs = dict(customer.gateway_refs)
    for account in await engine.gateways.accounts(customer.merchant_id):
        if account.gateway in refs or not registry.capabilities(account.gateway).customers:
            continue
        connector = engine.gateways.connector(account)
        try:
            reference = await connector.create_customer(customer.id, customer.email, customer.phone, customer.name)  # type: ignore[attr-defined]
        except Exception:
            reference = None
            log.exception("registering customer with %s raised", account.gateway)
        if reference:
            refs[account.gateway] = reference
        else:
            log.warning("customer not registered with %s yet; will retry", account.gateway)
    if refs != customer.gateway_refs:
        await engine.pool.execute(Q.set_customer_refs, customer.id, customer.merchant_id, refs)
        customer = msgspec.structs.replace(customer, gateway_refs=refs)
    return customer


async def get_customer(engine: Engine, merchant_id: str, customer_id: str) -> Customer:
    """The merchant's customer or a 404."""
    row = await engine.pool.fetchrow(Q.get_customer, customer_id, merchant_id) if plausible(customer_id) else None
    if row is None:
        raise NotFound(f"No such customer: {customer_id[:64]!r}.", param="id")
    return await register_with_gateways(engine, Customer(**dict(row)))
