"""``python -m bench [--quick]``: the side-by-side benchmark (see ``bench/runner/cli.py``)."""

from __future__ import annotations

import sys

from bench.runner.cli import main

if __name__ == "__main__":
    sys.exit(main())
