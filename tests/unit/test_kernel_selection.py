"""Which kernel runs: compiled when built and allowed, pure otherwise; and the build never fails for it.

* ``ENGINE_EXPECT_COMPILED=1`` (``make test`` sets it on the first, compiled run): the compiled
  modules must import and the facades must use them, else this fails — a build that silently fell
  back to pure mode is caught here.
* ``ENGINE_NO_EXTENSIONS=1`` gives the pure twins, checked in this process and in a fresh one.
* ``setup.py``'s ``OptionalBuildExt`` turns any compiler failure into pure mode with one warning
  line, retries the signing kernels without OpenSSL, and never leaves a stale binary behind;
  ``python setup.py build_ext`` with ``CC=false`` (a machine without a working compiler) exits 0.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError

import engine._fast
import engine.signing
import engine.validation
from engine import _select
from engine._fast import __main__ as fast_main
from engine._pyref import signing as pure_signing

ROOT = Path(__file__).resolve().parents[2]
KERNEL_MODULES = sorted(f"engine._fast.{path.stem}" for path in ROOT.glob("engine/_fast/*.pyx"))
EXPECT_COMPILED = os.environ.get("ENGINE_EXPECT_COMPILED") == "1"
FACADES = "import engine.signing as s, engine.validation as v; print(v.IMPLEMENTATION, s.IMPLEMENTATION)"


def run_python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != _select.NO_EXTENSIONS_ENV} | env
    done = subprocess.run([sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# ------------------------------------------------------------------------------ selection


@pytest.mark.skipif(not EXPECT_COMPILED, reason="ENGINE_EXPECT_COMPILED is not set")
def test_compiled_kernels_loaded_when_expected() -> None:
    for name in engine._fast.KERNELS:
        importlib.import_module(f"engine._fast.{name}")  # raises with the reason if it is not built
    if not _select.extensions_disabled():
        assert engine.validation.IMPLEMENTATION == "compiled"
        assert engine.signing.IMPLEMENTATION == "compiled"


@pytest.mark.skipif(not _select.extensions_disabled(), reason="ENGINE_NO_EXTENSIONS is not 1")
def test_no_extensions_gives_pure_in_this_process() -> None:
    assert engine.validation.IMPLEMENTATION == engine.signing.IMPLEMENTATION == "pure"


def test_no_extensions_gives_pure_in_a_fresh_process() -> None:
    assert run_python(FACADES, ENGINE_NO_EXTENSIONS="1") == "pure pure"


def test_default_is_compiled_when_built() -> None:
    built = all(engine._fast.compiled_kernels().values())
    assert run_python(FACADES) == ("compiled compiled" if built else "pure pure")
    if EXPECT_COMPILED:
        assert built


def test_load_kernel_signing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_select.NO_EXTENSIONS_ENV, "1")
    assert _select.load_kernel("signing") is pure_signing
    monkeypatch.setitem(sys.modules, "engine._fast.signing", None)  # as if not built
    monkeypatch.delenv(_select.NO_EXTENSIONS_ENV)
    assert _select.load_kernel("signing") is pure_signing
    fake = types.ModuleType("engine._fast.signing")
    monkeypatch.setitem(sys.modules, "engine._fast.signing", fake)
    assert _select.load_kernel("signing") is fake and _select.implementation_of(fake) == "compiled"


def test_status_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(fast_main, "compiled_kernels", lambda: {"validation": True, "signing": False})
    assert fast_main.main() == 0
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("warning: compiled kernels not built (signing)")
    if all(engine._fast.compiled_kernels().values()):
        monkeypatch.undo()
        assert fast_main.main() == 0
        out, err = capsys.readouterr()
        assert err == "" and out.count("\n") == 1 and out.startswith("engine._fast: compiled kernels validation")


# ------------------------------------------------------------------------------ setup.py


def load_setup() -> types.ModuleType:
    """``setup.py`` as a module (``__name__`` is not ``__main__``, so ``setup()`` does not run)."""
    spec = importlib.util.spec_from_file_location("engine_setup_under_test", ROOT / "setup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def setup_py() -> types.ModuleType:
    return load_setup()


def command(setup_py: types.ModuleType, tmp_path: Path) -> build_ext:
    dist = Distribution({"name": "x", "ext_modules": [Extension(n, [f"{n}.c"]) for n in KERNEL_MODULES]})
    cmd = setup_py.OptionalBuildExt(dist)
    cmd.build_lib, cmd.build_temp = str(tmp_path / "lib"), str(tmp_path / "temp")
    cmd.ensure_finalized()
    return cmd


def test_no_compiler_means_pure_mode_with_one_warning(
    setup_py: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: build_ext, ext: Extension) -> None:
        raise CompileError("command 'cc' failed: No such file or directory")

    monkeypatch.setattr(build_ext, "build_extension", broken)
    monkeypatch.setenv("ENGINE_OPENSSL", "0")
    cmd = command(setup_py, tmp_path)
    cmd.run()  # does not raise
    assert sorted(cmd.failed) == KERNEL_MODULES
    assert cmd.get_outputs() == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"warning: compiled kernels not built ({KERNEL_MODULES[0]}, ")
    assert "No such file or directory" in err and "pure-Python mode" in err


def test_openssl_failure_retries_without_it(
    setup_py: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    built: list[tuple[str, bool]] = []

    def needs_no_openssl(self: build_ext, ext: Extension) -> None:
        with_openssl = setup_py.OPENSSL_MACRO in ext.define_macros
        assert with_openssl == ("crypto" in ext.libraries)
        if with_openssl:
            raise CompileError("openssl/evp.h: No such file or directory")
        built.append((ext.name, with_openssl))

    monkeypatch.setattr(build_ext, "build_extension", needs_no_openssl)
    monkeypatch.setattr(setup_py.OptionalBuildExt, "openssl_available", lambda self: True)
    cmd = command(setup_py, tmp_path)
    cmd.run()
    assert cmd.failed == {}
    assert sorted(built) == [(name, False) for name in KERNEL_MODULES]
    assert sorted(cmd.without_openssl) == sorted(setup_py.OPENSSL_KERNELS)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("note: OpenSSL 3 headers/libcrypto not found")


def test_openssl_used_when_available(
    setup_py: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: dict[str, tuple[object, ...]] = {}
    monkeypatch.setattr(
        build_ext, "build_extension", lambda self, ext: built.update({ext.name: tuple(ext.define_macros)})
    )
    monkeypatch.setattr(setup_py.OptionalBuildExt, "openssl_available", lambda self: True)
    command(setup_py, tmp_path).run()
    for name in KERNEL_MODULES:
        assert built[name] == ((setup_py.OPENSSL_MACRO,) if name in setup_py.OPENSSL_KERNELS else ()), name
    assert setup_py.OPENSSL_KERNELS <= set(KERNEL_MODULES)


def test_openssl_probe(setup_py: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cmd = command(setup_py, tmp_path)
    monkeypatch.setenv("ENGINE_OPENSSL", "0")
    assert cmd.openssl_available() is False  # switched off: not even probed
    cmd = command(setup_py, tmp_path)
    monkeypatch.delenv("ENGINE_OPENSSL")
    cmd.compiler = types.SimpleNamespace(compile=lambda *a, **k: (_ for _ in ()).throw(CompileError("no cc")))
    assert cmd._probe_openssl() is False


def test_copy_to_source_skips_failed_and_removes_stale(
    setup_py: types.ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cmd = command(setup_py, tmp_path)
    (tmp_path / "build").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "build" / "engine._fast.validation.so").write_text("new")
    (tmp_path / "src" / "engine._fast.signing.so").write_text("stale")
    monkeypatch.setattr(cmd, "_get_inplace_equivalent",
                        lambda build_py, ext: (str(tmp_path / "src" / f"{ext.name}.so"), str(tmp_path / "build" / f"{ext.name}.so")))  # fmt: skip
    cmd.failed = {name: "boom" for name in KERNEL_MODULES if name != "engine._fast.validation"}
    cmd.copy_extensions_to_source()
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["engine._fast.validation.so"]
    assert len(cmd.extensions) == len(KERNEL_MODULES)  # restored


@pytest.mark.skipif(importlib.util.find_spec("Cython") is None, reason="Cython is not installed")
def test_build_without_a_working_compiler_exits_0_with_one_warning(tmp_path: Path) -> None:
    """``CC=false``: the compiler exists but fails, as on a machine without one."""
    shutil.copy2(ROOT / "setup.py", tmp_path)
    for source in [*ROOT.glob("engine/_fast/*.p*"), *ROOT.glob("engine/_fast/*.c"), ROOT / "engine" / "__init__.py",
                   ROOT / "engine" / "_fast" / "__init__.py"]:  # fmt: skip
        target = tmp_path / source.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    env = {k: v for k, v in os.environ.items() if k not in ("ENGINE_NO_EXTENSIONS", "ENGINE_OPENSSL")}
    done = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--build-lib", "lib", "--build-temp", "tmp"],
        cwd=tmp_path, env={**env, "CC": "false", "LDSHARED": "false"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "pure-Python mode" in warnings[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not list((tmp_path / "lib").rglob("*.so"))
