"""Random identifiers of sandbox objects (order, payment, transaction ids, reference numbers).

They must be unique, not secret -- a sandbox id guards nothing -- so they come from one PRNG
seeded from the OS, not from ``secrets.choice``, which made a system call per character (8% of
the sandbox's CPU in a checkout benchmark, and the sandbox shares the machine with the engine).
"""

from __future__ import annotations

import os
import random

_rng = random.Random(os.urandom(16))


def random_chars(alphabet: str, count: int) -> str:
    """``count`` characters drawn from ``alphabet``."""
    return "".join(_rng.choices(alphabet, k=count))
