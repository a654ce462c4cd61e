"""Build script: compiles the Cython kernels in ``engine/_fast`` when a C compiler is present.

A machine without a compiler (or without Cython) still installs; the engine then runs on the
pure-Python twins in ``engine/_pyref`` (the facades choose at import time) and the build prints
one warning line. The signing kernels call OpenSSL 3's libcrypto directly when its headers are
found (a probe compiles and links a two-line program first); without them they are still
compiled, and hash through ``hashlib``/``hmac`` instead (one ``note:`` line says so).

Environment: ``ENGINE_NO_EXTENSIONS=1`` builds nothing (pure mode); ``ENGINE_OPENSSL=0`` skips
the OpenSSL probe. ``CC``, ``CFLAGS``, ``CPPFLAGS`` and ``LDFLAGS`` are honoured as usual
(e.g. ``CPPFLAGS=-I/opt/openssl/include LDFLAGS=-L/opt/openssl/lib``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import sys
import tempfile
from collections.abc import Iterator

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Kernels that call libcrypto when it is available (the others need only the C compiler).
OPENSSL_KERNELS = frozenset({"engine._fast._digest", "engine._fast._paytm"})
OPENSSL_MACRO = ("ENGINE_HAVE_OPENSSL", "1")

_PROBE = """
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER < 0x30000000L
#error "OpenSSL 3 required"
#endif
#include <openssl/evp.h>
int main(void) { EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL); EVP_MAC_free(mac); return 0; }
"""


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """Send the compiler's own stdout/stderr (a failed probe is expected) to /dev/null."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


class OptionalBuildExt(build_ext):
    """Build the kernels, but never fail the install: fall back per kernel, warn once.

    A kernel that does not compile is left out (its pure twin is used) and any stale in-place
    binary of it is removed; a signing kernel that does not compile against OpenSSL is retried
    without it. One line at the end names what was left out.
    """

    def initialize_options(self) -> None:
        super().initialize_options()
        self.failed: dict[str, str] = {}
        self.without_openssl: list[str] = []
        self._openssl: bool | None = None

    def openssl_available(self) -> bool:
        """Whether OpenSSL 3 headers and libcrypto compile and link here (probed once per build)."""
        if self._openssl is None:
            self._openssl = os.environ.get("ENGINE_OPENSSL") != "0" and self._probe_openssl()
        return self._openssl

    def _probe_openssl(self) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            source = os.path.join(tmp, "probe.c")
            with open(source, "w") as f:
                f.write(_PROBE)
            try:
                with _silenced():
                    objects = self.compiler.compile([source], output_dir=tmp, include_dirs=self.include_dirs)
                    self.compiler.link_executable(
                        objects, "probe", output_dir=tmp, libraries=["crypto"], library_dirs=self.library_dirs
                    )
            except Exception:  # any failure means "no usable OpenSSL"
                return False
        return True

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # e.g. no compiler at all: pure mode
            for ext in self.extensions:
                self.failed.setdefault(ext.name, _reason(exc))
        self.report()

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        if ext.name in OPENSSL_KERNELS and self.openssl_available():
            with contextlib.suppress(Exception):  # else retried without OpenSSL just below
                self._build(ext, with_openssl=True)
                return
        try:
            self._build(ext, with_openssl=False)
        except Exception as exc:  # any compiler failure means this kernel stays pure
            self.failed[ext.name] = _reason(exc)
        else:
            if ext.name in OPENSSL_KERNELS:
                self.without_openssl.append(ext.name)

    def _build(self, ext, *, with_openssl: bool) -> None:  # type: ignore[no-untyped-def]
        macros, libraries = list(ext.define_macros), list(ext.libraries)
        if with_openssl:
            ext.define_macros = [*macros, OPENSSL_MACRO]
            ext.libraries = [*libraries, "crypto"]
        try:
            super().build_extension(ext)
        except Exception:
            ext.define_macros, ext.libraries = macros, libraries
            raise

    def _built(self) -> list:
        return [ext for ext in self.extensions if ext.name not in self.failed]

    def copy_extensions_to_source(self) -> None:
        """Editable installs: copy what was built; delete stale in-place binaries of what was not."""
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            if ext.name in self.failed:
                inplace, _ = self._get_inplace_equivalent(build_py, ext)
                if os.path.exists(inplace):
                    os.remove(inplace)
        every, self.extensions = self.extensions, self._built()
        try:
            super().copy_extensions_to_source()
        finally:
            self.extensions = every

    def get_outputs(self) -> list[str]:
        every, self.extensions = self.extensions, self._built()
        try:
            return super().get_outputs()
        finally:
            self.extensions = every

    def report(self) -> None:
        """At most one line: the kernels left pure, or else those compiled without OpenSSL."""
        if self.failed:
            names = ", ".join(sorted(self.failed))
            reason = next(iter(self.failed.values()))
            print(f"warning: compiled kernels not built ({names}: {reason}); "
                  "the engine runs in pure-Python mode", file=sys.stderr)  # fmt: skip
        elif self.without_openssl:
            print("note: OpenSSL 3 headers/libcrypto not found; engine._fast.signing hashes through hashlib",
                  file=sys.stderr)  # fmt: skip


def _reason(exc: BaseException) -> str:
    """A short reason: ``false returned non-zero exit status 1`` rather than the whole command line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    failed = re.match(r"Command '\['([^']+)'.*'? (returned non-zero exit status -?\d+)", text)
    if failed:
        text = f"{os.path.basename(failed[1])} {failed[2]}"
    return text if len(text) <= 120 else text[:117] + "..."


def extensions() -> list:
    """The Cython extensions to build; none (with one warning line) when Cython is missing."""
    sources = sorted(glob.glob("engine/_fast/*.pyx"))
    if not sources or os.environ.get("ENGINE_NO_EXTENSIONS") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("warning: Cython is not installed; the engine runs in pure-Python mode", file=sys.stderr)
        return []
    return cythonize(sources, compiler_directives={"language_level": "3"}, quiet=True)


if __name__ == "__main__":
    setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
