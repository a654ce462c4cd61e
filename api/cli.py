"""payment-engine: serve, migrate, create merchants, run the sandbox, run everything for dev.

Every subcommand reads the settings first; a bad value prints one line ``error: <message>`` on
stderr and exits with status 2. Expected runtime failures (an embedded service that cannot
start, a failed migration) print one line too and exit with status 1 — never a traceback.

The two commands that run the engine in the foreground, ``serve`` and ``dev``, and the preparation
the others share live in :mod:`api.serving`; this module holds the parser and the admin commands.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence

import asyncpg

from api.serving import CliError, cmd_dev, cmd_serve, prepare, run_migrations, sandbox_address, settings_from_env
from engine.config import VARIABLES, ConfigError
from engine.errors import EngineError
from engine.runtime.embedded import EmbeddedServiceError, ensure_encryption_key, ensure_services
from engine.runtime.processes import ServiceStartError


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and say which."""
    settings = ensure_services(settings_from_env(), redis=False)
    run_migrations(settings, quiet=False)
    return 0


def cmd_merchant_create(args: argparse.Namespace) -> int:
    """Create a merchant and print its id and one-time secret key."""
    from engine.bootstrap import create_merchant

    settings = prepare(settings_from_env(), migrate=True)
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
    settings = ensure_encryption_key(ensure_services(settings_from_env(), redis=False))
    rotation = asyncio.run(rotate_keys(settings, args.batch_size))
    print(rotation.summary())
    if rotation.unreadable:
        # Dropping an older key now would lose these accounts: fail so scripts notice.
        raise CliError("some gateway accounts are sealed with keys not configured; add them to ENGINE_ENCRYPTION_KEYS")
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Run the gateway sandbox in the foreground."""
    settings = settings_from_env()
    default_host, default_port = sandbox_address(settings)
    from sandbox.app import serve

    serve(args.host or default_host, args.port or default_port)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Print the configuration table (markdown) for the README."""
    settings_from_env()
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
