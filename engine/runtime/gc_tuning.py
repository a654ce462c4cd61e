"""Garbage-collector settings for a long-running server process.

A checkout allocates thousands of short-lived container objects (decoded bodies, records, dicts
of headers), so CPython's default generation-0 threshold (700 allocations) runs a young
collection every few requests, and every tenth of those promotes survivors that later make the
full collections walk the whole heap -- including the hundreds of thousands of objects imported
at start-up (Litestar, msgspec types, asyncpg codecs), which never become garbage. Freezing the
start-up heap takes those out of every collection, and a higher young threshold makes the
collections rarer without changing what is collected: reference counting still frees nearly
everything at once, the collector only finds cycles.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
# Older generations at CPython's defaults: a gen-1 pass every 10 young ones, gen-2 after 10 gen-1.
OLDER_THRESHOLDS = (10, 10)


def tune_for_serving() -> None:
    """Move everything alive now to the permanent generation and make young collections rarer.

    Call once, after start-up (imports, pools, caches) and before serving traffic."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
