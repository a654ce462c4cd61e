"""The customer-facing authentication page (OTP / bank / wallet; UPI collect waiting page).

``payment.authentication.url`` is ``/juspay/pages/authenticate/{txn_uuid}``. It shows Approve /
Reject (POSTing ``decision`` back); once the order is final the customer is sent to the order's
``return_url`` with ``order_id``, ``status``, ``status_id``, ``signature`` and
``signature_algorithm=HMAC-SHA256`` (see :func:`sandbox.juspay.wire.return_signature`): a 302 for
``GET ...?decision=approve|reject`` and for POSTs (Juspay redirects by GET). ``/juspay/pay/{order_id}``
(the order's ``payment_links``) shows the order.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response, Router, get, route
from litestar.params import FromPath
from litestar.response import Redirect

from sandbox.context import context_of
from sandbox.juspay.service import JuspayService
from sandbox.juspay.store import Order, Txn

_STYLE = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}button{font-size:1rem;margin-right:1rem}"


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(content=document, status_code=status, media_type="text/html")


def _challenge(order: Order, txn: Txn) -> Response[str]:
    what = {"CARD": "OTP verification", "NB": f"{txn.method} netbanking", "WALLET": f"{txn.method} wallet"}
    body = (
        f"<h2>Juspay sandbox: {html.escape(what.get(txn.method_type, txn.method_type))}</h2>"
        f"<p>Order <code>{html.escape(order.order_id)}</code></p>"
        f"<p>Amount: <strong id='amount'>₹{order.amount / 100:.2f}</strong></p>"
        "<p>OTP (any value works): <input value='123456' size='8'></p>"
        "<form method='post'><button name='decision' value='approve'>Approve</button>"
        "<button name='decision' value='reject'>Reject</button></form>"
    )
    return _page("Authenticate payment", body)


@route("/pages/authenticate/{txn_uuid:str}", http_method=["GET", "POST"])
async def authenticate_page(request: Request[Any, Any, Any], txn_uuid: FromPath[str]) -> Response[Any]:
    """The authentication page and the customer's decision."""
    juspay: JuspayService = context_of(request.scope).gateways["juspay"]
    found = juspay.store.txn(txn_uuid)
    if found is None:
        return _page("Not found", "<h2>No such transaction</h2>", status=404)
    order, txn = found
    decision = request.query_params.get("decision")
    if request.method == "POST":
        decision = dict(parse_qsl((await request.body()).decode("utf-8", "replace"))).get("decision", decision)
    if decision not in (None, "approve", "reject"):
        return _page("Bad request", "<h2>decision must be approve or reject</h2>", status=400)
    if decision is not None:
        juspay.decide(order, txn, approve=decision == "approve")
    if order.status == "PENDING_VBV":
        if txn.vpa is not None:
            return _page("Waiting", "<h2>Approve the collect request in your UPI app</h2>")
        return _challenge(order, txn)
    url = juspay.return_url(order)
    if url is None:
        return _page("Payment result", f"<h2 id='status'>{html.escape(order.status)}</h2>")
    return Redirect(path=url, status_code=302)


@get("/pay/{order_id:str}", sync_to_thread=False)
def payment_link(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[str]:
    """The order's payment link (the sandbox has no hosted checkout: it shows the order)."""
    juspay: JuspayService = context_of(request.scope).gateways["juspay"]
    order = juspay.store.orders.get(order_id)
    if order is None:
        return _page("Not found", "<h2>No such order</h2>", status=404)
    return _page("Order", f"<h2>Order {html.escape(order.order_id)}: {html.escape(order.status)}</h2>")


def pages_router() -> Router:
    """The customer-facing (unauthenticated) pages."""
    return Router(path="/", route_handlers=[authenticate_page, payment_link])
