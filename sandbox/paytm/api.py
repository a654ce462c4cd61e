"""Paytm API plumbing shared by the payment and refund services: answers, errors, request envelopes.

Every request is ``{"head", "body"}``; server-to-server calls are authenticated by ``head.signature``
(PaytmChecksum over the exact ``body`` text, :mod:`sandbox.paytm.checksum`). Failures are raised as
:class:`PaytmError` and answered as a ``resultInfo`` (:func:`fail`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sandbox.instruments import luhn_valid
from sandbox.paytm import checksum
from sandbox.paytm import wire as w


@dataclass(frozen=True)
class Answer:
    """An API answer: HTTP status, the ``body`` to sign, and whether to drop the connection."""

    body: dict[str, Any]
    status: int = 200
    drop: bool = False


def fail(code: tuple[str, str, str], status: int = 200) -> Answer:
    """An answer carrying only a ``resultInfo``."""
    return Answer({"resultInfo": w.result_info(code)}, status)


class PaytmError(Exception):
    """Raised inside the service to answer a ``resultInfo`` failure."""

    def __init__(self, code: tuple[str, str, str]) -> None:
        super().__init__(code[2])
        self.code = code


def envelope(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``head`` and ``body`` of a request (both must be objects)."""
    head, body = data.get("head", {}), data.get("body")
    if not isinstance(head, dict) or not isinstance(body, dict):
        raise PaytmError(w.BAD_PARAMS)
    return head, body


def authenticate(head: dict[str, Any], body: dict[str, Any], text: str) -> str:
    """The MID of a request whose ``head.signature`` signs the exact body text."""
    key = w.KEYS.get(str(body.get("mid")))
    if key is None:
        raise PaytmError(w.BAD_MID)
    if not checksum.verify(text, key, head.get("signature")):
        raise PaytmError(w.BAD_CHECKSUM)
    return str(body["mid"])


def check_query(query: dict[str, str], mid: str, order_id: Any) -> None:
    """The ``mid`` / ``orderId`` query parameters must match the body."""
    if query.get("mid") not in (None, mid):
        raise PaytmError(w.QUERY_MID_MISMATCH)
    if query.get("orderId") not in (None, order_id):
        raise PaytmError(w.QUERY_ORDER_MISMATCH)


def card_details(card_info: Any) -> str:
    """The card number of a valid ``cardInfo`` (``saveCardId|cardNo|cvv|MMYYYY``)."""
    parts = card_info.split("|") if isinstance(card_info, str) else []
    invalid = PaytmError(("F", "1001", "Invalid card details"))
    if len(parts) != 4:
        raise invalid
    _, number, cvv, expiry = parts
    if not luhn_valid(number) or not cvv.isdigit() or len(cvv) not in (3, 4):
        raise invalid
    if len(expiry) != 6 or not expiry.isdigit() or not 1 <= int(expiry[:2]) <= 12:
        raise invalid
    today = time.gmtime()
    if (int(expiry[2:]), int(expiry[:2])) < (today.tm_year, today.tm_mon):
        raise invalid
    return number


__all__ = ["Answer", "PaytmError", "authenticate", "card_details", "check_query", "envelope", "fail"]
