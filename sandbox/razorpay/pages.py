"""Customer-facing pages: the OTP / bank / wallet approval page and the signed browser callback.

``GET /razorpay/pages/authenticate/{pay_id}`` shows the amount with Approve / Reject buttons, which
POST ``decision=approve|reject`` back to the same URL; the answer is an auto-submitting form that
POSTs the callback fields to the payment's ``callback_url``. Without a browser, use
``GET ...?decision=approve|reject``: the answer is a 302 to ``callback_url`` with the same fields in
the query string.

Callback fields: on success ``razorpay_payment_id``, ``razorpay_order_id`` and
``razorpay_signature`` (hex HMAC-SHA256 of ``order_id|payment_id`` with the key secret); on failure
``error[code]``, ``error[description]``, ``error[source]``, ``error[step]``, ``error[reason]`` and
``error[metadata]`` (a JSON string ``{"payment_id", "order_id"}``).
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request, Response, Router, route
from litestar.params import FromPath
from litestar.response import Redirect

from sandbox.context import context_of
from sandbox.razorpay.service import RazorpayService
from sandbox.razorpay.store import Payment
from sandbox.razorpay.validation import CURRENCIES
from sandbox.razorpay.wire import KEY_SECRET, payment_signature

_STYLE = (
    "body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:1rem;border:1px solid #ccc;"
    "border-radius:8px}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}"
)


def callback_fields(payment: Payment) -> dict[str, str]:
    """The fields the browser carries back to the merchant's ``callback_url``."""
    if payment.status in ("authorized", "captured", "refunded"):
        return {
            "razorpay_payment_id": payment.id,
            "razorpay_order_id": payment.order_id,
            "razorpay_signature": payment_signature(KEY_SECRET, payment.order_id, payment.id),
        }
    metadata = json.dumps({"payment_id": payment.id, "order_id": payment.order_id}, separators=(",", ":"))
    return {
        "error[code]": payment.error_code or "BAD_REQUEST_ERROR",
        "error[description]": payment.error_description or "Payment failed",
        "error[source]": payment.error_source or "customer",
        "error[step]": payment.error_step or "payment_authentication",
        "error[reason]": payment.error_reason or "payment_failed",
        "error[metadata]": metadata,
    }


def _page(title: str, body: str, status: int = 200) -> Response[str]:
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(content=document, status_code=status, media_type="text/html")


def _challenge_page(payment: Payment) -> Response[str]:
    exponent = CURRENCIES.get(payment.currency, 2)
    amount = f"{payment.amount / 10**exponent:,.{exponent}f} {payment.currency}"
    what = {
        "card": "OTP verification",
        "netbanking": f"{payment.bank} netbanking",
        "wallet": f"{payment.wallet} wallet",
    }
    body = (
        f"<h2>Razorpay sandbox: {html.escape(what.get(payment.method, payment.method))}</h2>"
        f"<p>Payment <code>{payment.id}</code> for order <code>{payment.order_id}</code></p>"
        f"<p>Amount: <strong id='amount'>{html.escape(amount)}</strong></p>"
        "<p>OTP (any value works): <input value='123456' size='8'></p>"
        "<form method='post'>"
        "<button type='submit' name='decision' value='approve'>Approve</button>"
        "<button type='submit' name='decision' value='reject'>Reject</button>"
        "</form>"
    )
    return _page("Authenticate payment", body)


def _result_page(payment: Payment, fields: dict[str, str]) -> Response[str]:
    rows = "".join(f"<li><code>{html.escape(k)}</code> = {html.escape(val)}</li>" for k, val in fields.items())
    return _page("Payment result", f"<h2>Payment {html.escape(payment.status)}</h2><ul>{rows}</ul>")


def _autosubmit(url: str, fields: dict[str, str]) -> Response[str]:
    inputs = "".join(
        f"<input type='hidden' name='{html.escape(k, quote=True)}' value='{html.escape(val, quote=True)}'>"
        for k, val in fields.items()
    )
    body = (
        f"<p>Redirecting back to the merchant…</p>"
        f"<form id='callback' method='post' action='{html.escape(url, quote=True)}'>{inputs}"
        "<noscript><button type='submit'>Continue</button></noscript></form>"
        "<script>document.getElementById('callback').submit();</script>"
    )
    return _page("Redirecting", body)


def _with_query(url: str, fields: dict[str, str]) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(fields)}"


@route("/pages/authenticate/{payment_id:str}", http_method=["GET", "POST"])
async def authenticate_page(request: Request[Any, Any, Any], payment_id: FromPath[str]) -> Response[Any]:
    """The approval page, and the handling of the customer's decision."""
    rzp: RazorpayService = context_of(request.scope).gateways["razorpay"]
    payment = rzp.store.payments.get(payment_id)
    if payment is None:
        return _page("Not found", "<h2>No such payment</h2>", status=404)
    if request.method == "POST":
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        decision = form.get("decision") or request.query_params.get("decision")
    else:
        decision = request.query_params.get("decision")
    if decision is None:
        if payment.status != "created":
            return _result_page(payment, callback_fields(payment))
        return _challenge_page(payment)
    if decision not in ("approve", "reject"):
        return _page("Bad request", "<h2>decision must be approve or reject</h2>", status=400)
    rzp.decide(payment, approve=decision == "approve")
    fields = callback_fields(payment)
    if payment.callback_url is None:
        return _result_page(payment, fields)
    if request.method == "GET":
        return Redirect(path=_with_query(payment.callback_url, fields), status_code=302)
    return _autosubmit(payment.callback_url, fields)


def pages_router() -> Router:
    """The customer-facing (unauthenticated) pages."""
    return Router(path="/", route_handlers=[authenticate_page])
