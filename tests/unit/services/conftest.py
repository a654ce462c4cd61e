"""Fixtures of the service unit tests: a fresh in-memory engine per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.bootstrap import Engine
from tests.support.fake_engine import make_engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine over empty in-memory state; fails the test on any unscripted gateway call."""
    built = make_engine()
    yield built
    unexpected = {name: c.unexpected for name, c in built.gateways.fakes.items() if c.unexpected}  # type: ignore[attr-defined]
    assert not unexpected, f"unscripted gateway calls: {unexpected}"
