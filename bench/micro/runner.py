"""Timing, the machine's description, and the printed table of ``python -m bench.micro``."""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
import platform
import ssl
import statistics
import timeit
from collections.abc import Iterator
from importlib import import_module
from types import ModuleType
from typing import Any

from bench.micro.cases import Case

PURE = {name: import_module(f"engine._pyref.{name}") for name in ("validation", "signing")}
try:
    COMPILED: dict[str, ModuleType] | None = {name: import_module(f"engine._fast.{name}") for name in PURE}
except ImportError:  # not built: only the pure and stdlib columns can be measured
    COMPILED = None

IMPLEMENTATIONS = ("pure", "compiled", "compiled_hashlib", "stdlib")
"""``compiled_hashlib``: what a build without OpenSSL runs: the compiled kernels on the ``hashlib``
backend, and the pure Paytm functions (which such a build re-exports)."""


def implementations(case: Case) -> list[str]:
    """The implementations this case can be timed with, here."""
    found = ["pure"]
    if COMPILED is not None:
        found.append("compiled")
        signs = any(path.startswith("signing.") for path in case.kernels.values())
        if signs and COMPILED["signing"].backend() == "openssl":
            found.append("compiled_hashlib")
    if case.stdlib is not None:
        found.append("stdlib")
    return found


def bind(case: Case, implementation: str) -> dict[str, Any]:
    """The statement's globals for one implementation: its values and its functions."""
    if implementation == "stdlib":
        assert case.stdlib is not None
        functions: dict[str, Any] = dict(case.stdlib)
    else:
        assert COMPILED is not None
        functions = {}
        for alias, path in case.kernels.items():
            module, name = path.split(".")
            pure = implementation == "pure" or (implementation == "compiled_hashlib" and name.startswith("paytm_"))
            functions[alias] = getattr((PURE if pure else COMPILED)[module], name)
    return {**case.values, **functions}


@contextlib.contextmanager
def backend(implementation: str) -> Iterator[None]:
    """Put the compiled signing kernel on the hashlib backend for ``compiled_hashlib`` batches."""
    if implementation != "compiled_hashlib" or COMPILED is None:
        yield
        return
    COMPILED["signing"]._set_backend("hashlib")
    try:
        yield
    finally:
        COMPILED["signing"]._set_backend("openssl")


def calibrate(timer: timeit.Timer, batch_s: float) -> int:
    """Loops per batch so that a batch lasts about ``batch_s`` (also warms the statement up)."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= batch_s / 4 or number >= 10**7:
            return max(1, int(number * batch_s / max(elapsed, 1e-9)))
        number *= 4


def measure(case: Case, repeat: int, batch_s: float) -> dict[str, list[float]]:
    """Nanoseconds per call of each implementation, one sample per batch.

    Batches of the implementations are interleaved, rotating which goes first, so that a busy
    moment of the machine spreads over all of them instead of biasing one; gc is off in a batch.
    """
    names = implementations(case)
    timers = {name: timeit.Timer(case.stmt, globals=bind(case, name)) for name in names}
    numbers = {}
    for name in names:
        with backend(name):
            numbers[name] = calibrate(timers[name], batch_s)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for turn in range(repeat):
        shift = turn % len(names)
        for name in names[shift:] + names[:shift]:
            with backend(name):
                elapsed = timers[name].timeit(numbers[name])
            samples[name].append(elapsed / numbers[name] * 1e9)
    gc.collect()
    return samples


def summarise(case: Case, samples: dict[str, list[float]]) -> dict[str, Any]:
    """The JSON record of a case: min/median/max per implementation, speed-ups (on minima), targets."""
    ns = {
        name: {
            "min": round(min(v), 1),
            "median": round(statistics.median(v), 1),
            "max": round(max(v), 1),
            "batches": len(v),
        }
        for name, v in samples.items()
    }
    best = {name: value["min"] for name, value in ns.items()}
    record: dict[str, Any] = {"case": case.name, "group": case.group, "ns_per_call": ns}
    if "compiled" in best:
        record["speedup_vs_pure"] = round(best["pure"] / best["compiled"], 2)
        if "stdlib" in best:
            record["speedup_vs_stdlib"] = round(best["stdlib"] / best["compiled"], 2)
        if "compiled_hashlib" in best:
            record["hashlib_build_speedup_vs_pure"] = round(best["pure"] / best["compiled_hashlib"], 2)
        if all(bind(case, "compiled")[alias] is bind(case, "pure")[alias] for alias in case.kernels):
            record["facade_uses"] = "pure (re-exported by the compiled module)"
        elif best["compiled"] <= best["pure"] * 1.03:  # within noise or faster
            record["facade_uses"] = "compiled"
        else:
            record["facade_uses"] = "compiled (slower on this input; see note)"
    if case.speedup_target is not None:
        record["target"] = f">= {case.speedup_target}x faster than pure"
        record["target_met"] = record.get("speedup_vs_pure", 0) >= case.speedup_target
    if case.max_ns_target is not None:
        record["target"] = f"< {case.max_ns_target / 1000:g} us compiled"
        record["target_met"] = "compiled" in best and best["compiled"] < case.max_ns_target
    if case.note:
        record["note"] = case.note
    return record


def machine() -> dict[str, Any]:
    """Where the figures come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    try:
        cython = import_module("Cython").__version__
    except ImportError:
        cython = None
    return {
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "openssl": ssl.OPENSSL_VERSION,
        "cython": cython,
        "compiled_kernels": COMPILED is not None,
        "digest_backend": COMPILED["signing"].backend() if COMPILED else None,
        "when": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _ns(record: dict[str, Any], name: str) -> str:
    value = record["ns_per_call"].get(name)
    return f"{value['min']:,.0f}" if value else "-"


def _times(record: dict[str, Any], key: str) -> str:
    return f"{record[key]:.1f}x" if key in record else "-"


def table(records: list[dict[str, Any]]) -> str:
    """The printed table: nanoseconds per call (minimum over batches) and speed-ups of compiled."""
    head = ("case", "pure ns", "compiled ns", "vs pure", "stdlib ns", "vs stdlib", "no-OpenSSL build ns", "facade uses")
    rows = [head]
    for r in records:
        rows.append(
            (
                r["case"],
                _ns(r, "pure"),
                _ns(r, "compiled"),
                _times(r, "speedup_vs_pure"),
                _ns(r, "stdlib"),
                _times(r, "speedup_vs_stdlib"),
                _ns(r, "compiled_hashlib"),
                r.get("facade_uses", "pure"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:-1], strict=True))]
        lines.append("  ".join([*cells, row[-1]]))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def targets(records: list[dict[str, Any]]) -> str:
    """One line per target of issue 4: figure, target, met or not."""
    lines = []
    for r in records:
        if "target" in r:
            figure = f"{r['speedup_vs_pure']:.1f}x" if "x faster" in r["target"] else f"{_ns(r, 'compiled')} ns"
            lines.append(f"  {'MET ' if r['target_met'] else 'MISSED'}  {r['case']}: {figure} (target {r['target']})")
    return "\n".join(lines)
