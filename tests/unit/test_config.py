"""Settings from the environment: defaults, one clear error per bad variable, secrets never echoed."""

from __future__ import annotations

import base64

import pytest

from engine.config import VARIABLES, ConfigError, Settings, data_path, load_settings

# One invalid value per variable. ENGINE_DATA_DIR and ENGINE_HOST are free text: any value is a
# path or a host name, so they have none (listed so a new variable cannot be forgotten here).
BAD_VALUES: dict[str, str | None] = {
    "DATABASE_URL": "mysql://root@localhost/engine",
    "REDIS_URL": "http://localhost:6379",
    "ENGINE_DATA_DIR": None,
    "ENGINE_HOST": None,
    "ENGINE_PORT": "eighty",
    "ENGINE_WORKERS": "0",
    "ENGINE_PUBLIC_URL": "ftp://example.com",
    "ENGINE_ADMIN_TOKEN": "short",
    "ENGINE_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"only sixteen byt").decode(),
    "ENGINE_SANDBOX": "maybe",
    "SANDBOX_URL": "127.0.0.1:8001",
    "GATEWAY_CONNECT_TIMEOUT_S": "-1",
    "GATEWAY_READ_TIMEOUT_S": "soon",
    "DB_POOL_MIN": "-2",
    "DB_POOL_MAX": "many",
    "MAX_BODY_BYTES": "0",
    "IDEMPOTENCY_TTL_HOURS": "12",
    "IDEMPOTENCY_LOCK_TIMEOUT_S": "0",
    "SHUTDOWN_GRACE_S": "never",
    "SHUTDOWN_DRAIN_S": "-1",
    "MAX_INFLIGHT": "-5",
    "ENGINE_HOT_ROUTES": "maybe",
    "RATE_LIMIT_PER_S": "fast",
    "RATE_LIMIT_BURST": "1.5",
    "GATEWAY_MAX_CONCURRENCY": "-1",
    "DB_ACQUIRE_TIMEOUT_S": "0",
    "API_KEY_CACHE_TTL_S": "1.5",
    "RECONCILE_INTERVAL_S": "-1",
    "BREAKER_THRESHOLD": "0",
    "BREAKER_WINDOW_S": "a minute",
    "BREAKER_COOLDOWN_S": "-30",
    "WEBHOOK_RETRY_SCHEDULE": "0,soon",
    "WEBHOOK_TIMEOUT_S": "0",
    "WEBHOOK_DISABLE_AFTER_S": "-1",
    "WEBHOOK_POLL_S": "never",
    "WEBHOOK_ALLOW_PRIVATE": "perhaps",
    "LOG_LEVEL": "VERBOSE",
    "ENGINE_ENCRYPTION_KEYS": base64.urlsafe_b64encode(bytes(32)).decode() + ",c2hvcnQ",
}


def test_every_variable_is_covered() -> None:
    assert set(BAD_VALUES) == {var.name for var in VARIABLES}


@pytest.mark.parametrize("name", [n for n, v in BAD_VALUES.items() if v is not None])
def test_bad_value_names_the_variable(name: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: BAD_VALUES[name]})  # type: ignore[dict-item]
    message = str(info.value)
    assert message.startswith(name)
    assert "\n" not in message


def test_defaults_match_the_settings_struct() -> None:
    loaded = load_settings({})
    assert loaded == Settings()
    for var in VARIABLES:
        assert getattr(loaded, var.field) == var.parse(var.default or ""), var.name


def test_defaults_values() -> None:
    settings = load_settings({})
    assert settings.database_url == "" and settings.redis_url == ""
    assert settings.data_dir == ".data"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.sandbox is False
    assert settings.sandbox_url == "http://127.0.0.1:8001"
    assert settings.idempotency_ttl_hours == 24
    assert settings.log_level == "INFO"


def test_good_values_are_parsed() -> None:
    key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "REDIS_URL": "unix:///tmp/redis.sock",
            "ENGINE_PORT": "9000",
            "ENGINE_PUBLIC_URL": "https://pay.example.com/",
            "ENGINE_ENCRYPTION_KEY": key,
            "ENGINE_SANDBOX": "yes",
            "GATEWAY_READ_TIMEOUT_S": "2.5",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.port == 9000
    assert settings.base_url == "https://pay.example.com"
    assert settings.encryption_key == bytes(range(32))
    assert settings.sandbox is True
    assert settings.gateway_read_timeout == 2.5
    assert settings.log_level == "DEBUG"
    assert settings.redis_url == "unix:///tmp/redis.sock"


