"""Graceful shutdown of one server process: the draining flag, the signal hook, safe loop stops.

uvicorn (0.55, read in its ``server.py``) handles SIGTERM/SIGINT with ``signal.signal``: the
handler sets ``should_exit``, its main loop notices within 0.1 s, closes the listener, closes
idle keep-alive connections, waits up to ``timeout_graceful_shutdown`` for requests in flight,
then runs the lifespan shutdown. This module adds what uvicorn does not do:

* ``/readyz`` answers 503 from the moment the signal arrives (``draining()``): the hook is chained
  in front of uvicorn's handler, in the worker process itself (with several workers uvicorn's
  parent forwards SIGTERM to each worker and waits for them; each worker drains on its own);
* an optional ``SHUTDOWN_DRAIN_S`` delay before uvicorn is told to stop, during which the
  listener stays open and ``/readyz`` already says 503, so a load balancer that probes it stops
  routing here before connections are refused (0 by default: stop accepting at once);
* background loops stop between two items (``stop_loops``; the reconciler claims one item at a
  time), never in the middle of one;
* every worker process exits 0 after its graceful stop (``worker_loop``), and the parent says
  how each worker ended and exits 1 if one did not exit 0 (``supervise_workers``).

A second SIGTERM changes nothing (the graceful stop goes on: a process-group kill sends one to
every worker on top of the parent's forwarded one); a second SIGINT, as in uvicorn, stops
waiting for requests in flight. Either way nothing is lost: a request cut off unlocks its
Idempotency-Key and every operation resumes from its last recovery point (as after SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uvicorn import Config

log = logging.getLogger("api.lifecycle")
_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_state = {"draining": False, "stopped": False}


def draining() -> bool:
    """Whether this process got its stop signal (``/readyz`` then answers 503)."""
    return _state["draining"]


def reset() -> None:
    """Forget a past stop signal (tests that run several apps in one process)."""
    _state["draining"] = _state["stopped"] = False


def _after_graceful_stop(sig: int, _frame: FrameType | None) -> None:
    """The SIGTERM handler uvicorn finds before taking over signals, so the one it restores and
    re-raises the handled SIGTERM into once its graceful stop is over (which, left at the default,
    ends the process with status -15): swallowed when this process did drain or stop its loops
    (a signal during the app's startup reaches uvicorn before the draining hook is chained, and
    uvicorn still stops gracefully), status 143 otherwise (the signal came before the server
    took over signals)."""
    if not (_state["draining"] or _state["stopped"]):
        raise SystemExit(128 + sig)


@contextlib.contextmanager
def exit_zero_after_graceful_stop() -> Iterator[None]:
    """Around ``uvicorn.run`` in the process that runs it: a finished graceful stop is a clean exit
    (status 0). Worker processes start at uvicorn's own entry point, never here: they get the same
    handler from :func:`worker_loop`."""
    previous = signal.signal(signal.SIGTERM, _after_graceful_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def worker_loop() -> asyncio.AbstractEventLoop:
    """uvicorn's loop factory (``loop="api.lifecycle:worker_loop"``): a uvloop (or asyncio) loop,
    after making a graceful stop a clean exit in this process.

    With several workers each is a fresh interpreter spawned by uvicorn's supervisor that runs
    ``Server.run`` directly, and this is the one hook that runs there before ``Server.serve``
    takes over signals (the app factory and the lifespan run after it). Without it the worker's
    SIGTERM handler is the default one, and a worker that drained fully still dies of the
    re-raised signal (-15), which the parent cannot tell from a worker killed mid-request.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _after_graceful_stop)
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def supervise_workers(config: Config) -> int:
    """Run ``config.workers`` worker processes under uvicorn's supervisor (what ``uvicorn.run``
    does with several workers) until SIGTERM/SIGINT, then say how each ended.

    Returns 0 when every worker exited 0 (it drained), else 1: uvicorn itself exits 0 whatever
    its workers did, and a supervisor (systemd, Kubernetes) must see a worker that was killed or
    failed to start. A worker that died while serving was replaced by uvicorn and is not counted.
    """
    from uvicorn.supervisors import Multiprocess

    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    status = 0
    for worker in supervisor.processes:
        if worker.exitcode == 0:
            log.info("worker %s exited with status 0", worker.pid)
        else:
            log.warning("worker %s exited with status %s", worker.pid, worker.exitcode)
            status = 1
    return status


def chain_signal_hook(loop: asyncio.AbstractEventLoop, drain_s: float) -> None:
    """Put the draining hook in front of the server's own SIGTERM/SIGINT handlers.

    Does nothing outside the main thread (signals can only be handled there) or when no
    server handler is installed (the in-process test stacks).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in _SIGNALS:
        previous = signal.getsignal(sig)
        if callable(previous) and previous is not signal.default_int_handler:
            signal.signal(sig, _hook(loop, previous, drain_s))


def _hook(
    loop: asyncio.AbstractEventLoop, previous: Callable[[int, FrameType | None], Any], drain_s: float
) -> Callable[[int, FrameType | None], None]:
    timer: list[asyncio.TimerHandle] = []
    forwarded = [drain_s <= 0]  # without a drain every signal goes straight to the server

    def forward(sig: int) -> None:
        if not forwarded[0]:
            forwarded[0] = True
            previous(sig, None)

    def later(sig: int) -> None:
        if not forwarded[0]:
            timer.append(loop.call_later(drain_s, forward, sig))

    def handler(sig: int, frame: FrameType | None) -> None:
        first = not _state["draining"]
        _state["draining"] = True
        if forwarded[0]:
            previous(sig, frame)  # the server is stopping: its own rules (a 2nd Ctrl-C forces)
        elif first:
            log.warning("stop signal received: draining for %ss before closing the listener", drain_s)
            # call_soon_threadsafe: a signal handler may run at any point of the loop's own code.
            loop.call_soon_threadsafe(later, sig)
        elif sig == signal.SIGINT:
            for pending in timer:
                pending.cancel()  # an impatient Ctrl-C ends the drain at once
            forward(sig)
        # a second SIGTERM during the drain changes nothing

    return handler


async def stop_loops(stop: asyncio.Event, tasks: Iterable[asyncio.Task[None]], within_s: float) -> None:
    """Ask the loops to stop after the item in hand; cancel what is still running after ``within_s``."""
    _state["stopped"] = True
    stop.set()
    tasks = list(tasks)
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=within_s)
    for task in late:
        log.warning("background loop did not stop within %ss; cancelling it", within_s)
        task.cancel()
    for task in late:
        with contextlib.suppress(asyncio.CancelledError):
            await task
