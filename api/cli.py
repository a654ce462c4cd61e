"""payment-engine: serve, migrate, create merchants, run the sandbox, run everything for dev.

Every subcommand reads the settings first; a bad value prints one line ``error: <message>`` on
stderr and exits with status 2. Expected runtime failures (an embedded service that cannot
start, a failed migration) print one line too and exit with status 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec

from api import lifecycle
from engine.config import VARIABLES, ConfigError, Settings, load_settings
from engine.errors import EngineError
from engine.logs import configure_logging, logging_config
from engine.runtime.embedded import EmbeddedServiceError, encode_key, ensure_encryption_key, ensure_services
from engine.runtime.metrics_dir import metrics_dir
from engine.runtime.processes import (
    ServiceStartError,
    http_ok,
    python_module,
    start_child,
    stop_child,
    wait_http,
)

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


def _settings() -> Settings:
    settings = load_settings()
    configure_logging(settings.log_level)
    return settings


def _prepare(settings: Settings, *, migrate: bool) -> Settings:
    """Resolve services and the key, migrate, and export what worker processes need."""
    settings = ensure_encryption_key(ensure_services(settings))
    if migrate:
        _run_migrations(settings, quiet=True)
    os.environ.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ENGINE_ENCRYPTION_KEY=encode_key(settings.encryption_key),
    )
    return settings


def _run_migrations(settings: Settings, *, quiet: bool) -> list[str]:
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
    settings = _prepare(_with_overrides(_settings(), args), migrate=not args.no_migrate)
    with metrics_dir(settings.workers), lifecycle.exit_zero_after_graceful_stop():
        return _uvicorn(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and say which."""
    settings = ensure_services(_settings(), redis=False)
    _run_migrations(settings, quiet=False)
    return 0


def cmd_merchant_create(args: argparse.Namespace) -> int:
    """Create a merchant and print its id and one-time secret key."""
    from engine.bootstrap import create_merchant

    settings = _prepare(_settings(), migrate=True)
    merchant, api_key, publishable = asyncio.run(create_merchant(settings, args.name))
    if args.json:
        print(json.dumps({"merchant": merchant, "api_key": api_key, "publishable_key": publishable}, default=str))
    else:
        print(f"merchant    {merchant.get('id')}  ({merchant.get('name', args.name)})")
        print(f"secret key  {api_key}")
        print(f"publishable {publishable}")
        print("The key is shown once; store it now.")
    return 0


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-seal gateway credentials with ENGINE_ENCRYPTION_KEY; print what was done."""
    from engine.bootstrap import rotate_keys

    if args.batch_size <= 0:
        raise CliError("--batch-size must be a positive integer")
    settings = ensure_encryption_key(ensure_services(_settings(), redis=False))
    rotation = asyncio.run(rotate_keys(settings, args.batch_size))
    print(rotation.summary())
    if rotation.unreadable:
        # Dropping an older key now would lose these accounts: fail so scripts notice.
        raise CliError("some gateway accounts are sealed with keys not configured; add them to ENGINE_ENCRYPTION_KEYS")
    return 0


def _sandbox_address(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.sandbox_url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run the gateway sandbox in the foreground."""
    settings = _settings()
    default_host, default_port = _sandbox_address(settings)
    from sandbox.app import serve

    serve(args.host or default_host, args.port or default_port)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the configuration table (markdown) for the README."""
    _settings()
    print(config_table())
    return 0


def config_table() -> str:
    """Markdown table of every environment variable, its default and meaning."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var in VARIABLES:
        default = f"`{var.default}`" if var.default else "*(empty)*"
        meaning = var.help.replace("|", "\\|")
        lines.append(f"| `{var.name}` | {default} | {meaning} |")
    return "\n".join(lines)


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything for a local try-out: services, sandbox, a demo merchant, the API."""
    os.environ.setdefault("ENGINE_SANDBOX", "1")
    settings = _with_overrides(_settings(), args)
    generated_token = ""
    if not settings.admin_token:
        generated_token = "adm_" + secrets.token_urlsafe(24)
        os.environ["ENGINE_ADMIN_TOKEN"] = generated_token
        settings = msgspec.structs.replace(settings, admin_token=generated_token)
    settings = _prepare(settings, migrate=True)
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
    host, port = _sandbox_address(settings)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``payment-engine``."""
    parser = argparse.ArgumentParser(prog="payment-engine", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    for name, handler, help_ in (
        ("serve", cmd_serve, "serve the API"),
        ("dev", cmd_dev, "embedded services + sandbox + demo merchant + API (what `make run` runs)"),
    ):
        p = add(name, handler, help_)
        p.add_argument("--host", help="interface to listen on (ENGINE_HOST)")
        p.add_argument("--port", type=int, help="port to listen on (ENGINE_PORT)")
        if name == "serve":
            p.add_argument("--workers", type=int, help="worker processes (ENGINE_WORKERS)")
            p.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    add("migrate", cmd_migrate, "apply pending SQL migrations")
    merchant_parser = sub.add_parser("merchant", help="manage merchants")
    merchant = merchant_parser.add_subparsers(dest="action", required=True)
    create = merchant.add_parser("create", help="create a merchant and print its secret key")
    create.set_defaults(handler=cmd_merchant_create)
    create.add_argument("--name", required=True)
    create.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    sandbox = add("sandbox", cmd_sandbox, "run the gateway sandbox")
    sandbox.add_argument("--host", help="default: SANDBOX_URL's host")
    sandbox.add_argument("--port", type=int, help="default: SANDBOX_URL's port")
    add("config", cmd_config, "print the configuration table (markdown)")
    rotate = add("rotate-keys", cmd_rotate_keys, "re-encrypt gateway credentials with ENGINE_ENCRYPTION_KEY")
    rotate.add_argument("--batch-size", type=int, default=100, help="accounts read per batch (default 100)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``payment-engine`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (CliError, EmbeddedServiceError, ServiceStartError, EngineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
