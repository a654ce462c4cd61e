"""PayU HTTP routes: ``POST /_payment``, the command API and the customer-facing PayU page.

The page ``/payu/pages/pay/{mihpayid}`` shows Approve / Reject while the customer must act (3-DS
OTP, netbanking, wallet, hosted checkout) and POSTs ``decision`` back to itself; once final it
answers an auto-submitting form POSTing the signed response fields to ``surl`` (success) or ``furl``
(failure). Without a browser, ``GET ...?decision=approve|reject`` answers a 302 to ``surl`` / ``furl``
with the same fields in the query string (for a final transaction the decision is ignored).
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request, Response, Router, post, route
from litestar.params import FromPath

from sandbox.context import context_of
from sandbox.faults import DROP_HEADER
from sandbox.payu import commands
from sandbox.payu.service import PayuError, PayuService
from sandbox.payu.store import Txn, rupees

AnyRequest = Request[Any, Any, Any]
_STYLE = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}button{font-size:1rem;margin-right:1rem}"


def _service(request: AnyRequest) -> PayuService:
    service: PayuService = context_of(request.scope).gateways["payu"]
    return service


async def _form(request: AnyRequest) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _page(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
    return Response(content=document, status_code=status, media_type="text/html", headers=headers)


def _redirect(url: str, drop: bool = False) -> Response[str]:
    headers = {"Location": url, **({DROP_HEADER.decode(): "1"} if drop else {})}
    return _page(
        "Redirecting", f"<p>Redirecting to <a href='{html.escape(url, quote=True)}'>PayU</a>…</p>", 302, headers
    )


@post("/_payment", status_code=200)
async def payment(request: AnyRequest) -> Response[Any]:
    """Collect Payment API: browser form POST (302 to the PayU page) or server-to-server (JSON)."""
    payu, form = _service(request), await _form(request)
    s2s = bool(form.get("txn_s2s_flow"))
    try:
        paid = payu.pay(form)
    except PayuError as exc:
        if s2s or exc.status != 200:
            body = {"status": "failure", "error": exc.code, "message": exc.message, "result": None}
            return Response(content=body, status_code=exc.status, media_type="application/json")
        error = f"<h2 id='error'>Error Reason: {html.escape(exc.message)}</h2><p>Error code: {exc.code}</p>"
        return _page("Error", error)
    drop = {DROP_HEADER.decode(): "1"} if paid.drop else None
    if s2s:
        return Response(content=payu.s2s_body(paid), headers=drop, media_type="application/json")
    return _redirect(payu.page_url(paid.txn), drop=paid.drop)


@post(["/merchant/postservice.php", "/merchant/postservice"], status_code=200)
async def postservice(request: AnyRequest) -> dict[str, Any]:
    """The command API (``verify_payment``, ``cancel_refund_transaction``, ``check_action_status``…)."""
    return commands.run(_service(request), await _form(request), request.url.path)


def _challenge(txn: Txn) -> Response[str]:
    what = {"NB": f"{txn.bankcode} netbanking", "CASH": f"{txn.bankcode} wallet"}.get(txn.mode, "OTP verification")
    body = (
        f"<h2>PayU sandbox: {html.escape(what)}</h2><p>Transaction <code>{html.escape(txn.txnid)}</code></p>"
        f"<p>Amount: <strong id='amount'>₹{rupees(txn.amount)}</strong></p>"
        "<p>OTP (any value works): <input value='123456' size='8'></p>"
        "<form method='post'><button name='decision' value='approve'>Approve</button>"
        "<button name='decision' value='reject'>Reject</button></form>"
    )
    return _page("PayU payment", body)


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


@route("/pages/pay/{mihpayid:str}", http_method=["GET", "POST"])
async def pay_page(request: AnyRequest, mihpayid: FromPath[str]) -> Response[Any]:
    """The PayU page: the customer's decision, then the signed POST back to ``surl`` / ``furl``."""
    payu = _service(request)
    txn = payu.store.txns.get(mihpayid)
    if txn is None:
        return _page("Not found", "<h2>No such transaction</h2>", status=404)
    decision = request.query_params.get("decision")
    if request.method == "POST":
        decision = (await _form(request)).get("decision", decision)
    if decision not in (None, "approve", "reject"):
        return _page("Bad request", "<h2>decision must be approve or reject</h2>", status=400)
    if decision is not None:
        payu.decide(txn, approve=decision == "approve")
    if txn.status == "pending":
        if txn.vpa:
            return _page("Waiting", "<h2>Approve the collect request in your UPI app</h2>")
        return _challenge(txn)
    fields = payu.response_fields(txn)
    url = txn.posted["surl"] if txn.status == "success" else txn.posted["furl"]
    if request.method == "GET" and decision is not None:
        return _redirect(f"{url}{'&' if '?' in url else '?'}{urlencode(fields)}")
    return _autosubmit(url, fields)


def api_router() -> Router:
    """All PayU routes (no HTTP auth: the key and hash are form fields)."""
    return Router(path="/", route_handlers=[payment, postservice, pay_page])
