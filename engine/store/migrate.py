"""Apply the SQL migrations in ``sql/`` in order.

Each file runs in its own transaction under a session advisory lock, so several processes
starting at once apply each file exactly once. A checksum per file is recorded; an applied
file that was edited afterwards stops the run with a clear error instead of drifting.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
_MIGRATION_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")
# Any constant works; it only has to be the same for every process running migrations.
_LOCK_ID = 0x5041594D454E54  # "PAYMENT"


class MigrationError(Exception):
    """A migration could not be applied, or an applied one was changed."""


def migration_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The migration files, ordered by their numeric prefix."""
    return sorted(p for p in sql_dir.iterdir() if _MIGRATION_NAME.match(p.name))


async def migrate(dsn: str, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations; return the names of those applied now."""
    conn = await asyncpg.connect(dsn)
    try:
        return await apply_migrations(conn, sql_dir)
    finally:
        await conn.close()


async def apply_migrations(conn: asyncpg.Connection, sql_dir: Path = SQL_DIR) -> list[str]:
    """Apply pending migrations over an open connection."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        done: list[str] = []
        for path in migration_files(sql_dir):
            text = path.read_text(encoding="utf-8")
            checksum = hashlib.sha256(text.encode()).hexdigest()
            if path.name in applied:
                if applied[path.name] != checksum:
                    raise MigrationError(f"{path.name} was changed after it was applied; add a new migration instead")
                continue
            try:
                async with conn.transaction():
                    await conn.execute(text)
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", path.name, checksum
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{path.name} failed: {exc}") from exc
            done.append(path.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
