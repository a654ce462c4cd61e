"""The customer-facing bank / OTP / wallet page and the signed browser callback.

``bankForm.redirectForm.actionUrl`` is ``/paytm/pages/bank/{TXNID}``. ``GET`` (or a ``POST`` of the
``redirectForm.content``) shows Approve / Reject buttons, which POST ``decision=approve|reject`` back;
the answer is an auto-submitting form POSTing the callback fields (``CHECKSUMHASH`` included) to the
order's ``callbackUrl``. Without a browser, ``GET ...?decision=approve|reject`` answers a 302 to
``callbackUrl`` with the same fields in the query string.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request, Response, Router, route
from litestar.params import FromPath
from litestar.response import Redirect

from sandbox.context import context_of
from sandbox.paytm import wire as w
from sandbox.paytm.service import PaytmService
from sandbox.paytm.store import Order, Txn

_STYLE = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}button{font-size:1rem;margin-right:1rem}"


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(content=document, status_code=status, media_type="text/html")


def _challenge(order: Order, txn: Txn) -> Response[str]:
    what = {"CREDIT_CARD": "OTP verification", "DEBIT_CARD": "OTP verification", "BALANCE": "Paytm wallet"}
    label = what.get(txn.payment_mode, f"{txn.bank_name} netbanking")
    body = (
        f"<h2>Paytm sandbox: {html.escape(label)}</h2>"
        f"<p>Order <code>{html.escape(order.order_id)}</code>, transaction <code>{txn.txn_id}</code></p>"
        f"<p>Amount: <strong id='amount'>₹{w.rupees(order.amount)}</strong></p>"
        "<p>OTP (any value works): <input value='123456' size='8'></p>"
        "<form method='post'><button name='decision' value='approve'>Approve</button>"
        "<button name='decision' value='reject'>Reject</button></form>"
    )
    return _page("Authenticate payment", body)


def _autosubmit(url: str, fields: dict[str, str]) -> Response[str]:
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(k, quote=True)}' value='{html.escape(v, quote=True)}'>"
        for k, v in fields.items()
    )
    body = (
        f"<p>Redirecting back to the merchant…</p><form id='callback' method='post' "
        f"action='{html.escape(url, quote=True)}'>{inputs}<noscript><button>Continue</button></noscript></form>"
        "<script>document.getElementById('callback').submit();</script>"
    )
    return _page("Redirecting", body)


def _result(txn: Txn, fields: dict[str, str]) -> Response[str]:
    rows = "".join(f"<li><code>{html.escape(k)}</code> = {html.escape(v)}</li>" for k, v in fields.items())
    return _page("Payment result", f"<h2>{html.escape(txn.status)}</h2><ul>{rows}</ul>")


@route("/pages/bank/{txn_id:str}", http_method=["GET", "POST"])
async def bank_page(request: Request[Any, Any, Any], txn_id: FromPath[str]) -> Response[Any]:
    """The approval page and the handling of the customer's decision."""
    paytm: PaytmService = context_of(request.scope).gateways["paytm"]
    found = paytm.store.txn(txn_id)
    if found is None:
        return _page("Not found", "<h2>No such transaction</h2>", status=404)
    order, txn = found
    decision = request.query_params.get("decision")
    if request.method == "POST":
        decision = dict(parse_qsl((await request.body()).decode("utf-8", "replace"))).get("decision", decision)
    if decision is None:
        return _challenge(order, txn) if txn.status == "PENDING" else _result(txn, w.callback_fields(order, txn))
    if decision not in ("approve", "reject"):
        return _page("Bad request", "<h2>decision must be approve or reject</h2>", status=400)
    paytm.decide(order, txn, approve=decision == "approve")
    fields = w.callback_fields(order, txn)
    if not order.callback_url:
        return _result(txn, fields)
    if request.method == "GET":
        url = order.callback_url
        return Redirect(path=f"{url}{'&' if '?' in url else '?'}{urlencode(fields)}", status_code=302)
    return _autosubmit(order.callback_url, fields)


def pages_router() -> Router:
    """The customer-facing (unauthenticated) pages."""
    return Router(path="/", route_handlers=[bank_page])
