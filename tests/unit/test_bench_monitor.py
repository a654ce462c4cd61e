"""The benchmark's process sampler: trees found from one read of the process table per sample."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from bench.runner.monitor import Group, children_map, descendants


def test_descendants_walks_the_whole_tree_below_a_pid() -> None:
    children = {1: [2, 3], 2: [4], 4: [5], 9: [10]}
    assert sorted(descendants(1, children)) == [1, 2, 3, 4, 5]
    assert descendants(7, children) == [7]


def test_a_group_samples_a_root_and_the_child_it_started() -> None:
    # A parent that starts a sleeping child: the group must see both, as a server and its workers.
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while not children_map().get(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        group = Group("server", lambda: [parent.pid])
        group.sample(time.time(), children_map())
        group.sample(time.time())  # without a shared map it reads the table itself
        assert [s.processes for s in group.samples] == [2, 2]
        assert group.samples[-1].rss_total > 0
    finally:
        for pid in children_map().get(parent.pid, []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
