"""Named SQL queries loaded from ``sql/queries/<file>.sql``.

A file holds several statements, each introduced by a ``-- name: <identifier>`` line. Keeping
SQL in files keeps it reviewable as SQL; asyncpg prepares and caches each text per connection.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

QUERY_DIR = Path(__file__).resolve().parents[2] / "sql" / "queries"
_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


def load_queries(name: str, directory: Path = QUERY_DIR) -> SimpleNamespace:
    """Parse ``<directory>/<name>.sql`` into a namespace of query texts by name."""
    text = (directory / f"{name}.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for query_name, body in zip(parts[1::2], parts[2::2], strict=True):
        if query_name in queries:
            raise ValueError(f"{name}.sql defines {query_name} twice")
        queries[query_name] = body.strip().rstrip(";")
    return SimpleNamespace(**queries)
