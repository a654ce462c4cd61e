"""Sandbox settings, read from the environment.

| variable | default | meaning |
|---|---|---|
| ``SANDBOX_PUBLIC_URL`` | ``http://127.0.0.1:8001`` | public base URL (redirect pages) |
| ``SANDBOX_WEBHOOK_URL`` | ``http://127.0.0.1:8000/v1/webhooks/{gateway}/{merchant_id}`` | webhook target |
| ``SANDBOX_UPI_DELAY_S`` | ``2.0`` | how long a UPI collect stays pending before it resolves |
| ``SANDBOX_LATENCY_MS`` | ``0`` | latency added to every gateway API response |
| ``SANDBOX_HANG_S`` | ``30`` | how long a ``timeout`` fault hangs before answering |
| ``SANDBOX_WEBHOOK_RETRY_DELAYS_S`` | ``0.5,1,2,4`` | delays between webhook delivery retries |
| ``SANDBOX_WEBHOOK_TIMEOUT_S`` | ``5`` | a webhook not answered within this counts as failed |
| ``SANDBOX_AUTH_EXPIRE_S`` | ``900`` | an undecided OTP / bank / wallet page fails after it (0: never) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/v1/webhooks/{gateway}/{merchant_id}"


class SandboxSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Runtime knobs of the sandbox (all have working defaults)."""

    public_url: str = "http://127.0.0.1:8001"
    webhook_url: str = DEFAULT_WEBHOOK_URL
    upi_delay_s: float = 2.0
    latency_ms: int = 0
    hang_s: float = 30.0
    webhook_retry_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    webhook_timeout_s: float = 5.0
    auth_expire_s: float = 900.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        """Build settings from ``SANDBOX_*`` environment variables (unset ones keep their default)."""
        env = os.environ if environ is None else environ
        default = cls()
        delays = env.get("SANDBOX_WEBHOOK_RETRY_DELAYS_S")
        return cls(
            public_url=env.get("SANDBOX_PUBLIC_URL", default.public_url).rstrip("/"),
            webhook_url=env.get("SANDBOX_WEBHOOK_URL", default.webhook_url),
            upi_delay_s=float(env.get("SANDBOX_UPI_DELAY_S", default.upi_delay_s)),
            latency_ms=int(env.get("SANDBOX_LATENCY_MS", default.latency_ms)),
            hang_s=float(env.get("SANDBOX_HANG_S", default.hang_s)),
            webhook_retry_delays_s=(
                tuple(float(part) for part in delays.split(",") if part.strip())
                if delays is not None
                else default.webhook_retry_delays_s
            ),
            webhook_timeout_s=float(env.get("SANDBOX_WEBHOOK_TIMEOUT_S", default.webhook_timeout_s)),
            auth_expire_s=float(env.get("SANDBOX_AUTH_EXPIRE_S", default.auth_expire_s)),
        )

    def webhook_target(self, gateway: str, merchant_id: str) -> str:
        """The webhook URL for one gateway account (the stand-in for dashboard configuration)."""
        return self.webhook_url.format(gateway=gateway, merchant_id=merchant_id)
