"""Object ids: a type prefix and 24 random base62 characters (~143 bits)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A fresh random id such as ``pay_3fK…``."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def plausible(value: str) -> bool:
    """Whether ``value`` could be one of our ids; anything else is answered 404 without a query."""
    return 1 <= len(value) <= 64 and value.isascii() and value.replace("_", "").isalnum()
