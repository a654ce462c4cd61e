"""Pure create-payment: ``POST /v1/payments`` with a fresh ``Idempotency-Key`` (engine), or
``POST /ceiling`` (the ceiling app: raw ASGI + one durable INSERT) when ``BENCH_FLAVOR=ceiling``.

Each request is also a one-step ``FLOW create``, so both targets report the same row.
"""

from __future__ import annotations

import os

from locust import task
from locust.contrib.fasthttp import FastHttpUser

from bench.load.common import CREATE_BODY, auth_headers, expect, flow, new_key, stagger, wait_time

FLAVOR = os.environ.get("BENCH_FLAVOR", "engine")


class CreateUser(FastHttpUser):
    """Creates payments back to back."""

    wait_time = wait_time()
    network_timeout = 90.0
    connection_timeout = 90.0

    def on_start(self) -> None:
        """Spread paced users over one period."""
        stagger(self)

    @task
    def create(self) -> None:
        """One payment."""
        with flow(self.environment, self, "create"):
            if FLAVOR == "ceiling":
                path, headers, ok = "/ceiling", {"Content-Type": "application/json"}, 201
            else:
                path, headers, ok = "/v1/payments", auth_headers(new_key()), 201
            with self.client.post(path, data=CREATE_BODY, headers=headers, name="create", catch_response=True) as r:
                expect(r, ok, "create")
