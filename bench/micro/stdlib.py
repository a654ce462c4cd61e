"""The plain standard-library way of doing each kernel's job: the baseline a reviewer would write.

These are deliberately straightforward (regexes, ``hmac.new(...).hexdigest()``, a textbook Luhn,
a fresh AES cipher per call as the gateways' SDKs do) and only as strict as such code usually is:
they answer the same for the benchmark inputs, not for every input (the kernels' contract is the
pure twin, checked by tests/unit/test_fast_equivalence.py, not these).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from engine._pyref.currency import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR

_PAN = re.compile(r"[0-9]{12,19}")
_BRANDS = (
    ("visa", re.compile(r"4")),
    ("mastercard", re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)")),
    ("amex", re.compile(r"3[47]")),
    ("rupay", re.compile(r"60|65|8[12]|508|35[36]")),
    ("diners", re.compile(r"30[0-5]|3[689]")),
    ("discover", re.compile(r"6011|64[4-9]")),
    ("jcb", re.compile(r"35(?:2[89]|[3-8]\d)")),
    ("maestro", re.compile(r"5[06-8]|6")),
)
_VPA = re.compile(r"[a-zA-Z0-9.\-_]{2,256}@[a-zA-Z][a-zA-Z0-9]{1,64}")
_BANK = re.compile(r"[A-Z0-9_]{2,20}")
_IFSC = re.compile(r"[A-Z]{4}0[A-Z0-9]{6}")
_WALLET = re.compile(r"[a-z0-9]{2,32}")
_IV = b"@@@@&&&&####$$$$"


def luhn_valid(number: str) -> bool:
    """Textbook Luhn."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str | None:
    """First regex that matches the prefix (no length arbitration)."""
    for brand, pattern in _BRANDS:
        if pattern.match(number):
            return brand
    return None


def validate_card_number(number: str) -> str:
    if not _PAN.fullmatch(number) or not luhn_valid(number):
        raise ValueError("invalid card number")
    brand = card_brand(number)
    if brand is None:
        raise ValueError("unsupported brand")
    return brand


def validate_expiry(month: int, year: int, today_year: int, today_month: int) -> None:
    if not (1 <= month <= 12 and today_year <= year <= today_year + 20) or (year, month) < (today_year, today_month):
        raise ValueError("invalid expiry")


def validate_cvc(cvc: str, brand: str) -> None:
    if not (cvc.isdigit() and len(cvc) == (4 if brand == "amex" else 3)):
        raise ValueError("invalid cvc")


def validate_card(number: str, month: int, year: int, cvc: str, today_year: int, today_month: int) -> str:
    brand = validate_card_number(number)
    validate_expiry(month, year, today_year, today_month)
    validate_cvc(cvc, brand)
    return brand


def validate_amount(amount: int, currency: str) -> None:
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT_MINOR or currency not in CURRENCY_EXPONENTS:
        raise ValueError("invalid amount")


def validate_vpa(vpa: str) -> str:
    if len(vpa) > 255 or not _VPA.fullmatch(vpa):
        raise ValueError("invalid vpa")
    return vpa.lower()


def validate_bank_code(code: str) -> None:
    if not _BANK.fullmatch(code):
        raise ValueError("invalid bank code")


def validate_ifsc(code: str) -> None:
    if not _IFSC.fullmatch(code):
        raise ValueError("invalid ifsc")


def validate_wallet_provider(name: str) -> None:
    if not _WALLET.fullmatch(name):
        raise ValueError("invalid wallet")


def hmac_sha256_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def hmac_sha512_hex(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha512).hexdigest()


def sha256_hex(data: str) -> str:
    return hashlib.sha256(data.encode()).hexdigest()


def sha512_hex(data: str) -> str:
    return hashlib.sha512(data.encode()).hexdigest()


constant_time_equal = hmac.compare_digest


def razorpay_payment_signature(order_id: str, payment_id: str, secret: str) -> str:
    """What razorpay-python's ``Utility.verify_signature`` computes."""
    return hmac.new(secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def verify_razorpay_payment_signature(order_id: str, payment_id: str, signature: str, secret: str) -> bool:
    return hmac.compare_digest(razorpay_payment_signature(order_id, payment_id, secret), signature)


def razorpay_webhook_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_razorpay_webhook_signature(body: bytes, signature: str, secret: str) -> bool:
    return hmac.compare_digest(razorpay_webhook_signature(body, secret), signature)


def engine_signature_header(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def payu_request_hash(p: dict[str, str], salt: str) -> str:
    """PayU's documented formula, as its SDKs and sample kits write it."""
    text = (f"{p['key']}|{p['txnid']}|{p['amount']}|{p['productinfo']}|{p['firstname']}|{p['email']}|"
            f"{p.get('udf1', '')}|{p.get('udf2', '')}|{p.get('udf3', '')}|{p.get('udf4', '')}|{p.get('udf5', '')}"
            f"||||||{salt}")  # fmt: skip
    return hashlib.sha512(text.encode()).hexdigest()


def payu_reverse_hash(p: dict[str, str], salt: str) -> str:
    text = (f"{salt}|{p['status']}||||||{p.get('udf5', '')}|{p.get('udf4', '')}|{p.get('udf3', '')}|"
            f"{p.get('udf2', '')}|{p.get('udf1', '')}|{p['email']}|{p['firstname']}|{p['productinfo']}|"
            f"{p['amount']}|{p['txnid']}|{p['key']}")  # fmt: skip
    return hashlib.sha512(text.encode()).hexdigest()


def payu_command_hash(key: str, command: str, var1: str, salt: str) -> str:
    return hashlib.sha512(f"{key}|{command}|{var1}|{salt}".encode()).hexdigest()


def _canonical(params: dict[str, str] | str) -> str:
    return params if isinstance(params, str) else "|".join(params[k] for k in sorted(params))


def paytm_generate_checksum(params: dict[str, str] | str, key: str, salt: str | None = None) -> str:
    """PaytmChecksum.py's shape: a new cipher and padder per call (pycryptodome there, cryptography here)."""
    salt = salt or "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(4))
    canonical = _canonical(params)
    plaintext = (hashlib.sha256(f"{canonical}|{salt}".encode()).hexdigest() + salt).encode()
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(_IV)).encryptor()
    sealed = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(sealed).decode()


def paytm_verify_checksum(params: dict[str, str] | str, key: str, checksum: str) -> bool:
    decryptor = Cipher(algorithms.AES(key.encode()), modes.CBC(_IV)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(base64.b64decode(checksum)) + decryptor.finalize()
    plaintext = (unpadder.update(padded) + unpadder.finalize()).decode()
    canonical = _canonical(params)
    expected = hashlib.sha256(f"{canonical}|{plaintext[-4:]}".encode()).hexdigest() + plaintext[-4:]
    return hmac.compare_digest(expected, plaintext)
