"""Server-side counters sampled next to the CPU: PostgreSQL statements and Redis commands.

The figures come from the servers themselves, so every system under test is measured alike
(the engine talks asyncpg, the baseline psycopg, the ceiling asyncpg without a pool):

- PostgreSQL statements: ``pg_stat_statements`` (``calls`` summed over the system's database;
  ``track_utility`` is on by default, so ``BEGIN`` / ``COMMIT`` count as the round trips they
  are). The extension needs ``shared_preload_libraries``, which ``enable_pg_stat_statements``
  sets on the embedded server (the caller restarts it once); on a server where it is missing the
  figure is absent rather than guessed. Transactions (``pg_stat_database``) come alongside.
- Redis commands: ``INFO commandstats`` summed over every command except ``info`` (the sampler's
  own). One Redis serves every system, but systems run one after the other, so the delta over a
  system's window is that system's.
- PostgreSQL backends: the children of the postmaster whose process title names the system's
  database (``postgres: <user> <database> ...``), so their CPU can be summed (``backend_pids``).

Each sampler returns a dict of cumulative values (or ``None`` when it cannot); the monitor turns
two samples into rates over the measured window.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psutil

PRELOAD = "pg_stat_statements"

STATEMENTS_SQL = (
    "SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s "
    "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s"
)
XACTS_SQL = "SELECT coalesce(xact_commit + xact_rollback, 0)::bigint FROM pg_stat_database WHERE datname = %s"


def _connect(dsn: str) -> Any:
    import psycopg

    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def enable_pg_stat_statements(admin_dsn: str) -> str:
    """Make ``pg_stat_statements`` usable on the server at ``admin_dsn`` (a superuser connection).

    Returns ``"ready"`` (the view answers), ``"restart"`` (the library was added to
    ``shared_preload_libraries`` with ``ALTER SYSTEM``; the server must restart once) or a
    sentence saying why it is unavailable.
    """
    try:
        with _connect(admin_dsn) as conn:
            loaded = str(conn.execute("SHOW shared_preload_libraries").fetchone()[0])
            names = [n.strip() for n in loaded.split(",") if n.strip()]
            if PRELOAD not in names:
                value = ", ".join([*names, PRELOAD])
                conn.execute(f"ALTER SYSTEM SET shared_preload_libraries = '{value}'")
                return "restart"
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {PRELOAD}")
            conn.execute("SELECT count(*) FROM pg_stat_statements").fetchone()
            return "ready"
    except Exception as exc:  # any driver or permission error: the figure is just not available
        return f"pg_stat_statements unavailable: {type(exc).__name__}: {str(exc).strip()[:200]}"


class PgCounter:
    """Cumulative statements (``pg_stat_statements``) and transactions of one database."""

    def __init__(self, admin_dsn: str, database: str, *, statements: bool) -> None:
        """Read the counters of ``database`` through ``admin_dsn`` (another database, so the
        sampler's own queries are not counted); ``statements``: whether the view is usable."""
        self.admin_dsn, self.database, self.statements = admin_dsn, database, statements
        self._conn: Any = None

    def __call__(self) -> dict[str, float] | None:
        """``{"pg_statements": n, "pg_transactions": n}`` now, or ``None`` on an error."""
        try:
            if self._conn is None:
                self._conn = _connect(self.admin_dsn)
            out = {"pg_transactions": float(self._conn.execute(XACTS_SQL, (self.database,)).fetchone()[0])}
            if self.statements:
                out["pg_statements"] = float(self._conn.execute(STATEMENTS_SQL, (self.database,)).fetchone()[0])
            return out
        except Exception:
            self.close()
            return None

    def close(self) -> None:
        """Drop the connection (idempotent)."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def commands_of(commandstats: dict[str, Any]) -> float:
    """Commands processed according to ``INFO commandstats``, without ``info`` itself (the sampler)."""
    total = 0.0
    for name, stats in commandstats.items():
        command = name.removeprefix("cmdstat_").lower()
        if command == "info":
            continue
        calls = stats.get("calls", 0) if isinstance(stats, dict) else 0
        total += float(calls)
    return total


class RedisCounter:
    """Cumulative Redis commands (see ``commands_of``)."""

    def __init__(self, url: str) -> None:
        """Read the Redis at ``url`` (``redis://`` or ``unix://``)."""
        self.url = url
        self._client: Any = None

    def __call__(self) -> dict[str, float] | None:
        """``{"redis_commands": n}`` now, or ``None`` on an error."""
        try:
            if self._client is None:
                import redis

                self._client = redis.Redis.from_url(self.url, socket_timeout=2)
            return {"redis_commands": commands_of(self._client.info("commandstats"))}
        except Exception:
            self.close()
            return None

    def close(self) -> None:
        """Drop the connection (idempotent)."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def backend_pids(postmaster: int, database: str) -> list[int]:
    """The PostgreSQL backends serving ``database``: the postmaster's children whose process
    title (``postgres: <user> <database> <client> <state>``) names it."""
    try:
        children = psutil.Process(postmaster).children()
    except psutil.Error:
        return []
    out = []
    for proc in children:
        with contextlib.suppress(psutil.Error):
            if serves(" ".join(proc.cmdline()), database):
                out.append(proc.pid)
    return out


def serves(title: str, database: str) -> bool:
    """Whether a PostgreSQL process title is a backend connected to ``database`` (auxiliary
    processes, e.g. ``postgres: checkpointer``, and other databases' backends are not)."""
    words = title.split()
    return len(words) >= 3 and words[0] == "postgres:" and words[2] == database
