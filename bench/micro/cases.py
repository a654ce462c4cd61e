"""The benchmark cases: realistic inputs for every kernel, composites, and the issue's targets.

A :class:`Case` is a ``timeit`` statement over aliases: each alias names a kernel function
(``"validation.validate_card"``), bound to the pure twin, the compiled kernel, or the stdlib way
(``stdlib.py``, same alias) depending on the implementation being timed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.micro import stdlib

TODAY = (2026, 11)
CARD = ("4111111111111111", 12, 2030, "123")
ORDER_ID, PAYMENT_ID, RAZORPAY_SECRET = "order_IluGWxBm9U8zJ8", "pay_IluGWxBm9U8zJ9", "sandbox_secret"
PAYU_SALT = "sandboxsalt"
PAYU_PARAMS = {
    "key": "sandboxkey",
    "txnid": "txn_8f14e45fceea167a",
    "amount": "499.00",
    "productinfo": "Pharmacy order 1001",
    "firstname": "Asha",
    "email": "asha@example.com",
    "phone": "9999999999",
    "udf1": "pay_3kTfq2Zr8MNb",
    "surl": "http://127.0.0.1:8000/v1/callbacks/payu/m/pay_3kTfq2Zr8MNb",
}
PAYU_POSTED = {**PAYU_PARAMS, "status": "success", "mihpayid": "403993715521", "mode": "CC"}
PAYTM_KEY = "sandboxmerchkey1"
PAYTM_FORM = {
    "MID": "SANDBOXMID0000000001",
    "ORDERID": "pay_3kTfq2Zr8MNb",
    "TXNAMOUNT": "499.00",
    "CUST_ID": "cus_9",
    "INDUSTRY_TYPE_ID": "Retail",
    "WEBSITE": "WEBSTAGING",
    "CHANNEL_ID": "WEB",
    "CALLBACK_URL": "http://127.0.0.1:8000/v1/callbacks/paytm/m/pay_3kTfq2Zr8MNb",
}
PAYTM_BODY = json.dumps(
    {
        "requestType": "Payment",
        "mid": PAYTM_FORM["MID"],
        "websiteName": "WEBSTAGING",
        "orderId": "pay_3kTfq2Zr8MNb",
        "txnAmount": {"value": "499.00", "currency": "INR"},
        "userInfo": {"custId": "cus_9"},
        "callbackUrl": PAYTM_FORM["CALLBACK_URL"],
    },
    separators=(",", ":"),
)
WEBHOOK_BODY = json.dumps(
    {
        "entity": "event",
        "account_id": "acc_BFQ7uQEaa7j2z7",
        "event": "payment.captured",
        "contains": ["payment"],
        "payload": {
            "payment": {
                "entity": {
                    "id": PAYMENT_ID,
                    "entity": "payment",
                    "amount": 49900,
                    "currency": "INR",
                    "status": "captured",
                    "order_id": ORDER_ID,
                    "method": "card",
                    "captured": True,
                    "description": "Pharmacy order 1001",
                    "email": "asha@example.com",
                    "contact": "+919999999999",
                    "notes": {"merchant_order_id": "order-1001"},
                    "fee": 1180,
                    "tax": 180,
                    "created_at": 1700000000,
                }
            }
        },
        "created_at": 1700000001,
    },
    indent=2,
).encode()


@dataclass(frozen=True)
class Case:
    """One timed statement; ``kernels`` maps its aliases to ``"<kernel module>.<function>"``."""

    name: str
    group: str
    stmt: str
    kernels: dict[str, str]
    values: dict[str, object] = field(default_factory=dict)
    stdlib: dict[str, Callable[..., object]] | None = None
    speedup_target: float | None = None  # compiled must be at least this many times faster than pure
    max_ns_target: float | None = None  # compiled must take less than this per call
    note: str = ""


def call(name: str, group: str, kernel: str, *args: object, std: bool = True, rejects: bool = False,
         **extra: object) -> Case:  # fmt: skip
    """A case calling one kernel function with ``args``; ``rejects`` wraps it in try/except."""
    names = [f"a{i}" for i in range(len(args))]
    stmt = f"f({', '.join(names)})"
    if rejects:
        stmt = f"try:\n    {stmt}\nexcept Exception:\n    pass"
    function = kernel.rsplit(".", 1)[1]
    stdlib_fn = getattr(stdlib, function, None) if std else None
    return Case(name, group, stmt, {"f": kernel}, dict(zip(names, args, strict=True)),
                {"f": stdlib_fn} if stdlib_fn else None, **extra)  # type: ignore[arg-type]  # fmt: skip


REJECTION_NOTE = (
    "a rejected input is checked in C, then the pure rules run again to raise the specified error (one source "
    "for every code and message): 0.2-0.3 us more than pure per rejection; accepted inputs never leave C"
)
VALIDATE_PAYMENT = "card(number, month, year, cvc, ty, tm); amount(49900, 'INR')"
PAYMENT_VALUES = dict(zip(("number", "month", "year", "cvc"), CARD, strict=True)) | {"ty": TODAY[0], "tm": TODAY[1]}
PAYMENT_KERNELS = {"card": "validation.validate_card", "amount": "validation.validate_amount"}
PAYMENT_STDLIB = {"card": stdlib.validate_card, "amount": stdlib.validate_amount}


def hot_path(gateway: str, sign_stmt: str, kernel: str, stdlib_fn: Callable[..., object], **values: object) -> Case:
    """Validate one card payment and sign one gateway request, as a confirm request does."""
    return Case(
        f"hot path: card payment + {gateway}",
        "hot path",
        f"{VALIDATE_PAYMENT}; {sign_stmt}",
        {**PAYMENT_KERNELS, "sign": kernel},
        {**PAYMENT_VALUES, **values},
        {**PAYMENT_STDLIB, "sign": stdlib_fn},
        max_ns_target=5000.0,
    )


def cases() -> list[Case]:
    """Every case, in table order."""
    v, s = "validation", "signing"
    number, month, year, cvc = CARD
    return [
        Case(
            "card payment: validate_card + validate_amount",
            v,
            VALIDATE_PAYMENT,
            PAYMENT_KERNELS,
            PAYMENT_VALUES,
            PAYMENT_STDLIB,
            speedup_target=5.0,
        ),
        call("luhn_valid", v, "validation.luhn_valid", number),
        call("card_brand (RuPay)", v, "validation.card_brand", "6521111111111110"),
        call("validate_card_number", v, "validation.validate_card_number", number),
        call("validate_expiry", v, "validation.validate_expiry", month, year, *TODAY),
        call("validate_cvc", v, "validation.validate_cvc", cvc, "visa"),
        call("validate_card", v, "validation.validate_card", *CARD, *TODAY),
        call(
            "validate_card, rejected (Luhn)",
            v,
            "validation.validate_card",
            "4111111111111112",
            12,
            2030,
            "123",
            *TODAY,
            rejects=True,
            note=REJECTION_NOTE,
        ),
        call("validate_amount", v, "validation.validate_amount", 49900, "INR"),
        call("validate_amount, rejected", v, "validation.validate_amount", 0, "INR", rejects=True, note=REJECTION_NOTE),
        call("validate_vpa", v, "validation.validate_vpa", "Asha.Rao-1@okhdfcbank"),
        call("validate_bank_code", v, "validation.validate_bank_code", "SBI_RETAIL"),
        call("validate_ifsc", v, "validation.validate_ifsc", "HDFC0001234"),
        call("validate_wallet_provider", v, "validation.validate_wallet_provider", "phonepe"),
        call(
            "razorpay_payment_signature",
            s,
            "signing.razorpay_payment_signature",
            ORDER_ID,
            PAYMENT_ID,
            RAZORPAY_SECRET,
            speedup_target=1.5,
        ),
        call("payu_request_hash", s, "signing.payu_request_hash", PAYU_PARAMS, PAYU_SALT, speedup_target=1.5),
        call(
            "paytm_generate_checksum (JSON body, random salt)",
            s,
            "signing.paytm_generate_checksum",
            PAYTM_BODY,
            PAYTM_KEY,
            speedup_target=1.5,
        ),
        call(
            "paytm_generate_checksum (form dict, fixed salt)",
            s,
            "signing.paytm_generate_checksum",
            PAYTM_FORM,
            PAYTM_KEY,
            "AbC1",
        ),
        call(
            "verify_razorpay_payment_signature",
            s,
            "signing.verify_razorpay_payment_signature",
            ORDER_ID,
            PAYMENT_ID,
            stdlib.razorpay_payment_signature(ORDER_ID, PAYMENT_ID, RAZORPAY_SECRET),
            RAZORPAY_SECRET,
        ),
        call(
            f"razorpay_webhook_signature ({len(WEBHOOK_BODY)} B)",
            s,
            "signing.razorpay_webhook_signature",
            WEBHOOK_BODY,
            "sandbox_webhook_secret",
        ),
        call(
            "verify_razorpay_webhook_signature",
            s,
            "signing.verify_razorpay_webhook_signature",
            WEBHOOK_BODY,
            stdlib.razorpay_webhook_signature(WEBHOOK_BODY, "sandbox_webhook_secret"),
            "sandbox_webhook_secret",
        ),
        call("engine_signature_header", s, "signing.engine_signature_header", "whsec_5f2b0c", 1700000000, WEBHOOK_BODY),
        call("payu_reverse_hash", s, "signing.payu_reverse_hash", PAYU_POSTED, PAYU_SALT),
        call(
            "payu_command_hash",
            s,
            "signing.payu_command_hash",
            "sandboxkey",
            "verify_payment",
            "txn_8f14e45fceea167a",
            PAYU_SALT,
        ),
        call(
            "paytm_verify_checksum (form dict)",
            s,
            "signing.paytm_verify_checksum",
            PAYTM_FORM,
            PAYTM_KEY,
            stdlib.paytm_generate_checksum(PAYTM_FORM, PAYTM_KEY, "AbC1"),
        ),
        call("hmac_sha256_hex", s, "signing.hmac_sha256_hex", RAZORPAY_SECRET, b"order_IluGWxBm9U8zJ8|pay_Ilu"),
        call("hmac_sha512_hex", s, "signing.hmac_sha512_hex", RAZORPAY_SECRET, b"order_IluGWxBm9U8zJ8|pay_Ilu"),
        call("sha256_hex", s, "signing.sha256_hex", "TESTMID0001|ORD_1001|AbC1"),
        call("sha512_hex", s, "signing.sha512_hex", "sandboxkey|verify_payment|txn_8f14e45fceea167a|sandboxsalt"),
        call("constant_time_equal (64 hex)", s, "signing.constant_time_equal", "ab" * 32, "ab" * 32),
        hot_path(
            "Razorpay signature",
            "sign(order_id, payment_id, secret)",
            "signing.razorpay_payment_signature",
            stdlib.razorpay_payment_signature,
            order_id=ORDER_ID,
            payment_id=PAYMENT_ID,
            secret=RAZORPAY_SECRET,
        ),
        hot_path(
            "PayU request hash",
            "sign(params, salt)",
            "signing.payu_request_hash",
            stdlib.payu_request_hash,
            params=PAYU_PARAMS,
            salt=PAYU_SALT,
        ),
        hot_path(
            "Paytm checksum",
            "sign(body, key)",
            "signing.paytm_generate_checksum",
            stdlib.paytm_generate_checksum,
            body=PAYTM_BODY,
            key=PAYTM_KEY,
        ),
    ]
