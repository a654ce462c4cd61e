"""The hosted checkout page in a real headless Chromium: card, 3-D Secure (approve, reject),
UPI (the webhook decides) and netbanking, each ending on the merchant's return_url; a wrong or
missing client secret gets no page; the page obeys its CSP and leaks no card data."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
import standardwebhooks

from tests.support.hook_receiver import HookReceiver
from tests.support.servers import serve_asgi

SHOT = Path(__file__).resolve().parents[2] / "docs" / "checkout.png"
PAN = "4111111111111111"
THREE_DS = "4000000000003220"


@dataclass
class Shop:
    """The merchant's site: records each landing on its return URL."""

    base_url: str = ""
    landings: list[str] = field(default_factory=list)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        self.landings.append(scope["path"] + "?" + scope["query_string"].decode())
        body = b"<!doctype html><title>Thanks</title><p>Thank you for your order.</p>"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": body})


@pytest_asyncio.fixture(scope="module")
async def shop() -> AsyncIterator[Shop]:
    site = Shop()
    async with serve_asgi(site) as url:
        site.base_url = url
        yield site


@dataclass
class Checkout:
    payment: dict
    url: str
    sk: httpx.AsyncClient


@pytest_asyncio.fixture
async def merchant_keys(stack) -> AsyncIterator[httpx.AsyncClient]:
    _, secret, _ = await stack.new_merchant_keys("Asha Pharmacy")
    async with stack.client(secret) as sk:
        yield sk


async def new_checkout(stack, sk: httpx.AsyncClient, shop: Shop, amount: int = 49900) -> Checkout:
    created = await sk.post(
        "/v1/payments", json={"amount": amount, "currency": "INR", "return_url": f"{shop.base_url}/done"}
    )
    assert created.status_code == 201, created.text
    payment = created.json()
    return Checkout(payment, f"{stack.api_url}/checkout/{payment['id']}?client_secret={payment['client_secret']}", sk)


@pytest_asyncio.fixture
async def page(chromium) -> AsyncIterator[Any]:
    """A phone-sized page; every request URL and console line it makes is recorded."""
    context = await chromium.new_context(viewport={"width": 375, "height": 740})
    tab = await context.new_page()
    tab.requests = []
    tab.console_lines = []
    tab.on("request", lambda r: tab.requests.append((r.url, r.post_data or "")))
    tab.on("console", lambda m: tab.console_lines.append(m.text))
    yield tab
    await context.close()


