"""Domain records as stored: payments, attempts, refunds, customers, merchants.

Plain msgspec Structs with no IO; the store builds them from rows and the views render them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class Merchant(msgspec.Struct, kw_only=True):
    """A merchant account."""

    id: str
    name: str
    sandbox: bool
    created_at: datetime


class Customer(msgspec.Struct, kw_only=True):
    """A merchant's customer; ``gateway_refs`` keeps ids gateways gave it."""

    id: str
    merchant_id: str
    email: str | None
    phone: str | None
    name: str | None
    metadata: dict[str, Any]
    gateway_refs: dict[str, Any]
    created_at: datetime


class Payment(msgspec.Struct, kw_only=True):
    """A payment as stored; money in integer minor units."""

    id: str
    merchant_id: str
    amount: int
    currency: str
    status: str
    capture_method: str
    amount_capturable: int = 0
    amount_received: int = 0
    amount_refunded: int = 0
    customer_id: str | None = None
    merchant_order_id: str | None = None
    description: str | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    return_url: str | None = None
    gateway: str | None = None
    gateway_reference: str | None = None
    payment_method: dict[str, Any] | None = None
    next_action: dict[str, Any] | None = None
    last_error: dict[str, Any] | None = None
    routing: dict[str, Any] | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime


class Attempt(msgspec.Struct, kw_only=True):
    """One call to a gateway on behalf of a payment."""

    id: str
    payment_id: str
    merchant_id: str
    gateway: str
    gateway_account_id: str | None
    status: str
    amount: int
    amount_captured: int = 0
    method_type: str
    gateway_order_id: str | None = None
    gateway_reference: str | None = None
    redirect_url: str | None = None
    decline_code: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    raw_status: str | None = None
    sync_count: int = 0
    next_sync_at: datetime | None = None
    failover_reason: str | None = None
    last_synced_at: datetime | None = None
    # The gateway's page for this attempt was lost with the request that created it (0012).
    redirect_lost: bool = False
    version: int = 1
    created_at: datetime
    updated_at: datetime


class Refund(msgspec.Struct, kw_only=True):
    """A refund against a payment's captured attempt."""

    id: str
    merchant_id: str
    payment_id: str
    attempt_id: str
    amount: int
    currency: str
    status: str
    reason: str | None = None
    gateway_refund_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    sync_count: int = 0
    next_sync_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class GatewayAccount(msgspec.Struct, kw_only=True):
    """A merchant's account on one gateway, credentials decrypted in memory only."""

    id: str
    merchant_id: str
    gateway: str
    credentials: dict[str, str]
    priority: int
    enabled: bool

    def __repr__(self) -> str:  # credentials never reach a log or traceback
        return f"GatewayAccount(id={self.id!r}, gateway={self.gateway!r})"
