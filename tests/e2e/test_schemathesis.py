"""Schemathesis against the live ``/schema/openapi.json``: every documented operation gets
Schemathesis's coverage phase (boundary values, missing and mistyped fields, unexpected methods)
and Hypothesis fuzzing with schema-valid (positive) and schema-invalid (negative) requests, and
every answer must be documented (status, content type, body schema), never a 5xx of ours, and a
refusal for every schema-invalid request.

Nothing documented is left out: the merchant API runs with a merchant's ``sk_test_`` key, the
admin API with the admin token, and the inbound webhooks and browser callbacks unauthenticated
(their auth is the gateway's signature, which fuzzing cannot forge, so every such request must be
refused with a documented status). ``/healthz``, ``/readyz``, ``/metrics`` and ``/schema`` are not
in the document (operations endpoints, ``include_in_schema=False``), so they are not fuzzed.

The engine and the sandbox run in the test's event loop (the session ``stack`` fixture, like
every other e2e test); Schemathesis's client is synchronous, so the requests go out from a worker
thread while the loop keeps serving. Hypothesis is derandomized (fixed seed, no example
database) and bounded per operation, so a run is reproducible and takes well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.e2e.test_gateways_e2e import card
from tests.support.stack import ADMIN_TOKEN

pytestmark = pytest.mark.e2e


def not_a_server_error_of_ours(ctx: Any, response: Any, case: Any) -> bool | None:
    """``not_a_server_error``, except a 502/503 ``gateway_error``: the contract's answer when the
    gateway failed or is unavailable (the sandbox's 4000000000000119 card does that on purpose).
    Whether the operation documents that status is ``status_code_conformance``'s business."""
    if response.status_code in (502, 503):
        try:
            error = json.loads(response.content)["error"]
        except (ValueError, KeyError, TypeError):
            error = {}
        if error.get("type") == "gateway_error":
            return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    not_a_server_error_of_ours,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # schema-invalid input is refused (4xx), never half-accepted
    unsupported_method,  # an undocumented method is a 405 with an Allow header
]
MAX_EXAMPLES = 25  # per operation and generation mode
# Real ids are mixed into the generated path parameters, so item operations reach real objects
# in every state (and not only the 404 of a random id).
ID_PARAMETERS = ("payment_id", "refund_id", "customer_id", "merchant_id")
# Operations fuzzed without the merchant's key: the admin API takes the admin token; inbound
# webhooks and browser callbacks take no key (the gateway's signature is their auth, so fuzzed
# requests must all be refused, with a documented status and never a 5xx).
ADMIN = "/v1/admin/"
UNAUTHENTICATED = ("/v1/webhooks/", "/v1/callbacks/")


@dataclass
class Outcome:
    """What the fuzzing of one operation saw."""

    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failure: str | None = None
    unsatisfiable: bool = False

    def count(self, response: Any) -> None:
        self.calls += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def __str__(self) -> str:
        if self.unsatisfiable:
            return "nothing to negate"
        return f"{self.calls} calls {dict(sorted(self.statuses.items()))}"


async def seed_objects(merchant) -> dict[str, list[str]]:
    """Objects of the merchant in various states, for the id parameters."""
    http = merchant.http
    ids: dict[str, list[str]] = {name: [] for name in ID_PARAMETERS}
    ids["merchant_id"].append(merchant.id)

    async def payment(**body: Any) -> dict:
        response = await http.post("/v1/payments", json={"amount": 5000, "currency": "INR", **body})
        assert response.status_code in (201, 402), response.text
        return response.json()

    # several of each state that fuzzing uses up (confirm, capture, cancel, refund)
    for _ in range(3):
        ids["payment_id"].append((await payment())["id"])
        ids["payment_id"].append((await payment(capture_method="manual"))["id"])
        authorized = await payment(confirm=True, capture_method="manual", payment_method=card("4111111111111111"))
        ids["payment_id"].append(authorized["id"])
    succeeded = await payment(confirm=True, payment_method=card("4111111111111111"))
    declined = (await payment(confirm=True, payment_method=card("4000000000000002")))["error"]["payment_id"]
    ids["payment_id"] += [succeeded["id"], declined]
    refund = await http.post("/v1/refunds", json={"payment_id": succeeded["id"], "amount": 100})
    assert refund.status_code == 200, refund.text
    ids["refund_id"].append(refund.json()["id"])
    customer = await http.post("/v1/customers", json={"name": "Fuzz", "email": "fuzz@example.com"})
    assert customer.status_code == 201, customer.text
    ids["customer_id"].append(customer.json()["id"])
    return ids


def strategy(operation: Any, mode: GenerationMode, ids: dict[str, list[str]]) -> st.SearchStrategy:
    """Generated cases, half of them with real ids in the path; half of the positive ones also
    carry plausible values (below)."""
    generated = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters if p.name in ID_PARAMETERS and ids.get(p.name)]
    if names:
        real = st.fixed_dictionaries({name: st.sampled_from(ids[name]) for name in names})
        generated = st.one_of(
            generated,
            real.flatmap(lambda fixed: operation.as_strategy(generation_mode=mode, path_parameters=fixed)),
        )
    if mode is GenerationMode.NEGATIVE:
        return generated
    return st.one_of(generated, plausible(generated, ids))


# The sandbox's test instruments: success, declines, a 3-D Secure redirect, a gateway error, and a
# charge whose connection drops (README); the engine must document every answer they lead to.
TEST_CARDS = ("4111111111111111", "5555555555554444", "4000000000000002", "4000000000009995",
              "4000000000003220", "4000000000000119", "4000000000000259")  # fmt: skip
