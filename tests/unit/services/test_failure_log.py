"""Background loops: a database outage is one warning line a minute, a bug keeps its traceback."""

from __future__ import annotations

import logging

import pytest

from engine.services import failure_log


@pytest.fixture
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(failure_log, "_outages", failure_log.ThrottledWarning(logging.getLogger("engine.loops")))


def test_an_outage_every_pass_is_one_warning_without_a_traceback(
    fresh_throttle: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("engine.reconciler")
    with caplog.at_level(logging.INFO):
        for n in range(50):
            failure_log.report_failure(log, "reconciling attempt %s failed; it stays due", ConnectionRefusedError(), n)
    [line] = caplog.records
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "PostgreSQL is unreachable" in line.getMessage() and "attempt 0" in line.getMessage()


def test_any_other_failure_is_an_error_with_its_traceback_each_time(
    fresh_throttle: None, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("engine.reconciler")
    with caplog.at_level(logging.INFO):
        for n in range(3):
            failure_log.report_failure(log, "work item %s failed; it stays due", KeyError("bug"), n)
    assert [r.levelno for r in caplog.records] == [logging.ERROR] * 3
    assert all(r.exc_info is not None for r in caplog.records)
    assert caplog.records[2].getMessage() == "work item 2 failed; it stays due"
