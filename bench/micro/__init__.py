"""Micro-benchmarks of the hot-path kernels: compiled (``engine._fast``) vs pure (``engine._pyref``).

Each case times one kernel call (or a composite: a card payment's validation, a whole request's
validate-and-sign hot path) three ways — the pure twin, the compiled kernel, and the plain
standard-library way of doing the same job (``stdlib.py``) — plus, for signing, the compiled
kernel on its ``hashlib`` fallback backend (what a build without OpenSSL headers gets).

    python -m bench.micro                 # full run: table on stdout, bench/results/micro.json
    python -m bench.micro --quick         # fewer repeats, for a smoke test
    python -m bench.micro --only paytm    # cases whose name contains "paytm"

Timing (``runner.py``): per implementation a ``timeit`` statement calls the functions directly
(no wrapper), calibrated to batches of ``--batch-ms``; batches of the implementations are
interleaved (rotating order) and repeated ``--repeat`` times after a warm-up, with the garbage
collector off. The table shows the per-call minimum (the least disturbed batch) and the JSON also
keeps the median and maximum, so the spread on a busy machine is visible.
"""
