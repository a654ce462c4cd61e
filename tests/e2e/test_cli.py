"""The ``payment-engine`` command as a user runs it: real subprocesses, embedded services.

The server tests need ``api.app`` (and ``dev`` also ``sandbox.app``); they are skipped only when
those cannot be imported.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.config import VARIABLES
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

try:
    import api.app  # noqa: F401

    HAS_APP = True
except ImportError:
    HAS_APP = False
try:
    import sandbox.app  # noqa: F401

    HAS_SANDBOX = True
except ImportError:
    HAS_SANDBOX = False

needs_app = pytest.mark.skipif(not HAS_APP, reason="api.app is not importable yet")
SCRIPT = Path(sys.executable).parent / "payment-engine"


def cli(*args: str) -> list[str]:
    """argv for the console script when installed, else ``python -m api.cli``."""
    if SCRIPT.exists():
        return [str(SCRIPT), *args]
    return [sys.executable, "-m", "api.cli", *args]


def clean_env(data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment without any engine setting, plus ``extra``."""
    names = {var.name for var in VARIABLES}
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("SANDBOX_")}
    if data_dir is not None:
        env["ENGINE_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize(
    ("command", "name", "value"),
    [
        (["serve"], "ENGINE_PORT", "eighty"),
        (["migrate"], "DATABASE_URL", "mysql://root@localhost/x"),
        (["merchant", "create", "--name", "X"], "LOG_LEVEL", "LOUD"),
        (["sandbox"], "SANDBOX_URL", "nope"),
        (["dev"], "ENGINE_WORKERS", "0"),
        (["config"], "ENGINE_SANDBOX", "perhaps"),
    ],
)
def test_bad_setting_is_one_line_and_exit_2(tmp_path: Path, command: list[str], name: str, value: str) -> None:
    result = run(*command, env=clean_env(tmp_path, **{name: value}), timeout=30)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and name in lines[0]
    assert "Traceback" not in result.stderr


def test_secret_values_are_not_echoed(tmp_path: Path) -> None:
    result = run("serve", env=clean_env(tmp_path, ENGINE_ADMIN_TOKEN="tiny-secret"), timeout=30)
    assert result.returncode == 2
    assert "ENGINE_ADMIN_TOKEN" in result.stderr and "tiny-secret" not in result.stderr


def test_config_prints_the_markdown_table(tmp_path: Path) -> None:
    result = run("config", env=clean_env(tmp_path), timeout=30)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "| variable | default | meaning |" and lines[1] == "|---|---|---|"
    assert len(lines) == 2 + len(VARIABLES)
    for var, line in zip(VARIABLES, lines[2:], strict=True):
        assert line.startswith(f"| `{var.name}` |")


def test_unknown_subcommand_is_a_usage_error(tmp_path: Path) -> None:
    result = run("frobnicate", env=clean_env(tmp_path), timeout=30)
    assert result.returncode == 2 and "usage:" in result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


@needs_app
def test_migrate_then_up_to_date(data_dir: Path) -> None:
    first = run("migrate", env=clean_env(data_dir))
    assert first.returncode == 0, first.stderr
    assert re.search(r"^applied \d{4}_\w+\.sql$", first.stdout, re.M), first.stdout
    again = run("migrate", env=clean_env(data_dir))
    assert again.returncode == 0 and again.stdout.strip() == "database is up to date"
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"


@needs_app
def test_merchant_create_json(data_dir: Path) -> None:
    result = run("merchant", "create", "--name", "CLI Pharmacy", "--json", env=clean_env(data_dir))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["api_key"].startswith("sk_test_")
    assert out["merchant"]["id"]


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            cli("serve", "--port", str(port)), env=clean_env(data_dir), stdout=sink, stderr=sink, text=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/healthz", proc, log)
        yield base, proc, log
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait(url: str, proc: subprocess.Popen[str], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}: {log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


@needs_app
def test_serve_answers_and_stops_cleanly(server: tuple[str, subprocess.Popen[str], Path], data_dir: Path) -> None:
    base, proc, log = server
    response = httpx.get(f"{base}/healthz", headers={"X-Request-Id": "cli-test-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "cli-test-1"
    assert httpx.get(f"{base}/healthz").headers["x-request-id"].startswith("req_")
    assert (data_dir / "pg" / "postmaster.pid").exists()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 0
    output = log.read_text()
    assert "Traceback" not in output, output
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "embedded PostgreSQL left running"


@needs_app
@pytest.mark.skipif(not HAS_SANDBOX, reason="sandbox.app is not importable yet")
def test_dev_prints_a_key_and_a_working_curl_line(tmp_path: Path) -> None:
    engine_port, sandbox_port = free_port(), free_port()
    env = clean_env(tmp_path / "dev", ENGINE_PORT=str(engine_port), SANDBOX_URL=f"http://127.0.0.1:{sandbox_port}")
    log = tmp_path / "dev.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(cli("dev"), env=env, stdout=subprocess.PIPE, stderr=sink, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 120
        while "curl " not in banner and time.monotonic() < deadline and proc.stdout:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            banner += line
        assert "curl " in banner, f"{banner}\n{log.read_text()}"
        key = re.search(r"sk_test_\w+", banner)
        assert key and "Admin token" in banner and "Idempotency-Key" in banner
        body = json.loads(re.search(r"-d '(\{.*\})'", banner).group(1))  # type: ignore[union-attr]
        assert body["payment_method"]["card"]["number"] == "4111111111111111"
        response = httpx.post(
            f"http://127.0.0.1:{engine_port}/v1/payments",
            json=body,
            headers={"Authorization": f"Bearer {key.group(0)}", "Idempotency-Key": "cli-dev-1"},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text
        assert response.json()["status"] == "succeeded", response.text
        assert httpx.get(f"http://127.0.0.1:{sandbox_port}/healthz").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{sandbox_port}/healthz", timeout=1)
