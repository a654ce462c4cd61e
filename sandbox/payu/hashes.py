"""PayU hashes (SHA-512, lowercase hex), written from PayU's hashing documentation.

* Payment request: ``key|txnid|amount|productinfo|firstname|email|udf1|…|udf10|SALT`` (udf6-udf10
  empty in the usual case, i.e. ``…|udf5||||||SALT``), over the values exactly as posted.
* Response (reverse) hash on callbacks and webhooks:
  ``[additionalCharges|]SALT|status||||||udf5|udf4|udf3|udf2|udf1|email|firstname|productinfo|amount|txnid|key``
  (udf10-udf6 in the six-pipe gap, reversed, empty in the usual case).
* Command API: ``key|command|var1|SALT``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

KEY = "sandboxkey"
SALT = "sandboxsalt"
SALTS = {KEY: SALT}
UDFS = tuple(f"udf{i}" for i in range(1, 11))


def sha512(text: str) -> str:
    """Lowercase hex SHA-512 of ``text`` (UTF-8)."""
    return hashlib.sha512(text.encode()).hexdigest()


def request_hash(fields: Mapping[str, str], salt: str) -> str:
    """The hash a merchant must post with ``_payment``."""
    head = [fields.get(name, "") for name in ("key", "txnid", "amount", "productinfo", "firstname", "email")]
    return sha512("|".join([*head, *(fields.get(u, "") for u in UDFS), salt]))


def reverse_hash(fields: Mapping[str, str], salt: str) -> str:
    """The ``hash`` PayU puts on a response (``additionalCharges`` prefixed when present)."""
    tail = [fields.get(name, "") for name in ("email", "firstname", "productinfo", "amount", "txnid", "key")]
    parts = [salt, fields.get("status", ""), *(fields.get(u, "") for u in reversed(UDFS)), *tail]
    charges = fields.get("additionalCharges")
    return sha512("|".join([charges, *parts] if charges else parts))


def command_hash(key: str, command: str, var1: str, salt: str) -> str:
    """The hash of a ``postservice`` command."""
    return sha512(f"{key}|{command}|{var1}|{salt}")


def matches(expected: str, given: str | None) -> bool:
    """Constant-time, case-insensitive comparison of hex digests."""
    return given is not None and hmac.compare_digest(expected, given.strip().lower())
