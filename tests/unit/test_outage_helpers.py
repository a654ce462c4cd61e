"""Pure parts of outage handling: which errors mean "PostgreSQL is down", and the throttled warning."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from engine.logs import ThrottledWarning
from engine.store.db import is_outage


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
    ],
)
def test_lost_connections_are_outages(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
        KeyError("x"),
        ValueError("bad"),
    ],
)
def test_bugs_and_data_errors_are_not_outages(exc: BaseException) -> None:
    assert not is_outage(exc)


def test_a_throttled_warning_logs_once_per_interval_per_concern(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    warn = ThrottledWarning(logging.getLogger("test.throttle"), interval_s=60, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "test.throttle")
    assert [warn.warn("redis", "down") for _ in range(50)] == [True] + [False] * 49
    assert warn.warn("breaker", "down")  # another concern has its own minute
    now[0] += 59
    assert not warn.warn("redis", "down")
    now[0] += 2
    assert warn.warn("redis", "still down")
    records = [(r.getMessage(), r.concern, r.suppressed) for r in caplog.records]  # type: ignore[attr-defined]
    assert records == [("down", "redis", 0), ("down", "breaker", 0), ("still down", "redis", 50)]
