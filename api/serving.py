"""The commands that run the engine in the foreground: ``serve`` and ``dev``.

Also the preparation every database-touching subcommand shares (settings, embedded services,
the encryption key, migrations), which :mod:`api.cli`'s administrative commands reuse: it lives
here, below the parser, so the two modules import one way only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import msgspec

from api import lifecycle
from engine.config import Settings, load_settings
from engine.logs import configure_logging, logging_config
from engine.runtime.embedded import encode_key, ensure_encryption_key, ensure_services
from engine.runtime.metrics_dir import metrics_dir
from engine.runtime.processes import ServiceStartError, http_ok, python_module, start_child, stop_child, wait_http

APP = "api.app:app_from_env"
DEMO_CARD = {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
DEMO_BODY = {
    "amount": 49900,
    "currency": "INR",
    "confirm": True,
    "payment_method": {"type": "card", "card": DEMO_CARD},
}


class CliError(Exception):
    """An expected failure: printed as one line, exit status 1."""


def settings_from_env() -> Settings:
    """The settings from the environment, with logging configured at their level."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def prepare(settings: Settings, *, migrate: bool) -> Settings:
    """Resolve services and the key, migrate, and export what worker processes need."""
    settings = ensure_encryption_key(ensure_services(settings))
    if migrate:
        run_migrations(settings, quiet=True)
    os.environ.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ENGINE_ENCRYPTION_KEY=encode_key(settings.encryption_key),
    )
    return settings


def run_migrations(settings: Settings, *, quiet: bool) -> list[str]:
    """Apply pending migrations (saying which unless ``quiet``); a failure is a :class:`CliError`."""
    from engine.store.migrate import MigrationError, migrate

    try:
        applied = asyncio.run(migrate(settings.database_url))
    except MigrationError as exc:
        raise CliError(f"migration failed: {exc}") from None
    except (OSError, ConnectionError) as exc:
        raise CliError(f"cannot reach PostgreSQL: {exc}") from None
    if not quiet:
        print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return applied


def sandbox_address(settings: Settings) -> tuple[str, int]:
    """The host and port of ``SANDBOX_URL``, the scheme's default port when it names none."""
    parts = urlsplit(settings.sandbox_url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def _with_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    changes = {k: v for k in ("host", "port", "workers") if (v := getattr(args, k, None)) is not None}
    settings = msgspec.structs.replace(settings, **changes)
    os.environ.update(ENGINE_HOST=settings.host, ENGINE_PORT=str(settings.port), ENGINE_WORKERS=str(settings.workers))
    return settings


def _uvicorn(settings: Settings) -> int:
    """Run the API in the foreground until SIGINT/SIGTERM; returns the exit status."""
    import uvicorn

    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        # uvloop when installed, and a graceful stop is a clean exit in every worker too.
        "loop": "api.lifecycle:worker_loop",
        "http": "httptools",
        "access_log": False,
        "log_config": logging_config(settings.log_level),
        "server_header": False,
        # Nothing reads the client's address, so uvicorn's X-Forwarded-For layer would only cost
        # a pass over every request's headers.
        "proxy_headers": False,
        "timeout_graceful_shutdown": settings.shutdown_grace,
    }
    if settings.workers > 1:
        # uvicorn.run's own supervision, keeping hold of the workers to report how each ended.
        return lifecycle.supervise_workers(uvicorn.Config(APP, workers=settings.workers, **options))
    uvicorn.run(APP, **options)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API (migrating first unless --no-migrate)."""
    settings = prepare(_with_overrides(settings_from_env(), args), migrate=not args.no_migrate)
    with metrics_dir(settings.workers), lifecycle.exit_zero_after_graceful_stop():
        return _uvicorn(settings)


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything for a local try-out: services, sandbox, a demo merchant, the API."""
    os.environ.setdefault("ENGINE_SANDBOX", "1")
    settings = _with_overrides(settings_from_env(), args)
    generated_token = ""
    if not settings.admin_token:
        generated_token = "adm_" + secrets.token_urlsafe(24)
        os.environ["ENGINE_ADMIN_TOKEN"] = generated_token
        settings = msgspec.structs.replace(settings, admin_token=generated_token)
    settings = prepare(settings, migrate=True)
    sandbox = _start_sandbox(settings)
    stop = threading.Event()
    try:
        from engine.bootstrap import create_merchant

        merchant, api_key, publishable = asyncio.run(create_merchant(settings, "Demo Pharmacy"))
        banner = dev_banner(settings, merchant, api_key, generated_token, publishable)
        threading.Thread(target=_announce, args=(settings, banner, stop), daemon=True).start()
        with lifecycle.exit_zero_after_graceful_stop():
            return _uvicorn(settings)
    finally:
        stop.set()
        stop_child(sandbox)


def _start_sandbox(settings: Settings) -> Any:
    health = f"{settings.sandbox_url}/healthz"
    if http_ok(health):
        print(f"sandbox already answering at {settings.sandbox_url}; using it", file=sys.stderr)
        return None
    host, port = sandbox_address(settings)
    secret = {"ENGINE_ENCRYPTION_KEY", "ENGINE_ENCRYPTION_KEYS", "ENGINE_ADMIN_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in secret}
    env.setdefault("SANDBOX_WEBHOOK_URL", f"{settings.base_url}/v1/webhooks/{{gateway}}/{{merchant_id}}")
    env.setdefault("SANDBOX_PUBLIC_URL", settings.sandbox_url)
    child = start_child(python_module("api.cli", "sandbox", "--host", host, "--port", str(port)), env)
    try:
        wait_http(health, 30, child, name="sandbox")
    except ServiceStartError:
        stop_child(child)
        raise
    return child


def _announce(settings: Settings, banner: str, stop: threading.Event) -> None:
    url = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"  # noqa: S104
    while not stop.wait(0.2):
        if http_ok(f"{url}/healthz"):
            print(banner, flush=True)
            return


def dev_banner(
    settings: Settings, merchant: dict[str, Any], api_key: str, admin_token: str, publishable_key: str = ""
) -> str:
    """What ``dev`` prints once the engine answers: the key, a token, a curl line to pay."""
    base = settings.base_url
    body = json.dumps(DEMO_BODY, separators=(",", ":"))
    lines = [
        "",
        f"Payment engine  {base}   (API docs: {base}/schema)",
        f"Gateway sandbox {settings.sandbox_url}",
        f"Demo merchant   {merchant.get('id')}  (Demo Pharmacy)",
        f"Secret key      {api_key}",
    ]
    if publishable_key:
        lines.append(f'Publishable key {publishable_key}   (browser side: README "Checkout")')
    if admin_token:
        lines.append(f"Admin token     {admin_token}   (generated; set ENGINE_ADMIN_TOKEN to choose one)")
    lines += [
        "",
        "Create and confirm a payment of INR 499.00 with a test card:",
        "",
        f"curl -sS {base}/v1/payments -H 'Authorization: Bearer {api_key}' "
        "-H 'Content-Type: application/json' -H \"Idempotency-Key: demo-$(date +%s%N)\" "
        f"-d '{body}'",
        "",
        "Or pay in the browser: create a payment with a return_url (no confirm), then open",
        f"{base}/checkout/<id>?client_secret=<client_secret from the answer>",
        "",
        f"Ctrl-C stops the engine, the sandbox and the embedded databases (data stays in {settings.data_dir}).",
        "",
    ]
    return "\n".join(lines)
