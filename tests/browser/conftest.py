"""Browser tests of the hosted checkout page: Debian's chromium driven by Playwright.

Playwright's own browser download is never used (``executable_path=/usr/bin/chromium``). When
the browser or the package is missing, every test here is skipped LOUDLY: a warning at
collection, the reason on each skip, and a banner in the session summary (``-q`` shows it).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

# Overridable only so the loud skip itself can be tested (tests/unit/test_browser_skip.py).
CHROMIUM = os.environ.get("CHECKOUT_CHROMIUM", "/usr/bin/chromium")


def missing() -> str | None:
    """Why the browser tests cannot run, or ``None``."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (.ci/run does)"
    if importlib.util.find_spec("playwright") is None:
        return "the `playwright` package is missing: `pip install -e '.[test]'`"
    return None


_SKIPPED: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing()
    if reason is None:
        return
    here = os.path.dirname(__file__)
    browser_items = [item for item in items if str(item.fspath).startswith(here)]
    if not browser_items:
        return
    _SKIPPED.append(reason)
    warnings.warn(f"BROWSER TESTS SKIPPED: {reason}", UserWarning, stacklevel=1)
    marker = pytest.mark.skip(reason=f"BROWSER TESTS SKIPPED: {reason}")
    for item in browser_items:
        item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SKIPPED:
        terminalreporter.write_sep("!", f"BROWSER TESTS SKIPPED: {_SKIPPED[0]}", red=True, bold=True)


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One headless Chromium for the session."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield browser
        finally:
            await browser.close()
