"""The in-process sandbox for the connector suites: one sandbox serving all four gateways over real
HTTP, a receiver standing in for the engine's webhook endpoint, and each gateway's view of them.

``tests/integration/test_connector_contract.py`` (what every connector must do) and the
per-gateway ``test_<gateway>_connector.py`` suites (each gateway's own quirks) share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from engine.gateways.base import AttemptRef, CardDetails, ChargeRequest, ChargeResult, PaymentMethod
from engine.gateways.http import GatewayClient, new_client
from engine.gateways.registry import build_connector
from sandbox.app import create_app
from sandbox.config import SandboxSettings
from tests.support.receiver import Receiver
from tests.support.servers import free_port, serve_asgi

# The sandbox's published test accounts (DESIGN.md §5).
SANDBOX_CREDENTIALS: dict[str, dict[str, str]] = {
    "razorpay": {"key_id": "rzp_test_sandbox", "key_secret": "sandbox_secret", "webhook_secret": "sandbox_webhook_secret"},
    "paytm": {"mid": "SANDBOXMID0000000001", "merchant_key": "sandboxmerchkey1", "website": "WEBSTAGING"},
    "payu": {"key": "sandboxkey", "salt": "sandboxsalt"},
    "juspay": {"merchant_id": "sandbox", "api_key": "sandbox_api_key", "response_key": "sandbox_response_key",
               "webhook_username": "sandbox", "webhook_password": "sandbox_webhook_password"},
}  # fmt: skip
MERCHANT_ID = "mer_it"  # the sandbox delivers webhooks to /hooks/<gateway>/<merchant id>
UPI_DELAY_S = 0.3
SHORT_READ_S = 0.3  # a client that gives up before the sandbox's hang (1.5 s) ends
_ids = itertools.count(1)

Delivery = tuple[str, dict[str, str], bytes]  # path, headers, raw body


def card(number: str) -> PaymentMethod:
    """A test card (the instrument decides the outcome, see the README)."""
    return PaymentMethod(type="card", card=CardDetails(number, 12, 2030, "123", "Test Payer"))


def request(
    prefix: str, method: PaymentMethod, *, amount: int = 50000, capture: bool = True, **kw: Any
) -> ChargeRequest:
    """A charge with fresh ids (``att_<prefix>NNNNNN``): unique across gateways and suites."""
    n = next(_ids)
    return ChargeRequest(
        attempt_id=f"att_{prefix}{n:06d}", payment_id=f"pay_{prefix}{n:06d}", merchant_id=MERCHANT_ID, amount=amount,
        currency="INR", method=method, capture=capture, callback_url="https://shop.example/return", **kw,
    )  # fmt: skip


def refund_id(prefix: str) -> str:
    """A fresh engine refund id."""
    return f"re_{prefix}{next(_ids):09d}"


def ref_of(req: ChargeRequest, res: ChargeResult) -> AttemptRef:
    """How the engine would refer to the attempt ``req`` answered by ``res``."""
    return AttemptRef(req.attempt_id, res.gateway_reference, res.gateway_order_id, req.amount, req.currency)


async def eventually(check: Callable[[], Any], within: float = 10.0) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy or ``within`` passes."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


@dataclass
class SandboxEnv:
    """The running sandbox, its control client, the webhook receiver and the connectors' client."""

    url: str
    client: httpx.AsyncClient  # the sandbox's control endpoints and customer pages
    receiver: Receiver
    gateway: GatewayClient  # what the connectors send through

    def bind(self, name: str) -> GatewayEnv:
        """One gateway's view, with a connector for its sandbox account."""
        return GatewayEnv(self, name)

    def hooks(self, needle: str) -> list[Delivery]:
        """Webhooks delivered so far whose body mentions ``needle``."""
        return [d for d in self.receiver.deliveries if needle.encode() in d[2]]

    async def webhook_mode(self, mode: str) -> None:
        """``normal``, ``tamper``, ``duplicate``, ... (sandbox/control.py)."""
        (await self.client.post(self.url + "/_sandbox/webhooks", json={"mode": mode})).raise_for_status()

    async def reset(self) -> None:
        """Clear faults and webhook modes (after each test)."""
        await self.client.delete(self.url + "/_sandbox/faults")
        await self.webhook_mode("normal")


class GatewayEnv:
    """One gateway's view of the sandbox: ``gw`` is a connector for its published account."""

    def __init__(self, sandbox: SandboxEnv, name: str) -> None:
        self.sandbox = sandbox
        self.name = name
        self.url, self.client, self.receiver, self.gateway = (
            sandbox.url,
            sandbox.client,
            sandbox.receiver,
            sandbox.gateway,
        )
        self.gw: Any = self.connector()  # Any: each suite calls its gateway's own extras (create_customer)

    def connector(
        self,
        client: GatewayClient | None = None,
        *,
        credentials: dict[str, str] | None = None,
        base_url: str | None = None,
    ) -> Any:
        """A connector built through the registry (another client, account or base URL on demand)."""
        return build_connector(
            self.name, credentials or SANDBOX_CREDENTIALS[self.name], base_url=base_url or f"{self.url}/{self.name}",
            client=client or self.gateway,
        )  # fmt: skip

    def dead(self) -> Any:
        """A connector whose base URL is a closed port: nothing it sends can arrive (NOT_SENT)."""
        return self.connector(base_url=f"http://127.0.0.1:{free_port()}/{self.name}")

    async def fault(self, fault: str, path_contains: str, count: int = 1) -> None:
        """Inject ``fault`` into the next ``count`` requests whose path contains ``path_contains``."""
        body = {"gateway": self.name, "fault": fault, "path_contains": path_contains, "count": count}
        (await self.client.post(self.url + "/_sandbox/faults", json=body)).raise_for_status()

    def hooks(self, needle: str) -> list[Delivery]:
        """Webhooks delivered so far whose body mentions ``needle``."""
        return self.sandbox.hooks(needle)

    async def webhook_mode(self, mode: str) -> None:
        """Switch how the sandbox delivers webhooks."""
        await self.sandbox.webhook_mode(mode)


@contextlib.asynccontextmanager
async def sandbox_env() -> AsyncIterator[SandboxEnv]:
    """Start the receiver and the sandbox (fast UPI, short hangs, quick webhook retries)."""
    receiver = Receiver()
    async with serve_asgi(receiver) as hooks:
        port = free_port()
        settings = SandboxSettings(
            public_url=f"http://127.0.0.1:{port}",
            webhook_url=hooks + "/hooks/{gateway}/{merchant_id}",
            upi_delay_s=UPI_DELAY_S,
            hang_s=1.5,
            webhook_retry_delays_s=(0.1,),
            webhook_timeout_s=2.0,
        )
        async with serve_asgi(create_app(settings), port=port) as url:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client, new_client(5.0, 5.0) as gateway:
                yield SandboxEnv(url, client, receiver, gateway)


def short_client() -> GatewayClient:
    """A client whose read timeout fires before a hanging sandbox answers."""
    return new_client(5.0, SHORT_READ_S)