async def landed(page, shop: Shop, payment_id: str) -> dict[str, list[str]]:
    """Wait until the browser is on the return URL; its query."""
    await page.wait_for_url(re.compile(re.escape(shop.base_url) + r"/done\?"), timeout=20_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["payment_id"] == [payment_id]
    return query


async def no_card_data_leaked(page, shop: Shop) -> None:
    for url, _ in page.requests:
        assert PAN not in url and THREE_DS not in url, url
    for line in page.console_lines:
        assert PAN not in line and THREE_DS not in line
    assert await page.evaluate("() => localStorage.length + sessionStorage.length") == 0
    assert all(PAN not in landing for landing in shop.landings)


async def pay_by_card(page, number: str) -> None:
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry (MM/YY)").fill("12/30")
    await page.get_by_label("CVC").fill("123")
    await page.get_by_role("button", name=re.compile("^Pay")).and_(page.locator("#form-card button")).click()


async def test_a_card_payment_succeeds_and_returns_to_the_shop(stack, merchant_keys, shop, page, caplog):
    caplog.set_level(logging.DEBUG)
    checkout = await new_checkout(stack, merchant_keys, shop)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = await page.goto(checkout.url)
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "default-src 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    await page.get_by_text("Asha Pharmacy", exact=True).wait_for()
    assert "499.00" in await page.locator("#amount").inner_text()
    await page.get_by_role("radio", name="Card").wait_for()  # the methods came from payment_methods
    assert await page.get_by_role("radio").count() == 4
    # Nothing is wider than the phone's viewport.
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 375
    await page.get_by_label("Card number").fill(PAN)
    await page.get_by_label("Expiry (MM/YY)").fill("12/30")
    await page.get_by_label("CVC").fill("123")
    SHOT.parent.mkdir(exist_ok=True)
    if os.environ.get("CHECKOUT_SCREENSHOT") == "1":  # refresh docs/checkout.png
        await page.screenshot(path=str(SHOT), full_page=True)
    await page.locator("#form-card button").click()
    await page.get_by_text("Payment successful.").wait_for()
    query = await landed(page, shop, checkout.payment["id"])
    assert query["status"] == ["succeeded"]
    assert (await checkout.sk.get(f"/v1/payments/{checkout.payment['id']}")).json()["status"] == "succeeded"
    assert violations == []
    await no_card_data_leaked(page, shop)
    # The engine's own log lines (in-process here): no card number, no client secret.
    assert PAN not in caplog.text and checkout.payment["client_secret"] not in caplog.text


async def test_the_page_is_keyboard_usable_and_validates_before_sending(stack, merchant_keys, shop, page):
    checkout = await new_checkout(stack, merchant_keys, shop)
    await page.goto(checkout.url)
    await page.get_by_label("Card number").wait_for()
    confirms: list[str] = []
    page.on("request", lambda r: confirms.append(r.url) if r.url.endswith("/confirm") else None)
    # A bad number, a past expiry and a short CVC: messages, no request.
    await page.get_by_label("Card number").focus()
    await page.keyboard.type("4111111111111112")
    await page.keyboard.press("Tab")
    await page.keyboard.type("01/20")
    await page.keyboard.press("Tab")
    await page.keyboard.type("12")
    await page.keyboard.press("Enter")
    await page.get_by_text("Enter a valid card number.").wait_for()
    assert await page.get_by_text("This card has expired.").is_visible()
    assert await page.get_by_text("Enter the 3-digit security code.").is_visible()
    assert await page.get_by_label("Card number").get_attribute("aria-invalid") == "true"
    # UPI chosen with the keyboard, a malformed VPA refused in the page.
    await page.get_by_role("radio", name="UPI").focus()
    await page.keyboard.press("Space")
    await page.get_by_label("UPI ID").fill("not-a-vpa")
    await page.get_by_label("UPI ID").press("Enter")
    await page.get_by_text("Enter a UPI ID like name@bank.").wait_for()
    assert confirms == []
    assert (await checkout.sk.get(f"/v1/payments/{checkout.payment['id']}")).json()[
        "status"
    ] == "requires_payment_method"


@pytest.mark.parametrize(("decision", "status"), [("Approve", "succeeded"), ("Reject", "requires_payment_method")])
async def test_a_3ds_card_follows_the_otp_page_and_returns(stack, merchant_keys, shop, page, decision, status):
    checkout = await new_checkout(stack, merchant_keys, shop)
    await page.goto(checkout.url)
    await page.get_by_label("Card number").wait_for()
    await pay_by_card(page, THREE_DS)
    await page.get_by_role("button", name=decision).wait_for()  # on the gateway's own page
    if decision == "Approve":
        # The customer reloads the checkout mid-way: it sends them on to the same page.
        await page.goto(checkout.url)
    await page.get_by_role("button", name=decision).click()
    query = await landed(page, shop, checkout.payment["id"])
    assert query["status"] == [status]
    assert (await checkout.sk.get(f"/v1/payments/{checkout.payment['id']}")).json()["status"] == status
    await no_card_data_leaked(page, shop)


async def test_upi_waits_for_the_webhook_then_returns(stack, merchant_keys, shop, page):
    checkout = await new_checkout(stack, merchant_keys, shop)
    await page.goto(checkout.url)
    await page.get_by_role("radio", name="UPI").check()
    await page.get_by_label("UPI ID").fill("success@upi")
    await page.locator("#form-upi button").click()
    await page.get_by_text("Approve the request in your UPI app").wait_for()
    query = await landed(page, shop, checkout.payment["id"])  # the sandbox's webhook decided
    assert query["status"] == ["succeeded"]


async def test_netbanking_goes_through_the_bank_page_and_returns(stack, merchant_keys, shop, page):
    checkout = await new_checkout(stack, merchant_keys, shop)
    await page.goto(checkout.url)
    await page.get_by_role("radio", name="Netbanking").check()
    await page.get_by_label("Bank", exact=True).select_option("SBIN")
    await page.locator("#form-netbanking button").click()
    await page.get_by_role("button", name="Approve").click()
    query = await landed(page, shop, checkout.payment["id"])
    assert query["status"] == ["succeeded"]
    paid = (await checkout.sk.get(f"/v1/payments/{checkout.payment['id']}")).json()
    assert paid["payment_method"]["bank_code"] == "SBIN"


async def test_a_wrong_or_missing_client_secret_gets_no_page(stack, merchant_keys, shop, page):
    checkout = await new_checkout(stack, merchant_keys, shop)
    other = await new_checkout(stack, merchant_keys, shop)
    base = f"{stack.api_url}/checkout/{checkout.payment['id']}"
    secret = checkout.payment["client_secret"]
    for url in (
        base,
        base + "?client_secret=",
        base + "?client_secret=" + secret[:-2],
        base + "?client_secret=" + secret + "A" * 500,
        base + "?client_secret=%00" + secret,
        base + "?client_secret=" + other.payment["client_secret"],
        f"{stack.api_url}/checkout/{other.payment['id']}?client_secret={secret}",
        base + "/status",
        base + "/status?client_secret=" + other.payment["client_secret"],
    ):
        response = await page.goto(url)
        assert response.status == 404, url
        text = await page.content()
        assert "Asha" not in text and "499" not in text and checkout.payment["id"] not in text.replace(url, "")
    async with httpx.AsyncClient() as http:
        unknown_asset = await http.get(f"{stack.api_url}/checkout/assets/../../api/app.py")
        assert unknown_asset.status_code == 404


async def test_the_merchant_hears_of_the_browser_payment_and_its_refund_by_verified_webhooks(
    stack, merchant_keys, shop, page
):
    """The issue's whole story: register an endpoint, pay on the hosted page, refund; the official
    ``standardwebhooks`` verifier accepts the payment.succeeded and refund.succeeded deliveries."""
    receiver = HookReceiver()
    async with serve_asgi(receiver) as hooks_url:
        endpoint = await merchant_keys.post(
            "/v1/webhook_endpoints",
            json={"url": f"{hooks_url}/hooks", "enabled_events": ["payment.succeeded", "refund.succeeded"]},
        )
        assert endpoint.status_code in (200, 201), endpoint.text
        secret = endpoint.json()["secret"]
        checkout = await new_checkout(stack, merchant_keys, shop)
        await page.goto(checkout.url)
        await pay_by_card(page, PAN)
        await landed(page, shop, checkout.payment["id"])
        refund = await merchant_keys.post("/v1/refunds", json={"payment_id": checkout.payment["id"]})
        assert refund.status_code == 200 and refund.json()["status"] == "succeeded", refund.text
        delivered = await receiver.wait_for("/hooks", 2, timeout=30)
    seen = {}
    for headers, body in delivered:
        event = standardwebhooks.Webhook(secret).verify(body, headers)  # raises unless signed right
        seen[event["type"]] = event["data"]["object"]
    assert seen["payment.succeeded"]["id"] == checkout.payment["id"]
    assert seen["payment.succeeded"]["status"] == "succeeded" and "client_secret" not in seen["payment.succeeded"]
    assert seen["refund.succeeded"]["id"] == refund.json()["id"]
