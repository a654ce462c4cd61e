"""Object ids: a type prefix and 24 random alphanumeric characters (about 142 bits)."""

from __future__ import annotations

import secrets

# token_urlsafe draws from 64 symbols; folding "-" and "_" into letters keeps ids alphanumeric
# (safe in URLs, logs and gateway reference fields) at a cost of well under one bit per id.
_FOLD = str.maketrans({"-": "x", "_": "y"})


def new_id(prefix: str) -> str:
    """A fresh random id such as ``pay_3fK…`` (24 characters after the prefix)."""
    return prefix + "_" + secrets.token_urlsafe(18).translate(_FOLD)


def plausible(value: str) -> bool:
    """Whether ``value`` could be one of our ids; anything else is answered 404 without a query."""
    return 1 <= len(value) <= 64 and value.isascii() and value.replace("_", "").isalnum()
