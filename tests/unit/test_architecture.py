"""The layering the README promises, checked on the source itself.

- ``engine/`` imports no web framework and never the sandbox;
- SQL lives in ``engine/store/``: nothing else loads query files, touches the pool or opens a
  connection or transaction itself;
- ``engine/services`` decide no HTTP status and render no bytes (``api/render.py`` does).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
API = ROOT / "api"


def sources(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from sorted(p for p in root.rglob("*.py") if "_pyref" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def attribute_uses(path: Path) -> set[str]:
    """Every ``x.name`` attribute name used in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}


def raw_transactions(path: Path) -> int:
    """``x.transaction`` where ``x`` is not the engine's ``db`` (a connection's own transaction)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "transaction":
            owner = node.value
            named_db = (isinstance(owner, ast.Attribute) and owner.attr == "db") or (
                isinstance(owner, ast.Name) and owner.id == "db"
            )
            count += not named_db
    return count


def called_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", list(sources(ENGINE)), ids=relative)
def test_the_engine_imports_no_web_framework_and_never_the_sandbox(path: Path) -> None:
    forbidden = {"litestar", "starlette", "fastapi", "sanic", "uvicorn", "sandbox", "api"}
    bad = {m for m in imported_modules(path) if m.split(".")[0] in forbidden}
    assert not bad, f"{relative(path)} imports {sorted(bad)}"


OUTSIDE_STORE = [p for p in sources(ENGINE, API) if ENGINE / "store" not in p.parents]
# The composition root creates the pool and hands it to the store; nothing else may hold one.
POOL_OWNERS = {ENGINE / "bootstrap.py"}
SQL_CALLS = {"acquire", "fetchrow", "fetchval", "fetch", "execute", "executemany"}


@pytest.mark.parametrize("path", OUTSIDE_STORE, ids=relative)
def test_sql_and_connections_stay_in_the_store(path: Path) -> None:
    modules = imported_modules(path)
    assert "engine.store.sqlfile" not in modules, f"{relative(path)} loads SQL files itself"
    assert "load_queries" not in called_names(path), f"{relative(path)} loads SQL files itself"
    used = attribute_uses(path)
    sql = used & SQL_CALLS
    assert not sql, f"{relative(path)} runs SQL or takes a connection outside engine/store: {sorted(sql)}"
    assert not raw_transactions(path), f"{relative(path)} opens a transaction itself (use engine.db.transaction())"
    if path not in POOL_OWNERS:
        assert "pool" not in used, f"{relative(path)} reaches for the pool (use engine.db)"


def test_the_transaction_check_sees_a_violation(tmp_path: Path) -> None:
    """The check above is not vacuous: it flags the pattern it forbids."""
    bad = tmp_path / "bad.py"
    bad.write_text("async def f(engine):\n    async with engine.pool.acquire() as c, c.transaction():\n        pass\n")
    assert {"pool", "acquire"} <= attribute_uses(bad) and raw_transactions(bad) == 1
    good = tmp_path / "good.py"
    good.write_text("async def f(engine):\n    async with engine.db.transaction() as uow:\n        pass\n")
    assert raw_transactions(good) == 0


@pytest.mark.parametrize("path", list(sources(ENGINE / "services")), ids=relative)
def test_services_render_no_http_answers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for marker in ("tuple[int, bytes]", "ok_status", "status_code"):
        assert marker not in text, f"{relative(path)} renders HTTP answers ({marker!r}); return a domain result"
    tree = ast.parse(text)
    encoders = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "engine.views"
        for alias in node.names
        if alias.name == "encode"
    ]
    assert not encoders, f"{relative(path)} encodes response bodies; api/render.py does"
