"""The engine's checkout mix: what a pharmacy's checkout sends at peak, beyond the head-to-head.

Weighted flows (each recorded as a ``FLOW`` request of its name):

* ``checkout`` (40): create, confirm with a good card, read.
* ``decline_retry`` (10): a declined card (402), then the same payment with a good card (200).
* ``upi`` (10): confirm with ``success@upi`` (``processing``), then poll ``GET`` every 0.5 s
  until the sandbox's signed webhook settles it (``succeeded``), at most 15 s.
* ``refund`` (10): a checkout, then a partial refund.
* ``status`` (20): reads of recent payments.
* ``retry`` (10): create and confirm, each sent twice with the same ``Idempotency-Key``: the
  second answer must be the replay (``Idempotent-Replayed: true``, same status).
"""

from __future__ import annotations

import collections
import random
import time

import gevent
from locust import task
from locust.contrib.fasthttp import FastHttpUser

from bench.load.checkout import checkout
from bench.load.common import (
    CONFIRM_DECLINED,
    CONFIRM_GOOD,
    CREATE_BODY,
    FlowFailed,
    auth_headers,
    encode,
    expect,
    flow,
    new_key,
    stagger,
    wait_time,
)

CONFIRM_UPI = encode({"payment_method": {"type": "upi", "upi": {"vpa": "success@upi"}}})
RECENT: collections.deque[str] = collections.deque(maxlen=1000)
UPI_DEADLINE_S = 15.0


class MixUser(FastHttpUser):
    """A shopper doing one of the weighted flows, back to back."""

    wait_time = wait_time()
    network_timeout = 90.0
    connection_timeout = 90.0

    def on_start(self) -> None:
        """Spread paced users over one period."""
        stagger(self)

    def _create(self, key: str | None = None) -> str:
        with self.client.post(
            "/v1/payments", data=CREATE_BODY, headers=auth_headers(key or new_key()), name="create",
            catch_response=True,
        ) as response:  # fmt: skip
            return str(expect(response, 201, "create").json()["id"])

    def _confirm(
        self, payment_id: str, body: bytes, status: int, key: str | None = None, name: str = "confirm"
    ) -> dict:
        with self.client.post(
            f"/v1/payments/{payment_id}/confirm", data=body, headers=auth_headers(key or new_key()), name=name,
            catch_response=True,
        ) as response:  # fmt: skip
            return dict(expect(response, status, name).json())

    def _get(self, payment_id: str) -> dict:
        with self.client.get(f"/v1/payments/{payment_id}", headers=auth_headers(), name="get",
                             catch_response=True) as response:  # fmt: skip
            return dict(expect(response, 200, "get").json())

    @task(40)
    def checkout(self) -> None:
        """Card success."""
        with flow(self.environment, self, "checkout"):
            RECENT.append(checkout(self))

    @task(10)
    def decline_retry(self) -> None:
        """Decline, then success on the same payment."""
        with flow(self.environment, self, "decline_retry"):
            payment_id = self._create()
            self._confirm(payment_id, CONFIRM_DECLINED, 402, name="confirm_declined")
            if self._confirm(payment_id, CONFIRM_GOOD, 200).get("status") != "succeeded":
                raise FlowFailed("retry after decline did not succeed")

    @task(10)
    def upi(self) -> None:
        """UPI collect, settled by webhook, observed by polling."""
        with flow(self.environment, self, "upi"):
            payment_id = self._create()
            self._confirm(payment_id, CONFIRM_UPI, 200, name="confirm_upi")
            deadline = time.monotonic() + UPI_DEADLINE_S
            while self._get(payment_id).get("status") != "succeeded":
                if time.monotonic() > deadline:
                    raise FlowFailed("UPI payment not settled in time")
                gevent.sleep(0.5)

    @task(10)
    def refund(self) -> None:
        """A checkout, then a partial refund."""
        with flow(self.environment, self, "refund"):
            payment_id = checkout(self)
            with self.client.post(
                "/v1/refunds", data=encode({"payment_id": payment_id, "amount": 10000}),
                headers=auth_headers(new_key()), name="refund", catch_response=True,
            ) as response:  # fmt: skip
                expect(response, 200, "refund")

    @task(20)
    def status(self) -> None:
        """Status reads of recent payments."""
        if not RECENT:
            return
        with flow(self.environment, self, "status"):
            for _ in range(3):
                self._get(random.choice(RECENT))

    @task(10)
    def retry(self) -> None:
        """Client retries with the same key replay the first answer."""
        with flow(self.environment, self, "retry"):
            key = new_key()
            payment_id = self._create(key)
            with self.client.post("/v1/payments", data=CREATE_BODY, headers=auth_headers(key), name="create_replay",
                                  catch_response=True) as response:  # fmt: skip
                expect(response, 201, "create_replay")
                if response.headers.get("Idempotent-Replayed") != "true" or response.json()["id"] != payment_id:
                    response.failure("create was not replayed")
                    raise FlowFailed("create was not replayed")
            first = self._confirm(payment_id, CONFIRM_GOOD, 200, key=key + "-c")
            again = self._confirm(payment_id, CONFIRM_GOOD, 200, key=key + "-c", name="confirm_replay")
            if again.get("status") != first.get("status"):
                raise FlowFailed("confirm replay differs")
