"""A served process freezes its start-up heap and runs young collections rarely."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from engine.runtime import gc_tuning


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_start_up_objects_leave_every_collection_and_young_ones_are_rarer(restored_gc: None) -> None:
    survivor = [object() for _ in range(10)]
    gc.unfreeze()
    gc_tuning.tune_for_serving()
    assert gc.get_freeze_count() >= len(survivor)
    assert gc.get_threshold() == (gc_tuning.YOUNG_THRESHOLD, *gc_tuning.OLDER_THRESHOLDS)
    assert gc.get_threshold()[0] > 700  # CPython's default


def test_cycles_are_still_collected_after_tuning(restored_gc: None) -> None:
    gc_tuning.tune_for_serving()

    class Node:
        other: object

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2
