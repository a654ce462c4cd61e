"""``python -m bench``: the side-by-side benchmark (engine, synchronous baseline, ceiling).

Modules: ``procs`` (child process groups), ``sandbox`` (the sandbox as benchmarked), ``systems``
(starting each system under test), ``monitor`` (RSS and CPU of process trees), ``loadrun``
(headless locust runs and their CSV stats), ``plan`` (the full and quick profiles), ``report``
(JSON, markdown, charts, summary lines) and ``cli`` (the orchestration).
"""
