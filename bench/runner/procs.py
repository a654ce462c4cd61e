"""Child processes of the benchmark, each in its own process group, always stopped.

Every child is started in a new session, so stopping it reaches its whole tree (gunicorn and
uvicorn workers included). ``Children`` remembers every child it started; ``stop_all`` runs from
``finally`` blocks, ``atexit`` and the SIGTERM handler, so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from engine.runtime.processes import http_ok


class StartError(RuntimeError):
    """A child exited or did not answer in time."""


class Child:
    """One started process group."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path | None) -> None:
        """Wrap a started ``Popen``."""
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        """The leader's pid (the group id too)."""
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the leader still runs."""
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        """The end of its log, for error messages."""
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 8.0) -> None:
        """SIGINT the group, then SIGTERM, then SIGKILL; reap the leader."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            if self.popen.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout / 2)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # stragglers of the group, even if the leader exited
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


class Children:
    """Every child this run started."""

    def __init__(self, log_dir: Path) -> None:
        """Logs of the children go to ``log_dir``."""
        self.log_dir = log_dir
        self.running: list[Child] = []
        atexit.register(self.stop_all)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], *, capture: bool = False) -> Child:
        """Start ``argv`` in a new session; its output goes to ``<log_dir>/<name>.log`` unless captured."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        out: IO[Any] | int = subprocess.PIPE if capture else log.open("wb")
        popen = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not capture:
            out.close()  # type: ignore[union-attr]
        child = Child(name, popen, None if capture else log)
        self.running.append(child)
        return child

    def stop(self, child: Child | None) -> None:
        """Stop one child (idempotent)."""
        if child is None:
            return
        child.stop()
        if child in self.running:
            self.running.remove(child)

    def stop_all(self) -> None:
        """Stop every child still running, newest first."""
        for child in reversed(list(self.running)):
            self.stop(child)


def wait_http(url: str, child: Child, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 2xx; fail early (with the log's tail) when the child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url):
            return
        if not child.alive():
            raise StartError(f"{child.name} exited with code {child.popen.returncode}:\n{child.tail()}")
        time.sleep(0.1)
    raise StartError(f"{child.name} did not answer {url} within {timeout:.0f}s:\n{child.tail()}")


def install_signal_handlers(children: Children) -> None:
    """SIGTERM/SIGHUP stop every child and exit (SIGINT raises KeyboardInterrupt as usual)."""

    def handler(signum: int, frame: object) -> None:
        children.stop_all()
        sys.exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def python(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]
