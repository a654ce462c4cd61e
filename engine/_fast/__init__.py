"""Compiled (Cython) twins of ``engine._pyref``: the validation and signing hot path.

``validation`` and ``signing`` are built by ``setup.py`` when a C compiler is present. ``signing``
re-exports ``_payu`` and ``_paytm`` and hashes through ``_digest`` (OpenSSL 3 when its headers were
found, else ``hashlib``); ``_native.pxd`` holds the C they share (OpenSSL glue, a byte builder, hex,
constant-time comparison). The facades ``engine.validation`` and ``engine.signing`` load them
through ``engine._select`` and fall back to the pure twins when they are absent or when
``ENGINE_NO_EXTENSIONS=1``. ``python -m engine._fast`` prints, in one line, which are in use.
"""

from __future__ import annotations

import importlib

KERNELS = ("validation", "signing")
"""The kernels the facades load, by module name under this package."""


def compiled_kernels() -> dict[str, bool]:
    """``{kernel: importable}`` for each of :data:`KERNELS` (ignores ``ENGINE_NO_EXTENSIONS``)."""
    found = {}
    for name in KERNELS:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ImportError:
            found[name] = False
        else:
            found[name] = True
    return found
