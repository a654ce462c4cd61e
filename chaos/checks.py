"""The invariants of a chaos run, checked against the sandbox's own ledger.

Pure functions over a :class:`Snapshot` (what the clients were told, the engine's rows, the
gateway's ledger, the leak scan's findings); each returns the violations it found, as short
human-readable lines. A ledger entry belongs to a payment when its ``reference`` (the merchant
reference the gateway was given: attempt id, order id, refund id) or its ``gateway_id`` is one the
engine recorded for that payment on that gateway.

Checks (each violated when):

* ``lost``: a payment or refund a client got a 2xx for is missing; a payment a client saw succeed
  is not succeeded; the gateway moved money the engine has no record of.
* ``double``: more than one charge or capture at the gateway for one payment; more than one
  gateway refund for one engine refund, or more refunded than captured.
* ``mismatch``: the engine's captured / refunded amounts differ from the gateway's; a client told
  it failed (402 declined, 502 gateway error) was charged.
* ``idem``: one key answered with two objects or two different decided (2xx/4xx) answers; the
  key's stored object is another; two payments for one order.
* ``stuck``: anything still unresolved after reconciliation (open payments, attempts, refunds, work
  rows); a key a client never got decided.
* ``leaks``: a card number or CVV in the database files, Redis or the logs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chaos.client import Journal

CHECKS = ("lost", "double", "mismatch", "idem", "stuck", "leaks")
OPEN_PAYMENT = frozenset({"processing", "requires_confirmation", "requires_action"})
OPEN_ATTEMPT = frozenset({"pending", "unknown", "processing", "requires_action"})
OPEN_REFUND = frozenset({"pending", "unknown"})

Row = dict[str, Any]


@dataclass
class Snapshot:
    """Everything the checks look at, gathered after the run settled."""

    journal: Journal
    payments: list[Row]  # id, amount, status, amount_received, amount_refunded, merchant_order_id
    attempts: list[Row]  # id, payment_id, gateway, status, gateway_order_id, gateway_reference
    refunds: list[Row]  # id, payment_id, attempt_id, amount, status, gateway_refund_id
    keys: list[Row]  # key, object_id, state
    work: list[Row]  # open work rows: id, kind, payment_id
    ledger: list[Row]  # the sandbox's entries: gateway, kind, reference, gateway_id, amount
    seen: dict[str, Row] = field(default_factory=dict)  # payment id -> the last GET a client saw
    leaks: list[str] = field(default_factory=list)


@dataclass
class LedgerView:
    """The ledger grouped by the engine's payments and refunds."""

    by_payment: dict[str, list[Row]]
    by_refund: dict[str, list[Row]]
    orphans: list[Row]


def group_ledger(snap: Snapshot) -> LedgerView:
    """Attribute each ledger entry to the engine payment (and refund) it is about."""
    attempt_refs: dict[tuple[str, str], str] = {}
    gateway_of: dict[str, str] = {}
    for a in snap.attempts:
        gateway_of[a["id"]] = a["gateway"]
        for ref in (a["id"], a.get("gateway_order_id"), a.get("gateway_reference")):
            if ref:
                attempt_refs[(a["gateway"], ref)] = a["payment_id"]
    refund_refs: dict[tuple[str, str], Row] = {}
    for r in snap.refunds:
        gateway = gateway_of.get(r["attempt_id"], "")
        for ref in (r["id"], r.get("gateway_refund_id")):
            if ref:
                refund_refs[(gateway, ref)] = r
    view = LedgerView(defaultdict(list), defaultdict(list), [])
    for entry in snap.ledger:
        refs = [(entry["gateway"], entry.get("reference") or ""), (entry["gateway"], entry["gateway_id"])]
        if entry["kind"] == "refund":
            refund = next((refund_refs[r] for r in refs if r in refund_refs), None)
            if refund is None:
                view.orphans.append(entry)
                continue
            view.by_refund[refund["id"]].append(entry)
            view.by_payment[refund["payment_id"]].append(entry)
            continue
        payment_id = next((attempt_refs[r] for r in refs if r in attempt_refs), None)
        if payment_id is None:
            view.orphans.append(entry)
        else:
            view.by_payment[payment_id].append(entry)
    return view


def _told_ok(journal: Journal, prefix: str) -> dict[str, str]:
    """Key -> object id of every decided 2xx answer to a request on ``prefix``."""
    found: dict[str, str] = {}
    for key in journal.answers:
        for answer in journal.told(key):
            data = answer.json()
            if answer.path == prefix and 200 <= answer.status < 300 and isinstance(data, dict) and "id" in data:
                found.setdefault(key, data["id"])
    return found


def check_lost(snap: Snapshot, view: LedgerView) -> list[str]:
    """Nothing a client was told about is missing; no money at the gateway unknown to the engine."""
    out: list[str] = []
    payments = {p["id"]: p for p in snap.payments}
    refunds = {r["id"] for r in snap.refunds}
    for key, payment_id in _told_ok(snap.journal, "/v1/payments").items():
        if payment_id not in payments:
            out.append(f"payment {payment_id} (key {key}) was answered 2xx but is missing")
    for key, refund_id in _told_ok(snap.journal, "/v1/refunds").items():
        if refund_id not in refunds:
            out.append(f"refund {refund_id} (key {key}) was answered 2xx but is missing")
    told_succeeded = {
        data["id"]: data
        for key in snap.journal.answers
        for a in snap.journal.told(key)
        if a.path == "/v1/payments" and a.status < 300 and isinstance(data := a.json(), dict) and "id" in data
    }
    for payment_id, seen in {**told_succeeded, **snap.seen}.items():
        now = payments.get(payment_id)
        if seen.get("status") == "succeeded" and (now is None or now["status"] != "succeeded"):
            out.append(f"payment {payment_id} was seen succeeded, is now {now and now['status']}")
    for entry in view.orphans:
        if entry["kind"] in ("charge", "capture", "refund"):
            what = f"{entry['gateway']} {entry['kind']} {entry['gateway_id']} ({entry['amount']})"
            out.append(f"{what} has no engine record")
    return out


