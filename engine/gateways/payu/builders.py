"""Form bodies for PayU's ``_payment`` and command (postservice) APIs (pure, no IO).

Both are ``application/x-www-form-urlencoded``; every value that takes part in a hash is posted
exactly as hashed (reference §3.2, §3.5: the amount string is formatted once and reused).
"""

from __future__ import annotations

from engine import signing
from engine.gateways.base import ChargeRequest
from engine.money import to_decimal_string

# PayU requires a non-empty productinfo, firstname, email and phone on every ``_payment``; when
# the merchant gave none, these placeholders go (assumption: acceptable for test mode; live
# accounts should collect the customer's real details).
PLACEHOLDER_EMAIL = "customer@example.com"
PLACEHOLDER_PHONE = "9999999999"
PLACEHOLDER_NAME = "Customer"
# Server-to-server payments must name the customer's IP (``s2s_client_ip``); ``ChargeRequest``
# carries none yet, so the loopback address stands in (assumption; PayU uses it for risk checks).
PLACEHOLDER_CLIENT_IP = "127.0.0.1"
TXNID_MAX = 25  # PayU: txnid at most 25 characters


class UnsupportedMethod(ValueError):
    """The payment method cannot be sent to PayU (unknown type or missing details)."""


def txnid_for(attempt_id: str) -> str:
    """PayU's ``txnid`` for an attempt: the attempt id itself when it fits in 25 characters,
    else its random part after the type prefix (``att_`` + 24 base62 characters -> 24).

    Deterministic, so status sync (``verify_payment`` by txnid) works from the attempt alone;
    the full attempt id also rides in ``udf2``.
    """
    if len(attempt_id) <= TXNID_MAX:
        return attempt_id
    return attempt_id.split("_", 1)[-1][-TXNID_MAX:]


def payment_form(request: ChargeRequest, *, key: str, salt: str) -> dict[str, str]:
    """The S2S ``_payment`` form for an attempt, ``hash`` included. Raises ``UnsupportedMethod``.

    ``udf1`` = engine merchant id (the sandbox routes webhooks by it, as a per-account webhook
    URL would), ``udf2`` = attempt id, ``udf3`` = payment id; PayU echoes them, and they are
    covered by the reverse hash. ``surl`` and ``furl`` are both the engine's callback URL.
    ``txn_s2s_flow``: ``2`` for UPI collect (as connector-service sends), ``4`` otherwise
    (PayU's S2S flow answering JSON; assumption, the value is not documented per method).
    """
    method_fields = _method_fields(request)
    card = request.method.card
    name = (card.holder_name if card is not None else None) or PLACEHOLDER_NAME
    fields = {
        "key": key,
        "txnid": txnid_for(request.attempt_id),
        "amount": to_decimal_string(request.amount, request.currency),
        "productinfo": (request.description or "payment")[:100],
        "firstname": name.split()[0][:60] if name.split() else PLACEHOLDER_NAME,
        "email": request.customer_email or PLACEHOLDER_EMAIL,
        "phone": request.customer_phone or PLACEHOLDER_PHONE,
        "surl": request.callback_url,
        "furl": request.callback_url,
        "udf1": request.merchant_id,
        "udf2": request.attempt_id,
        "udf3": request.payment_id,
        "txn_s2s_flow": "2" if request.method.type == "upi" else "4",
        "s2s_client_ip": PLACEHOLDER_CLIENT_IP,
        "s2s_device_info": "web",
        **method_fields,
    }
    fields["hash"] = signing.payu_request_hash(fields, salt)
    return fields


def _method_fields(request: ChargeRequest) -> dict[str, str]:
    method = request.method
    if method.type == "card" and method.card is not None:
        card = method.card
        return {
            "pg": "CC",
            "bankcode": "CC",
            "ccnum": card.number,
            "ccname": card.holder_name or PLACEHOLDER_NAME,
            "ccvv": card.cvc,
            "ccexpmon": f"{card.exp_month:02d}",
            "ccexpyr": f"{card.exp_year:04d}",
        }
    if method.type == "upi" and method.vpa:
        return {"pg": "UPI", "bankcode": "UPI", "vpa": method.vpa}
    if method.type == "netbanking" and method.bank_code:
        return {"pg": "NB", "bankcode": method.bank_code.upper()}
    if method.type == "wallet" and method.wallet_provider:
        # PayU files wallets under the "CASH" payment group, bank code = the wallet's code.
        return {"pg": "CASH", "bankcode": method.wallet_provider.upper()}
    raise UnsupportedMethod(f"payment method {method.type!r} is not supported or incomplete")


def command_form(key: str, salt: str, command: str, var1: str, *more: str) -> dict[str, str]:
    """A postservice command: ``key``, ``command``, ``var1``… and ``hash`` (over var1 only)."""
    fields = {"key": key, "command": command, "var1": var1}
    fields.update({f"var{i}": value for i, value in enumerate(more, start=2)})
    fields["hash"] = signing.payu_command_hash(key, command, var1, salt)
    return fields
