"""Child processes for local runs: start one, wait until it answers HTTP, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence


class ServiceStartError(RuntimeError):
    """A child process exited or did not become ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """Whether ``GET url`` answers 2xx right now."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - checked above
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_child(argv: Sequence[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` (a Python module run as ``[sys.executable, "-m", ...]`` is typical)."""
    return subprocess.Popen(list(argv), env=dict(env) if env is not None else None)  # noqa: S603


def python_module(module: str, *args: str) -> list[str]:
    """The argv running ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def wait_http(
    url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None, name: str = "service"
) -> None:
    """Wait until ``url`` answers 2xx; fail early when ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url):
            return
        if process is not None and process.poll() is not None:
            raise ServiceStartError(f"{name} exited with code {process.returncode} before answering {url}")
        time.sleep(0.1)
    raise ServiceStartError(f"{name} did not answer {url} within {timeout:.0f}s")


def stop_child(process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> int | None:
    """Stop ``process`` gently (SIGINT, then SIGTERM), killing it if it lingers; return its exit code."""
    if process is None:
        return None
    for sig in (signal.SIGINT, signal.SIGTERM):
        if process.poll() is not None:
            return process.returncode
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            return process.wait(timeout / 2)
    process.kill()
    return process.wait()
