"""The baseline's WSGI application (Falcon): routes, API-key auth, idempotency headers.

Configuration comes from the environment:

| variable | meaning |
|---|---|
| ``BASELINE_DATABASE_URL`` (or ``DATABASE_URL``) | PostgreSQL DSN (the engine's migrated schema) |
| ``BASELINE_GATEWAY_URL`` | Razorpay base URL, e.g. ``http://127.0.0.1:8001/razorpay`` |
| ``BASELINE_KEY_ID`` / ``BASELINE_KEY_SECRET`` | Razorpay credentials (default: the sandbox's test account) |
| ``BASELINE_SECRET`` | HMAC key for idempotency fingerprints |
| ``BASELINE_POOL_MAX`` | connections per worker process (default 2; gthread: the thread count) |

``create_app()`` builds the app; gunicorn loads ``bench.baseline.app:application``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from typing import Any

import falcon

from bench.baseline import store as q
from bench.baseline.gateway import Razorpay
from bench.baseline.service import ApiError, Service
from bench.baseline.store import Store

API_KEY_TTL_S = 60.0  # the engine's API_KEY_CACHE_TTL_S default
JSON = "application/json"


class Auth:
    """Bearer API keys, looked up by SHA-256 and cached in the process for ``API_KEY_TTL_S``."""

    def __init__(self, store: Store) -> None:
        """Start with an empty cache."""
        self.store = store
        self.cache: dict[bytes, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def merchant(self, req: falcon.Request) -> str:
        """The merchant owning the request's key; raises a 401 ``ApiError`` otherwise."""
        scheme, _, key = (req.get_header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not key.startswith("sk_test_") or len(key) > 200:
            raise ApiError(401, "authentication_error", "invalid_api_key", "Invalid API key provided.")
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        hit = self.cache.get(digest)
        if hit and hit[1] > now:
            return hit[0]
        with self.store.connection() as conn:
            row = q.one(conn, q.MERCHANT_FOR_KEY, (digest,))
        if row is None:
            raise ApiError(401, "authentication_error", "invalid_api_key", "Invalid API key provided.")
        with self.lock:
            self.cache[digest] = (str(row["merchant_id"]), now + API_KEY_TTL_S)
        return str(row["merchant_id"])


def _body(req: falcon.Request) -> tuple[bytes, Any]:
    raw = req.bounded_stream.read(req.content_length or 0) if req.content_length else b""
    if len(raw) > 65536:
        raise ApiError(413, "invalid_request_error", "body_too_large", "The body is too large.")
    try:
        return raw, json.loads(raw) if raw else {}
    except ValueError:
        raise ApiError(400, "invalid_request_error", "body_invalid", "The body is not valid JSON.") from None


def _key(req: falcon.Request) -> str | None:
    key = req.get_header("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise ApiError(400, "invalid_request_error", "idempotency_key_invalid", "Bad key.", "Idempotency-Key")
    return key


def _answer(resp: falcon.Response, status: int, body: bytes, replayed: bool = False) -> None:
    resp.status = status
    resp.content_type = JSON
    resp.data = body
    if replayed:
        resp.set_header("Idempotent-Replayed", "true")


class Payments:
    """``POST /v1/payments``."""

    def __init__(self, service: Service, auth: Auth) -> None:
        """Keep the service and the authenticator."""
        self.service, self.auth = service, auth

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Create a payment."""
        merchant_id = self.auth.merchant(req)
        raw, data = _body(req)
        _answer(resp, *self.service.create(merchant_id, data, _key(req), raw))


class PaymentItem(Payments):
    """``GET /v1/payments/{id}``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, payment_id: str) -> None:
        """Read a payment."""
        _answer(resp, 200, self.service.get(self.auth.merchant(req), payment_id))


class Confirm(Payments):
    """``POST /v1/payments/{id}/confirm``."""

    def on_post(self, req: falcon.Request, resp: falcon.Response, payment_id: str) -> None:  # type: ignore[override]
        """Charge the payment with a card."""
        merchant_id = self.auth.merchant(req)
        raw, data = _body(req)
        _answer(resp, *self.service.confirm(merchant_id, payment_id, data, _key(req), raw))


class Health:
    """``GET /healthz``."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Liveness."""
        _answer(resp, 200, b'{"status":"ok"}')


def _api_error(req: falcon.Request, resp: falcon.Response, exc: ApiError, params: dict[str, Any]) -> None:
    _answer(resp, exc.status, exc.body())


def create_app(env: dict[str, str] | None = None) -> falcon.App:
    """Build the WSGI app from the environment (see the module docstring)."""
    env = dict(os.environ if env is None else env)
    dsn = env.get("BASELINE_DATABASE_URL") or env.get("DATABASE_URL", "")
    if not dsn:
        raise RuntimeError("BASELINE_DATABASE_URL or DATABASE_URL is required")
    pool_max = int(env.get("BASELINE_POOL_MAX", "2"))
    store = Store(dsn, min_size=1, max_size=pool_max)
    gateway = Razorpay(
        env.get("BASELINE_GATEWAY_URL", "http://127.0.0.1:8001/razorpay"),
        env.get("BASELINE_KEY_ID", "rzp_test_sandbox"),
        env.get("BASELINE_KEY_SECRET", "sandbox_secret"),
    )
    service = Service(store, gateway, env.get("BASELINE_SECRET", "baseline-fingerprint-secret").encode())
    auth = Auth(store)
    app = falcon.App(media_type=JSON)
    app.add_error_handler(ApiError, _api_error)
    app.add_route("/v1/payments", Payments(service, auth))
    app.add_route("/v1/payments/{payment_id}", PaymentItem(service, auth))
    app.add_route("/v1/payments/{payment_id}/confirm", Confirm(service, auth))
    app.add_route("/healthz", Health())
    app.req_options.strip_url_path_trailing_slash = True
    return app


class _Lazy:
    """``application`` for gunicorn: built on first call, i.e. inside each worker process."""

    def __init__(self) -> None:
        self._app: falcon.App | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = create_app()
        return self._app(environ, start_response)


application = _Lazy()
