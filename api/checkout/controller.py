"""``GET /checkout/{payment_id}?client_secret=…``: the hosted checkout page, served by the engine.

The page is one HTML file with the payment's facts filled in (escaped), plus one same-origin
script and one stylesheet shipped in this package: no CDN, no third-party code, no inline
script or style, so the Content-Security-Policy allows nothing else. The page talks to the API
with the merchant's publishable key and the payment's client secret (the two endpoints that
key opens), and polls ``/checkout/{payment_id}/status`` while a payment is processing.
A wrong, missing or malformed client secret gets a bare 404: no name, no amount, no status.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.params import Parameter

from api.deps import engine_of
from engine.errors import NotFound
from engine.services import checkout
from engine.views import encode

_STATIC = Path(__file__).parent / "static"
_TEMPLATE = (_STATIC / "checkout.html").read_text(encoding="utf-8")
_ASSETS = {
    "checkout.js": ((_STATIC / "checkout.js").read_bytes(), "text/javascript; charset=utf-8"),
    "checkout.css": ((_STATIC / "checkout.css").read_bytes(), "text/css; charset=utf-8"),
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
# The page's URL holds the client secret: no Referer may carry it to the gateway's page, and no
# cache may keep the page.
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_NOT_FOUND = b"<!doctype html><title>Not found</title><p>Not found.</p>"
# No framework bound: an overlong secret is a wrong one, answered by the same bare 404
# (engine/services/checkout.py refuses anything over client_secrets.MAX_LENGTH unread).
SecretParam = Parameter(default=None, description="The payment's client secret.")


def _not_found() -> Response[bytes]:
    return Response(_NOT_FOUND, status_code=404, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


def render_page(page: checkout.CheckoutPage, client_secret: str) -> bytes:
    """The page's HTML with every value escaped (attribute-safe)."""
    values = {
        "merchant_name": page.merchant_name,
        "payment_id": page.payment_id,
        "client_secret": client_secret,
        "publishable_key": page.publishable_key,
        "status": page.status,
        "confirmable": "true" if page.confirmable else "false",
        "return_url": page.return_url or "",
        "currency": page.currency,
        "amount": page.amount_display,
    }
    html = _TEMPLATE
    for name, value in values.items():
        html = html.replace("{{" + name + "}}", escape(value, quote=True))
    return html.encode()


class CheckoutController(Controller):
    """The hosted checkout page, its files and its status poll (no API key: the client secret)."""

    path = "/checkout"
    include_in_schema = False

    @get("/assets/{name:str}")
    async def asset(self, name: str) -> Response[bytes]:
        """The page's script and stylesheet (a fixed list: nothing else is served)."""
        found = _ASSETS.get(name)
        if found is None:
            return _not_found()
        body, media_type = found
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "public, max-age=300"}
        return Response(body, media_type=media_type, headers=headers)

    @get("/{payment_id:str}")
    async def page(self, state: State, payment_id: str, client_secret: str | None = SecretParam) -> Response[bytes]:
        """The checkout page of the payment ``client_secret`` opens; a bare 404 otherwise."""
        try:
            page = await checkout.open_page(engine_of(state), payment_id, client_secret)
        except NotFound:
            return _not_found()
        assert client_secret is not None  # open_page checked it
        return Response(render_page(page, client_secret), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @get("/{payment_id:str}/status")
    async def status(self, state: State, payment_id: str, client_secret: str | None = SecretParam) -> Response[bytes]:
        """``{status, final, return_to, error, redirect_url}`` for the page's poll; a bare 404 otherwise."""
        try:
            found = await checkout.status(engine_of(state), payment_id, client_secret)
        except NotFound:
            return _not_found()
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return Response(encode(found), media_type="application/json", headers=headers)
