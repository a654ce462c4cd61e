"""A 3-D Secure challenge nobody answers fails, as a real gateway's authentication session times out.

Without it a payment whose redirect the customer never got (a confirm resumed after a crash
learns only "pending authentication" from the gateway's status, not the page's URL) would stay
``processing`` forever in the sandbox; the chaos suite found exactly that. A decided challenge is
left alone by the expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from tests.conftest import Stack
from tests.e2e.test_gateways_e2e import GATEWAYS, THREE_DS, card, decide
from tests.support.stack import Services
from tests.support.tuned import tuned_stack

EXPIRE_S = 0.5


@pytest_asyncio.fixture(scope="module")
async def stack(svc: Services) -> AsyncIterator[Stack]:
    async with tuned_stack(svc, "engine_auth_expiry", sandbox={"auth_expire_s": EXPIRE_S}) as tuned:
        yield tuned


async def status_becomes(http: httpx.AsyncClient, payment_id: str, wanted: str, within: float = 10.0) -> dict:
    async with asyncio.timeout(within):
        while (body := (await http.get(f"/v1/payments/{payment_id}")).json())["status"] != wanted:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return body


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_an_unanswered_challenge_fails_and_an_answered_one_stays(stack: Stack, gateway: str) -> None:
    _, api_key = await stack.new_merchant()
    body = {
        "amount": 4000,
        "currency": "INR",
        "confirm": True,
        "payment_method": card(THREE_DS),
        "gateway": gateway,
        "return_url": "https://shop.example/return",
    }
    async with stack.client(api_key) as http:
        # The answered challenge first: its expiry timer fires before the ignored one's.
        answered = (await http.post("/v1/payments", json=body)).json()
        ignored = (await http.post("/v1/payments", json=body)).json()
        assert ignored["status"] == answered["status"] == "requires_action", (ignored, answered)
        callback = await decide(answered["next_action"]["redirect_url"], "approve")
        async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
            await browser.get(callback)
        failed = await status_becomes(http, ignored["id"], "requires_payment_method")
        assert failed["last_error"] is not None and failed["amount_received"] == 0
        kept = (await http.get(f"/v1/payments/{answered['id']}")).json()
        assert kept["status"] == "succeeded" and kept["amount_received"] == 4000, kept
