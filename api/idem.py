"""Running a POST under its ``Idempotency-Key`` (semantics in engine/services/idempotency.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from api.answers import Answer
from api.render import OK
from engine.bootstrap import Engine
from engine.errors import EngineError, InvalidRequest, OutcomePending
from engine.results import Render, Result
from engine.services import idempotency
from engine.store.db import is_outage

REPLAYED = (("Idempotent-Replayed", "true"),)
# Answers that say "nothing was done, try again later": the key must not remember them.
_RETRY_LATER = frozenset({429, 503})
Handler = Callable[[idempotency.Claim | None], Awaitable[Result | idempotency.Replay]]


@dataclass(slots=True)
class Call:
    """An admitted request, as the handlers of its route see it (whatever served it)."""

    method: str
    path: str
    idempotency_key: str | None
    body: msgspec.Struct | None  # decoded by api/admission.py
    raw: bytes = b""  # the body as sent, when the route decodes none
    merchant_id: str = ""
    publishable: bool = False


def key_claim(call: Call, engine: Engine, merchant_id: str, render: Render = OK) -> idempotency.Claim | None:
    """This request's (unstored) claim, or ``None`` without a key; 400 for a malformed key."""
    key = call.idempotency_key
    if key is None:
        return None
    idempotency.check_key(key)
    # The fingerprint is taken over the decoded parameters in a canonical order, so the same
    # request with its JSON keys reordered or reformatted is recognised as the same request.
    body = msgspec.json.encode(call.body, order="sorted") if call.body is not None else call.raw
    return idempotency.new_claim(engine, merchant_id, key, call.method, call.path, body, render)


def replay_answer(replay: idempotency.Replay) -> Answer:
    """The stored first response, byte for byte, flagged as a replay."""
    return Answer(replay.status, replay.body, REPLAYED)


async def run(
    call: Call,
    engine: Engine,
    merchant_id: str,
    handler: Handler,
    *,
    render: Render = OK,
    pre_claim: bool = True,
) -> Answer:
    """Claim the key (unless the handler claims it itself, at its first write), run, and answer.

    ``InvalidRequest`` errors (and 429/503) before the first recovery point mean "rejected before
    any work": the claim is released so the key stores nothing; a 429/503 after it unlocks the
    key (a retry resumes). Any other failure after work
    began is stored as the key's response. A request cancelled mid-way (shutdown) unlocks its
    key, so a retry resumes from the last recovery point at once. Only a key this request holds
    is ever unlocked, released or answered (``Claim.hold``).
    """
    started = time.monotonic()
    claim = key_claim(call, engine, merchant_id, render)
    if claim is not None and pre_claim:
        outcome = await idempotency.claim(engine, claim)
        if isinstance(outcome, idempotency.Replay):
            return replay_answer(outcome)
        claim = outcome
    try:
        result = await handler(claim)
    except asyncio.CancelledError:
        if claim is not None and claim.hold.held:
            await asyncio.shield(idempotency.unlock(engine, claim))
        raise
    except OutcomePending:
        if claim is not None and claim.hold.held:
            await idempotency.unlock(engine, claim)
        raise
    except EngineError as exc:
        if claim is None or not claim.hold.held:
            raise
        rejected = isinstance(exc, InvalidRequest) or exc.status in _RETRY_LATER
        if rejected and await idempotency.release(engine, claim):
            raise
        if exc.status in _RETRY_LATER:
            # "Busy, retry later" (a full bulkhead or starved pool, every gateway unavailable)
            # after a recovery point: not the operation's answer. Unlocked, the key lets a retry
            # resume from that point, as after a cancelled request.
            await idempotency.unlock(engine, claim)
            raise
        await idempotency.remember(engine.db, claim, exc)  # work began: the error is the key's answer
        result = exc
    except Exception as exc:
        if not is_outage(exc):
            raise
        # PostgreSQL went away mid-operation: what committed stays (the key's recovery point,
        # any work row), so the answer is "retry": a retry with the same key resumes from the
        # last recovery point. Unlock it if PostgreSQL still answers, else as soon as it does.
        if claim is not None and claim.hold.held:
            try:
                await idempotency.unlock(engine, claim)
            except Exception:
                idempotency.unlock_later(claim, started)
        raise
    if isinstance(result, idempotency.Replay):
        return replay_answer(result)
    return Answer(*render(result))
