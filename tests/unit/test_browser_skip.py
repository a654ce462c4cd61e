"""Without Chromium the checkout page's browser tests skip LOUDLY: the reason on each skip, a
warning, and a banner in the ``-q`` summary (tests/browser/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_missing_chromium_is_announced_in_the_quiet_summary():
    env = {**os.environ, "CHECKOUT_CHROMIUM": "/nonexistent/chromium"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/browser"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-2000:]
    assert "! BROWSER TESTS SKIPPED: /nonexistent/chromium is missing" in out, out[-2000:]
    assert "UserWarning: BROWSER TESTS SKIPPED" in out and " skipped" in out and " passed" not in out