_EXP_YEAR = datetime.now(UTC).year + 3
METHODS = {
    "card": st.sampled_from(TEST_CARDS).map(
        lambda n: {"number": n, "exp_month": 12, "exp_year": _EXP_YEAR, "cvc": "123"}
    ),
    "upi": st.sampled_from(("success@upi", "failure@upi")).map(lambda vpa: {"vpa": vpa}),
    "netbanking": st.sampled_from(("HDFC", "SBIN")).map(lambda code: {"bank_code": code}),
    "wallet": st.sampled_from(("paytm", "phonepe")).map(lambda name: {"provider": name}),
}


@st.composite
def plausible(draw: Callable, cases: st.SearchStrategy, ids: dict[str, list[str]]) -> Any:
    """A schema-valid case whose semantic fields a random generator almost never gets right (a
    Luhn-valid card, a VPA, ids of real objects, a currency the gateways take) set to plausible
    values, so fuzzing reaches the gateways and the state machine, not only the validators."""
    case = draw(cases)
    body = case.body if isinstance(case.body, dict) else None
    if body is not None:
        if "payment_id" in body:
            body["payment_id"] = draw(st.sampled_from(ids["payment_id"]))
        if body.get("customer_id") is not None:
            body["customer_id"] = draw(st.sampled_from(ids["customer_id"]))
        if "currency" in body:
            body["currency"] = "INR"
            # a payment method only goes with confirm: true (card data is never stored for later)
            body["confirm"] = body.get("payment_method") is not None
        if isinstance(body.get("amount"), int | float):  # JSON Schema's integer includes 1.0
            body["amount"] = draw(st.integers(1, 6000))  # the seeded payments are of 5000
        method = body.get("payment_method")
        if isinstance(method, dict) and method.get("type") in METHODS:
            method[method["type"]] = draw(METHODS[method["type"]])
    if case.query and "starting_after" in case.query:
        case.query["starting_after"] = draw(st.sampled_from(ids["payment_id"]))
    return case


def fuzz(operation: Any, mode: GenerationMode, ids: dict[str, list[str]], call: Callable[[Any], Any]) -> Outcome:
    """Hypothesis over one operation in one mode (the fuzzing phase); the first failure is kept."""
    outcome = Outcome()

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure's curl line is enough
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy(operation, mode, ids))
    def run(case: Any) -> None:
        outcome.count(call(case))

    try:
        run()
    except Unsatisfiable:
        # Negative mode of an operation whose every input is a free-form string (a path id and
        # no body): there is no schema-invalid request to make.
        if mode is not GenerationMode.NEGATIVE:
            raise
        outcome.unsatisfiable = True
    except (Exception, BaseExceptionGroup) as exc:  # FailureGroup (check failures) is a BaseExceptionGroup
        outcome.failure = f"{type(exc).__name__}: {exc}"
    return outcome


def cover(schema: Any, operation: Any, call: Callable[[Any], Any]) -> Outcome:
    """Schemathesis's coverage phase: deterministic boundary values, missing and mistyped fields,
    unexpected methods, for both modes. Every case runs; the first few failures are kept."""
    outcome = Outcome()
    failures: list[str] = []
    config = schema.config.generation_for(operation=operation, phase="coverage")
    for case in schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode), generation_config=config):
        try:
            outcome.count(call(case))
        except (Exception, BaseExceptionGroup) as exc:
            outcome.calls += 1
            if len(failures) < 3:
                failures.append(f"{type(exc).__name__}: {exc}")
    outcome.failure = "\n".join(failures) or None
    return outcome


async def test_every_operation_conforms_to_the_live_schema(stack, merchant):
    async with stack.client() as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    raw = response.json()
    ids = await seed_objects(merchant)

    schema = schemathesis.openapi.from_dict(raw)
    # Cancel last: it ends the seeded payments that confirm, capture and refund want open.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()), key=lambda op: op.path.endswith("/cancel")
    )
    documented = {(m.upper(), p) for p, ops in raw["paths"].items() for m in ops}
    assert {(op.method.upper(), op.path) for op in operations} == documented

    def headers_for(path: str) -> dict[str, str]:
        if path.startswith(ADMIN):
            return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if path.startswith(UNAUTHENTICATED):
            return {}
        return {"Authorization": f"Bearer {merchant.api_key}"}

    def run_all() -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        with requests.Session() as session:
            for operation in operations:
                headers = headers_for(operation.path)

                def call(case: Any, headers: dict[str, str] = headers) -> Any:
                    return case.call_and_validate(
                        base_url=stack.api_url, session=session, headers=headers, checks=CHECKS, timeout=30
                    )

                outcomes[f"{operation.label} [coverage]"] = cover(schema, operation, call)
                for mode in GenerationMode:
                    outcomes[f"{operation.label} [{mode.value}]"] = fuzz(operation, mode, ids, call)
        return outcomes

    started = time.monotonic()
    outcomes = await asyncio.to_thread(run_all)
    elapsed = time.monotonic() - started
    summary = "\n".join(f"{label}: {outcome}" for label, outcome in outcomes.items())
    print(f"\nschemathesis: {sum(o.calls for o in outcomes.values())} calls in {elapsed:.1f}s\n{summary}")
    failures = {label: o.failure for label, o in outcomes.items() if o.failure}
    assert not failures, "\n\n".join(f"== {label}\n{failure}" for label, failure in failures.items())
    # Fuzzing that never got past the gate would prove nothing: every operation was exercised.
    assert all(o.calls > 0 for o in outcomes.values() if not o.unsatisfiable), summary
