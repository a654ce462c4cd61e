"""Customers of a merchant.

Gateways that keep their own customer records (Juspay's "create customer", declared by the
``customers`` capability) get the customer registered as follow-up work: a row per gateway
account written in the customer's own transaction, run right after by the request and, when the
gateway is down or the process dies, by the worker on its backoff ladder. The gateway's
reference lands in ``gateway_refs``. Reading a customer never writes or calls a gateway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from engine.commands import CreateCustomer
from engine.errors import NotFound
from engine.gateways import registry
from engine.gateways.base import CustomerConnector
from engine.ids import new_id, plausible
from engine.model import Customer
from engine.services import idempotency, pages
from engine.store.work import WorkItem
from engine.views import CustomerList, customer_view

if TYPE_CHECKING:
    from engine.bootstrap import Engine

log = logging.getLogger("engine.customers")
# Seconds until the n-th retry of a registration the gateway did not confirm.
REGISTRATION_BACKOFF_S: tuple[float, ...] = (5, 30, 120, 600, 3600, 6 * 3600, 86400)


async def create_customer(
    engine: Engine, merchant_id: str, cmd: CreateCustomer, claim: idempotency.Claim | None
) -> Customer:
    """Store a customer, its idempotency record and its registration work in one transaction,
    then register it with the gateways that keep customers."""
    accounts = [a.id for a in await engine.gateways.accounts(merchant_id) if registry.capabilities(a.gateway).customers]
    async with engine.db.transaction() as uow:
        customer = await uow.customers.insert(
            new_id("cus"), merchant_id, cmd.email, cmd.phone, cmd.name, dict(cmd.metadata)
        )
        await idempotency.remember(uow, claim, customer)
        lease = engine.settings.idempotency_lock_timeout
        registrations = await uow.work.add_registrations(merchant_id, customer.id, accounts, lease)
    for item in registrations:
        await run_registration(engine, item, customer)
    return customer


async def run_registration(engine: Engine, item: WorkItem, customer: Customer | None = None) -> bool:
    """Register the row's customer with its gateway account; True when done (else it is retried
    on the ladder -- a gateway outage never blocks creating customers)."""
    assert item.customer_id is not None and item.gateway_account_id is not None
    if customer is None:
        customer = await _load(engine, item.merchant_id, item.customer_id)
    account = await engine.gateways.account(item.merchant_id, item.gateway_account_id, "")
    connector = cast(CustomerConnector, engine.gateways.connector(account))  # capability ``customers``
    try:
        reference = await connector.create_customer(customer.id, customer.email, customer.phone, customer.name)
    except Exception:
        reference = None
        log.exception("registering customer with %s raised", account.gateway)
    if not reference:
        log.warning("customer not registered with %s yet; will retry", account.gateway)
        await engine.db.work.retry_later(item, list(REGISTRATION_BACKOFF_S), "not_registered")
        return False
    async with engine.db.transaction() as uow:
        await uow.customers.add_gateway_ref(customer.id, customer.merchant_id, account.gateway, reference)
        await uow.work.finish(item, "done")
    return True


async def get_customer(engine: Engine, merchant_id: str, customer_id: str) -> Customer:
    """The merchant's customer or a 404."""
    return await _load(engine, merchant_id, customer_id)


async def _load(engine: Engine, merchant_id: str, customer_id: str) -> Customer:
    customer = await engine.db.customers.get(customer_id, merchant_id) if plausible(customer_id) else None
    if customer is None:
        raise NotFound(f"No such customer: {customer_id[:64]!r}.", param="id")
    return customer


async def list_customers(
    engine: Engine, merchant_id: str, *, limit: int, starting_after: str | None, ending_before: str | None
) -> CustomerList:
    """A cursor page of the merchant's customers (``engine.services.pages``)."""
    w = await pages.window(
        limit, starting_after, ending_before, lambda cid: engine.db.customers.cursor_of(cid, merchant_id), "customer"
    )
    rows = await engine.db.customers.page(merchant_id, w.older_than, w.newer_than, w.size)
    page, has_more = pages.trim(rows, limit, w.newer_than is not None)
    return CustomerList("list", [customer_view(c) for c in page], has_more)
