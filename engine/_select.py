"""Choose, at import time, between a compiled kernel and its pure-Python twin.

Every hot-path kernel exists twice with the same public functions: ``engine._fast.<name>``
(Cython, built by ``setup.py``) and ``engine._pyref.<name>`` (plain Python, the executable
specification). The facades (``engine.validation``, ``engine.signing``) call :func:`load_kernel`
once and re-export what it returns, so callers never know which one they got.

Setting ``ENGINE_NO_EXTENSIONS=1`` forces the pure twins (the test suite runs once in each mode),
in the manner of aio-libs' ``propcache`` / ``yarl`` ``*_NO_EXTENSIONS`` switches.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Final, Literal

NO_EXTENSIONS_ENV: Final = "ENGINE_NO_EXTENSIONS"

Implementation = Literal["compiled", "pure"]

_FAST_PACKAGE: Final = "engine._fast"
_PURE_PACKAGE: Final = "engine._pyref"


def extensions_disabled() -> bool:
    """True when ``ENGINE_NO_EXTENSIONS`` is exactly ``"1"`` in the environment."""
    return os.environ.get(NO_EXTENSIONS_ENV) == "1"


def load_kernel(name: str) -> ModuleType:
    """Return ``engine._fast.<name>`` if it imports and extensions are allowed, else ``engine._pyref.<name>``.

    The environment is read on every call (not cached) so tests can flip the switch; the facades
    call this once, at their own import. A compiled module that is absent or fails to import
    (not built, built for another interpreter) silently yields the pure twin: the twin is always
    importable and behaves identically, only slower. A missing pure twin is a packaging bug and
    raises ``ModuleNotFoundError``.
    """
    if not extensions_disabled():
        try:
            return importlib.import_module(f"{_FAST_PACKAGE}.{name}")
        except ImportError:
            pass
    return importlib.import_module(f"{_PURE_PACKAGE}.{name}")


def implementation_of(kernel: ModuleType) -> Implementation:
    """``"compiled"`` for a module from ``engine._fast``, ``"pure"`` otherwise."""
    return "compiled" if kernel.__name__.startswith(_FAST_PACKAGE + ".") else "pure"
