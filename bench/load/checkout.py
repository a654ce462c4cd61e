"""The head-to-head checkout: create a payment, confirm it with a card, read it back.

Served by both the engine and the baseline (the same paths, bodies and headers). Every step sends
an ``Idempotency-Key`` (a fresh one per payment) as a merchant integration would. The flow is
recorded as ``FLOW checkout``; its successful completions per second are the checkout throughput.
"""

from __future__ import annotations

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from bench.load.common import (
    CONFIRM_GOOD,
    CREATE_BODY,
    FlowFailed,
    auth_headers,
    expect,
    flow,
    new_key,
    stagger,
    wait_time,
)


def checkout(user: FastHttpUser) -> str:
    """Create, confirm with a good card, read; returns the payment id (raises ``FlowFailed``)."""
    key = new_key()
    with user.client.post(
        "/v1/payments", data=CREATE_BODY, headers=auth_headers(key), name="create", catch_response=True
    ) as response:
        payment_id = expect(response, 201, "create").json()["id"]
    with user.client.post(
        f"/v1/payments/{payment_id}/confirm",
        data=CONFIRM_GOOD,
        headers=auth_headers(key + "-c"),
        name="confirm",
        catch_response=True,
    ) as response:
        expect(response, 200, "confirm")
        if response.json().get("status") != "succeeded":
            response.failure(f"confirm: status {response.json().get('status')}")
            raise FlowFailed("confirm did not succeed")
    with user.client.get(
        f"/v1/payments/{payment_id}", headers=auth_headers(), name="get", catch_response=True
    ) as response:
        expect(response, 200, "get")
    return payment_id


class CheckoutUser(FastHttpUser):
    """One shopper after another, without think time (unless ``BENCH_PACE`` is set)."""

    wait_time = wait_time()
    network_timeout = 90.0
    connection_timeout = 90.0

    def on_start(self) -> None:
        """Spread paced users over one period."""
        stagger(self)

    @task
    def checkout(self) -> None:
        """One complete checkout."""
        with flow(self.environment, self, "checkout"):
            checkout(self)
