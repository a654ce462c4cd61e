"""How a failure that the engine survives is logged: by the background loops (reconciler, work,
deliveries, housekeeping) and by the request path where it carries on (a capture left to the
worker, a connector that raised after its request left).

A failure because PostgreSQL is unreachable says nothing about the code, and it repeats every
pass or request until the database is back: one warning line per minute per kind of failure,
without a traceback, is what an operator needs. Any other failure is a bug or a surprise and
keeps its full traceback every time.
"""

from __future__ import annotations

import logging

from engine.logs import ThrottledWarning
from engine.store.db import is_outage

_outages = ThrottledWarning(logging.getLogger("engine.loops"))


def report_failure(log: logging.Logger, message: str, exc: BaseException, *args: object) -> None:
    """Log a survived failure (``message % args``): throttled when it is a database outage."""
    if is_outage(exc):
        _outages.warn(f"{log.name}: {message}", f"PostgreSQL is unreachable: {message % args}", exc=exc)
    else:
        log.error(message, *args, exc_info=exc)
