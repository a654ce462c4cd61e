"""``python -m engine._fast``: one line saying whether the compiled kernels are built and used."""

from __future__ import annotations

import sys

from engine._fast import compiled_kernels
from engine._select import extensions_disabled


def main() -> int:
    """Print the status line; warnings go to stderr. Always exits 0 (pure mode is supported)."""
    found = compiled_kernels()
    missing = [name for name, ok in found.items() if not ok]
    if missing:
        print(f"warning: compiled kernels not built ({', '.join(missing)}); "
              "the engine runs in pure-Python mode", file=sys.stderr)  # fmt: skip
        return 0
    from engine._fast import signing

    mode = "disabled by ENGINE_NO_EXTENSIONS=1" if extensions_disabled() else "in use"
    print(f"engine._fast: compiled kernels {', '.join(found)} built and {mode} (digests: {signing.backend()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
