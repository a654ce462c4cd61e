"""Juspay pre-authorization (manual capture) for card transactions: AUTHORIZED, capture, void.

Following Juspay's pre-auth docs ("PREAUTH - CAPTURE - VOID", Capture API, Void API):

* An order created with ``metadata.txns.auto_capture=false`` (form dot key, or nested JSON) asks for a
  pre-authorization; a ``POST /txns`` field ``auto_capture`` (``true`` / ``false``) overrides it for
  that transaction. Pre-auth applies to cards (Juspay's "Pre-auth and Capture Card Transaction"); other
  methods are charged as usual.
* A successful card authorization -- at once, or after the 3-D Secure page is approved -- leaves the
  order ``AUTHORIZED`` (status_id 25) instead of ``CHARGED``; the return URL says so. Juspay documents
  no webhook event for an authorization, so none is sent.
* ``POST /v2/txns/{txn_uuid}/capture`` (Basic auth): ``AUTHORIZED`` -> ``CHARGED`` and an
  ``ORDER_SUCCEEDED`` webhook. ``amount`` is optional and defaults to the authorized amount; one
  above it is refused ("up to the amount pre-authorized"). A smaller one is a partial capture, which
  Juspay documents (through its CYBERSOURCE gateway, which the sandbox plays) with an
  ``idempotence_key`` (required here): the order becomes ``PARTIAL_CHARGED``, the rest of the hold is
  released, the order shows ``amount_captured`` (an assumed field name), refunds are bounded by it,
  and the same request again (same key) answers the order without capturing twice.
* ``POST /v2/txns/{txn_uuid}/void``: ``AUTHORIZED`` -> ``VOIDED`` (status_id 31), no webhook (none is
  documented for a void).
* Both answer the order object (as Order Status). In any other state they answer 400
  ``{"status": "Bad Request", "error_code": "Invalid", "error_message": "Cannot Capture CHARGED
  Transaction", "error_info": {...}}`` (:func:`sandbox.juspay.wire.invalid_state`); an unknown
  ``txn_uuid`` is 404 ``object_not_found``. Capture and void always succeed at the simulated gateway:
  ``CAPTURE_INITIATED`` / ``CAPTURE_FAILED`` / ``VOID_*`` are known statuses but never produced.
* Ledger (:mod:`sandbox.ledger`): a capture records a ``capture``, a void a ``void`` (``reference`` the
  ``order_id``, ``gateway_id`` the ``txn_uuid``); a refused capture or void records nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.juspay import wire as w
from sandbox.juspay.store import Order, Txn

if TYPE_CHECKING:
    from sandbox.juspay.service import JuspayService

ORDER_FLAG = "txns.auto_capture"  # key in Order.metadata (posted as ``metadata.txns.auto_capture``)


def auto_capture(order: Order, txn: Txn, data: dict[str, str]) -> bool:
    """Whether a transaction captures at once: ``False`` only for a card asking for pre-auth."""
    if txn.method_type != "CARD":
        return True
    flag = data.get("auto_capture") or order.metadata.get(ORDER_FLAG, "true")
    return flag.strip().lower() != "false"


def success_status(txn: Txn) -> str:
    """The order status after an approved payment: ``CHARGED``, or ``AUTHORIZED`` for a pre-auth."""
    return "CHARGED" if txn.auto_capture else "AUTHORIZED"


def _locate(juspay: JuspayService, txn_uuid: str) -> tuple[Order, Txn, str]:
    found = juspay.store.txn(txn_uuid)
    if found is None:
        raise w.not_found("Transaction")
    order, txn = found
    if order.txn is txn:
        return order, txn, order.status
    # An earlier transaction of the order: a new one is only allowed after a failure.
    return order, txn, "AUTHORIZATION_FAILED" if txn.bank_error_code else "AUTHENTICATION_FAILED"


def capture(juspay: JuspayService, txn_uuid: str, data: dict[str, str]) -> dict[str, Any]:
    """``POST /v2/txns/{txn_uuid}/capture``: the full authorized amount."""
    order, txn, status = _locate(juspay, txn_uuid)
    key = data.get("idempotence_key", "").strip()
    if key and key == order.capture_key:
        return w.order_wire(order)  # the same partial capture asked again: nothing moves twice
    if status != "AUTHORIZED":
        raise w.invalid_state(f"Cannot Capture {status} Transaction")
    amount = order.amount
    if data.get("amount") not in (None, ""):
        amount = w.amount_of(data["amount"])
        if amount > order.amount:
            raise w.invalid_state("Capture amount cannot be greater than the authorized amount")
        if amount < order.amount and not 1 <= len(key) <= 64:
            raise w.bad_request("idempotence_key is mandatory for a partial capture")
    if amount < order.amount:
        order.status, order.partial_capture, order.capture_key = "PARTIAL_CHARGED", amount, key
    else:
        order.status = "CHARGED"
    juspay.ctx.ledger.record("juspay", "capture", order.order_id, txn.txn_uuid, amount, order.currency)
    juspay.emit([juspay.webhook(order, "ORDER_SUCCEEDED")])
    return w.order_wire(order)


def void(juspay: JuspayService, txn_uuid: str) -> dict[str, Any]:
    """``POST /v2/txns/{txn_uuid}/void``: release the hold."""
    order, txn, status = _locate(juspay, txn_uuid)
    if status != "AUTHORIZED":
        raise w.invalid_state(f"Cannot Void {status} Transaction")
    order.status = "VOIDED"
    juspay.ctx.ledger.record("juspay", "void", order.order_id, txn.txn_uuid, order.amount, order.currency)
    return w.order_wire(order)
