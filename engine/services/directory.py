"""Gateway accounts of merchants, their connectors, and the routing choice.

Credentials are decrypted only here, in memory, and cached per process for a short time so a
checkout does not pay a database round trip and an AES decryption per request.
"""

from __future__ import annotations

import time

from engine.crypto import Sealer
from engine.errors import InvalidRequest
from engine.gateways import registry
from engine.gateways.base import GatewayConnector
from engine.gateways.http import GatewayClient
from engine.ids import new_id
from engine.model import GatewayAccount
from engine.store.merchants import SealedAccount
from engine.store.uow import Database, UnitOfWork

_ACCOUNT_TTL_S = 30.0


class GatewayDirectory:
    """Finds a merchant's gateway accounts and the connector for each."""

    def __init__(self, *, db: Database, sealer: Sealer, http: GatewayClient) -> None:
        self._db = db
        self._sealer = sealer
        self._http = http
        self._accounts: dict[str, tuple[float, list[GatewayAccount]]] = {}
        self._connectors: dict[str, GatewayConnector] = {}

    async def add_account(
        self, uow: UnitOfWork, merchant_id: str, gateway: str, credentials: dict[str, str], priority: int
    ) -> str:
        """Store a gateway account with its credentials sealed (AES-GCM, bound to the account id)."""
        if gateway not in registry.SUPPORTED_GATEWAYS:
            raise InvalidRequest(f"Unsupported gateway {gateway!r}.", param="gateway")
        account_id = new_id("gwa")
        blob = self._sealer.seal(credentials, account_id.encode())
        await uow.accounts.insert(account_id, merchant_id, gateway, blob, self._sealer.key_id, priority)
        self._accounts.pop(merchant_id, None)
        return account_id

    async def accounts(self, merchant_id: str, *, fresh: bool = False) -> list[GatewayAccount]:
        """The merchant's accounts in routing order (cached briefly unless ``fresh``)."""
        cached = self._accounts.get(merchant_id)
        now = time.monotonic()
        if cached and cached[0] > now and not fresh:
            return cached[1]
        accounts = [
            GatewayAccount(
                id=r.id,
                merchant_id=r.merchant_id,
                gateway=r.gateway,
                credentials=self._open(r),
                priority=r.priority,
                enabled=r.enabled,
            )
            for r in await self._db.accounts.of_merchant(merchant_id)
        ]
        self._accounts[merchant_id] = (now + _ACCOUNT_TTL_S, accounts)
        return accounts

    def forget(self, merchant_id: str) -> None:
        """Drop the cached accounts of a merchant (after its routing changed)."""
        self._accounts.pop(merchant_id, None)

    def _open(self, row: SealedAccount) -> dict[str, str]:
        value = self._sealer.open(row.credentials, row.key_id, row.id.encode())
        assert isinstance(value, dict)
        return value

    def connector(self, account: GatewayAccount) -> GatewayConnector:
        """The (cached) connector speaking for ``account``."""
        connector = self._connectors.get(account.id)
        if connector is None:
            credentials = dict(account.credentials)
            base_url = credentials.pop("base_url", None) or registry.default_base_url(account.gateway)
            connector = registry.build_connector(account.gateway, credentials, base_url=base_url, client=self._http)
            self._connectors[account.id] = connector
        return connector

    async def account(self, merchant_id: str, account_id: str | None, gateway: str) -> GatewayAccount:
        """The account an attempt was made on (by id, else the merchant's account on that gateway)."""
        for acc in await self.accounts(merchant_id):
            if acc.id == account_id or (account_id is None and acc.gateway == gateway):
                return acc
        raise InvalidRequest("The gateway account of this payment no longer exists.", code="gateway_account_missing")

    async def close(self) -> None:
        """Nothing to close per connector: they share the engine's HTTP client."""
        self._connectors.clear()