def check_double(snap: Snapshot, view: LedgerView) -> list[str]:
    """At most one charge and one capture per payment, one gateway refund per engine refund."""
    out: list[str] = []
    for payment_id, entries in view.by_payment.items():
        for kind in ("charge", "capture"):
            n = sum(1 for e in entries if e["kind"] == kind)
            if n > 1:
                out.append(f"payment {payment_id}: {n} {kind}s at the gateway")
        captured = sum(e["amount"] for e in entries if e["kind"] == "capture")
        refunded = sum(e["amount"] for e in entries if e["kind"] == "refund")
        if refunded > captured:
            out.append(f"payment {payment_id}: {refunded} refunded at the gateway of {captured} captured")
    for refund_id, entries in view.by_refund.items():
        if len(entries) > 1:
            out.append(f"refund {refund_id}: {len(entries)} refunds at the gateway")
    return out


def check_mismatch(snap: Snapshot, view: LedgerView) -> list[str]:
    """The engine's captured and refunded amounts equal the gateway's, payment by payment."""
    out: list[str] = []
    for p in snap.payments:
        entries = view.by_payment.get(p["id"], [])
        captured = sum(e["amount"] for e in entries if e["kind"] == "capture")
        refunded = sum(e["amount"] for e in entries if e["kind"] == "refund")
        if captured != p["amount_received"]:
            out.append(f"payment {p['id']}: engine captured {p['amount_received']}, gateway {captured}")
        if refunded != p["amount_refunded"]:
            out.append(f"payment {p['id']}: engine refunded {p['amount_refunded']}, gateway {refunded}")
    charged = {pid for pid, entries in view.by_payment.items() if any(e["kind"] == "charge" for e in entries)}
    for key in snap.journal.answers:
        for answer in snap.journal.told(key):
            data = answer.json() or {}
            error = data.get("error") if isinstance(data, dict) else None
            told_failed = answer.status in (402, 502) and answer.path == "/v1/payments"
            if told_failed and isinstance(error, dict) and error.get("payment_id") in charged:
                what = f"told {answer.status} {error.get('code')}"
                out.append(f"key {key}: {what}, but the gateway charged payment {error['payment_id']}")
    return out


def check_idem(snap: Snapshot) -> list[str]:
    """Each key: one object, one decided answer; the stored key names that object; one payment per order."""
    out: list[str] = []
    for key in snap.journal.answers:
        objects = snap.journal.objects(key)
        if len(objects) > 1:
            out.append(f"key {key} answered with {len(objects)} objects: {sorted(objects)}")
        # 5xx answers are not stored (the key is released), so only 2xx/4xx must replay byte for byte.
        decided = {(a.status, a.body) for a in snap.journal.told(key) if a.status < 500}
        if len(decided) > 1:
            out.append(f"key {key} got {len(decided)} different decided answers: {sorted(s for s, _ in decided)}")
    stored = {k["key"]: k.get("object_id") for k in snap.keys}
    for key in snap.journal.answers:
        objects = snap.journal.objects(key)
        if len(objects) == 1 and key in stored and stored[key] not in (None, *objects):
            out.append(f"key {key}: told {objects.pop()}, stored {stored[key]}")
    per_order: dict[str, int] = defaultdict(int)
    for p in snap.payments:
        if p.get("merchant_order_id"):
            per_order[p["merchant_order_id"]] += 1
    out += [f"order {order}: {n} payments" for order, n in per_order.items() if n > 1]
    return out


def check_stuck(snap: Snapshot) -> list[str]:
    """Nothing unresolved once reconciliation ran."""
    out = [f"payment {p['id']} still {p['status']}" for p in snap.payments if p["status"] in OPEN_PAYMENT]
    out += [f"attempt {a['id']} still {a['status']}" for a in snap.attempts if a["status"] in OPEN_ATTEMPT]
    out += [f"refund {r['id']} still {r['status']}" for r in snap.refunds if r["status"] in OPEN_REFUND]
    out += [f"work row {w['id']} ({w['kind']}) still pending" for w in snap.work]
    out += [f"key {key} never got a decided answer" for key in snap.journal.gave_up]
    return out


def run_checks(snap: Snapshot) -> dict[str, list[str]]:
    """Every check's violations, by check name (see :data:`CHECKS`)."""
    view = group_ledger(snap)
    return {
        "lost": check_lost(snap, view),
        "double": check_double(snap, view),
        "mismatch": check_mismatch(snap, view),
        "idem": check_idem(snap),
        "stuck": check_stuck(snap),
        "leaks": list(snap.leaks),
    }


__all__ = ["CHECKS", "LedgerView", "Snapshot", "group_ledger", "run_checks"]
