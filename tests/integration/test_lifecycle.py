"""Shutdown mechanics in process: the signal hook, the drain delay, loops stopping between passes."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from api import lifecycle
from engine.services import housekeeping, reconciler


@pytest.fixture
def server_handlers() -> Iterator[list[int]]:
    """Stand-ins for uvicorn's SIGTERM/SIGINT handlers, recording what reaches them; restored after."""
    seen: list[int] = []

    def server(sig: int, _frame: FrameType | None) -> None:
        seen.append(sig)

    saved = {sig: signal.signal(sig, server) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield seen
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        lifecycle.reset()


async def until(check, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110 - the observable is set by a signal handler
            await asyncio.sleep(0.01)


async def test_the_hook_marks_draining_and_forwards_at_once(server_handlers: list[int]) -> None:
    lifecycle.chain_signal_hook(asyncio.get_running_loop(), drain_s=0)
    assert not lifecycle.draining()
    os.kill(os.getpid(), signal.SIGTERM)
    await until(lambda: server_handlers == [signal.SIGTERM])
    assert lifecycle.draining()


async def test_with_a_drain_the_server_is_told_only_after_it(server_handlers: list[int]) -> None:
    loop = asyncio.get_running_loop()
    lifecycle.chain_signal_hook(loop, drain_s=0.3)
    signalled = loop.time()
    os.kill(os.getpid(), signal.SIGTERM)
    await until(lifecycle.draining)
    assert server_handlers == []  # draining: readiness says 503, the listener is still open
    os.kill(os.getpid(), signal.SIGTERM)  # a second SIGTERM changes nothing
    await until(lambda: server_handlers == [signal.SIGTERM])
    assert loop.time() - signalled >= 0.29


async def test_ctrl_c_cuts_the_drain_short(server_handlers: list[int]) -> None:
    loop = asyncio.get_running_loop()
    lifecycle.chain_signal_hook(loop, drain_s=30)
    os.kill(os.getpid(), signal.SIGTERM)
    await until(lifecycle.draining)
    os.kill(os.getpid(), signal.SIGINT)
    await until(lambda: server_handlers == [signal.SIGINT], within=2)


async def test_loops_stop_between_passes_without_being_cancelled(stack) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(housekeeping.run_forever(stack.engine, every_s=3600, stop=stop)),
        asyncio.create_task(reconciler.run_forever(stack.engine, 3600, stop)),
    ]
    await asyncio.sleep(0.2)  # let both finish their first pass and wait for the next
    await lifecycle.stop_loops(stop, tasks, within_s=5)
    assert all(t.done() and not t.cancelled() for t in tasks)


async def test_a_loop_that_overruns_is_cancelled() -> None:
    stuck = asyncio.create_task(asyncio.sleep(60))
    await lifecycle.stop_loops(asyncio.Event(), [stuck], within_s=0.1)
    assert stuck.cancelled()


@pytest.fixture
def fresh_state() -> Iterator[None]:
    """No stop signal nor loop stop seen yet; forgotten again after the test."""
    lifecycle.reset()
    yield
    lifecycle.reset()


async def test_the_sigterm_uvicorn_re_raises_after_a_graceful_stop_is_a_clean_exit(fresh_state: None) -> None:
    """A signal that reached uvicorn during the app's startup (before the draining hook was
    chained) still ends in a graceful stop: once the loops are stopped, the re-raised SIGTERM
    (raise_signal runs the Python handler before returning) does not end the process."""
    with lifecycle.exit_zero_after_graceful_stop():
        await lifecycle.stop_loops(asyncio.Event(), [], within_s=1)
        signal.raise_signal(signal.SIGTERM)


async def test_a_sigterm_before_the_server_took_over_exits_143(fresh_state: None) -> None:
    with lifecycle.exit_zero_after_graceful_stop(), pytest.raises(SystemExit) as exited:
        signal.raise_signal(signal.SIGTERM)
    assert exited.value.code == 143
