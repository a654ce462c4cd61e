"""Compiled (Cython) twins of ``engine._pyref``.

Empty until the compiled hot path lands; the facades in ``engine.validation`` and
``engine.signing`` fall back to the pure-Python implementations when a kernel is absent.
"""
