"""The chaos run's merchant client: retries under the same Idempotency-Key, records every answer.

A request is retried, with the same key and body, while its answer says "not decided yet": no
answer at all (the engine was killed, refused the connection, dropped it), 503 (a dependency or
the process is down, overloaded), 409 ``idempotency_key_in_use`` (the dead request's lock still
holds), 502 ``charge_pending`` / ``outcome_pending`` (the resumed charge is being resolved) /
``authentication_pending`` (the resumed charge's page was lost; the gateway has not failed it yet).
Anything else is what the client was *told*, and the :class:`Journal` keeps it: the checks hold
the engine and the gateway to it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

RETRY_CODES = frozenset(
    {"idempotency_key_in_use", "charge_pending", "outcome_pending", "capture_pending", "authentication_pending"}
)


@dataclass
class Answer:
    """One HTTP answer the client received (``status`` 0: no answer, the transport failed)."""

    key: str
    path: str
    status: int
    body: bytes
    replayed: bool = False

    def json(self) -> Any:
        """The decoded body (``None`` when it is not JSON)."""
        import json

        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def code(self) -> str | None:
        """The error code of an error answer."""
        data = self.json()
        return data.get("error", {}).get("code") if isinstance(data, dict) else None


@dataclass
class Journal:
    """Everything the clients were told, by idempotency key, plus counters for the summary."""

    answers: dict[str, list[Answer]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    gave_up: list[str] = field(default_factory=list)

    def add(self, answer: Answer) -> None:
        """Record one answer."""
        self.answers.setdefault(answer.key, []).append(answer)
        self.statuses[answer.status] += 1

    def told(self, key: str) -> list[Answer]:
        """The decided answers of ``key`` (2xx or a final 4xx/5xx), oldest first."""
        return [a for a in self.answers.get(key, []) if a.status and not retryable(a)]

    def objects(self, key: str) -> set[str]:
        """Every object id a 2xx answer of ``key`` named."""
        ids = set()
        for answer in self.told(key):
            data = answer.json()
            if 200 <= answer.status < 300 and isinstance(data, dict) and isinstance(data.get("id"), str):
                ids.add(data["id"])
        return ids

    @property
    def client_5xx(self) -> int:
        """5xx answers received, reads included (each then retried or final)."""
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def no_answer(self) -> int:
        """Requests (reads included) that got no answer at all (connection refused, reset, timed out)."""
        return self.statuses[0]


def retryable(answer: Answer) -> bool:
    """True when the answer says "not decided yet, retry with the same key"."""
    if answer.status == 0 or answer.status == 503:
        return True
    return answer.status in (409, 502) and answer.code in RETRY_CODES


class ChaosClient:
    """One merchant's HTTP client with the retry policy above; every answer goes to ``journal``."""

    def __init__(self, base_url: str, api_key: str, journal: Journal, deadline_s: float = 120.0) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=httpx.Timeout(20, connect=2),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self.journal = journal
        self.deadline_s = deadline_s

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def once(self, path: str, body: dict[str, Any], key: str) -> Answer:
        """One POST under ``key``; a transport failure is an answer with status 0."""
        try:
            response = await self.http.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            answer = Answer(key, path, 0, type(exc).__name__.encode())
        else:
            replayed = response.headers.get("idempotent-replayed") == "true"
            answer = Answer(key, path, response.status_code, response.content, replayed)
        self.journal.add(answer)
        return answer

    async def post(self, path: str, body: dict[str, Any], key: str) -> Answer | None:
        """POST until decided (see the module doc); ``None`` if still undecided at the deadline."""
        started, pause = time.monotonic(), 0.1
        while True:
            answer = await self.once(path, body, key)
            if not retryable(answer):
                return answer
            if time.monotonic() - started > self.deadline_s:
                self.journal.gave_up.append(key)
                return None
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    async def get(self, path: str) -> Any | None:
        """GET a JSON object, retrying through outages for a while; ``None`` if it never answered 200."""
        for _ in range(60):
            try:
                response = await self.http.get(path)
            except httpx.HTTPError:
                response = None
            self.journal.statuses[response.status_code if response is not None else 0] += 1
            if response is not None and response.status_code == 200:
                return response.json()
            if response is not None and response.status_code < 500:
                return None
            await asyncio.sleep(0.5)
        return None


__all__ = ["Answer", "ChaosClient", "Journal", "retryable"]