def test_standard_base64_key_is_accepted() -> None:
    raw = bytes([251] * 32)  # encodes with '+' and '/' in standard base64
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    assert load_settings({"ENGINE_ENCRYPTION_KEY": urlsafe}).encryption_key == raw
    assert "+" in standard or "/" in standard
    assert load_settings({"ENGINE_ENCRYPTION_KEY": standard}).encryption_key == raw


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ENGINE_ADMIN_TOKEN", "s3cr3t-tok"),
        ("ENGINE_ENCRYPTION_KEY", "c3VwZXJzZWNyZXRrZXl2YWx1ZQ"),
        ("ENGINE_ENCRYPTION_KEY", "not base64 at all!!"),
    ],
)
def test_secrets_are_not_echoed(name: str, secret: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({name: secret})
    assert secret not in str(info.value)
    assert name in str(info.value)


def test_repr_hides_secrets() -> None:
    key = base64.urlsafe_b64encode(b"k" * 32).decode()
    settings = load_settings({"ENGINE_ADMIN_TOKEN": "admin-token-0123456789", "ENGINE_ENCRYPTION_KEY": key})
    shown = repr(settings) + str(settings)
    assert "admin-token-0123456789" not in shown
    assert key not in shown and "kkkk" not in shown


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="DB_POOL_MIN"):
        load_settings({"DB_POOL_MIN": "30", "DB_POOL_MAX": "10"})
    with pytest.raises(ConfigError, match="IDEMPOTENCY_TTL_HOURS"):
        load_settings({"IDEMPOTENCY_TTL_HOURS": "23"})
    assert load_settings({"IDEMPOTENCY_TTL_HOURS": "48"}).idempotency_ttl_hours == 48


def test_lock_timeout_outlasts_a_live_request_and_grace_outlasts_a_gateway_call() -> None:
    # A live request makes at most two gateway calls before one that can create a payment ended.
    with pytest.raises(ConfigError, match=r"IDEMPOTENCY_LOCK_TIMEOUT_S.*at least 46"):
        load_settings({"IDEMPOTENCY_LOCK_TIMEOUT_S": "45"})
    fast = {"GATEWAY_CONNECT_TIMEOUT_S": "1", "GATEWAY_READ_TIMEOUT_S": "3", "IDEMPOTENCY_LOCK_TIMEOUT_S": "8"}
    assert load_settings(fast).idempotency_lock_timeout == 8
    assert load_settings({}).idempotency_lock_timeout == 60
    with pytest.raises(ConfigError, match="SHUTDOWN_GRACE_S"):
        load_settings({"SHUTDOWN_GRACE_S": "20"})
    assert load_settings({"SHUTDOWN_GRACE_S": "25"}).shutdown_grace == 25


def test_overrides_win() -> None:
    assert load_settings({"ENGINE_PORT": "9000"}, port=9100).port == 9100


def test_data_path_is_absolute_and_created(tmp_path) -> None:
    target = tmp_path / "nested" / "data"
    path = data_path(Settings(data_dir=str(target)))
    assert path.is_absolute() and path.is_dir()


def test_older_encryption_keys_are_parsed_in_order() -> None:
    first, second = bytes(range(32)), bytes([251] * 32)
    raw = f" {base64.urlsafe_b64encode(first).decode()} ,, {base64.b64encode(second).decode()},"
    assert load_settings({"ENGINE_ENCRYPTION_KEYS": raw}).encryption_keys == (first, second)
    assert load_settings({"ENGINE_ENCRYPTION_KEYS": " "}).encryption_keys == ()


@pytest.mark.parametrize("bad", ["c3VwZXJzZWNyZXRrZXl2YWx1ZQ", "not base64 at all!!"])
def test_bad_older_encryption_key_names_the_variable_and_entry_but_not_the_secret(bad: str) -> None:
    good = base64.urlsafe_b64encode(b"g" * 32).decode()
    with pytest.raises(ConfigError) as info:
        load_settings({"ENGINE_ENCRYPTION_KEYS": f"{good},{bad}"})
    message = str(info.value)
    assert message.startswith("ENGINE_ENCRYPTION_KEYS") and "entry 2" in message
    assert bad not in message and good not in message and "\n" not in message


def test_repr_hides_older_encryption_keys() -> None:
    key = base64.urlsafe_b64encode(b"o" * 32).decode()
    settings = load_settings({"ENGINE_ENCRYPTION_KEYS": key})
    assert key not in repr(settings) + str(settings) and "oooo" not in repr(settings)
