"""Build script: compiles the Cython kernels in ``engine/_fast`` when a C compiler is present.

A machine without a compiler still installs; the engine then runs on the pure-Python twins
in ``engine/_pyref`` (the facades choose at import time).
"""

from __future__ import annotations

import glob
import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build extensions, but fall back to pure mode instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means pure mode
            print(f"warning: compiled kernels not built ({exc}); running in pure-Python mode", file=sys.stderr)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            print(f"warning: {ext.name} not built ({exc}); pure-Python twin will be used", file=sys.stderr)


def extensions() -> list:
    sources = sorted(glob.glob("engine/_fast/*.pyx"))
    if not sources or os.environ.get("ENGINE_NO_EXTENSIONS") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    return cythonize(sources, compiler_directives={"language_level": "3"}, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
