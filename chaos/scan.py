"""Leak scan: no card number or CVV in the database files, Redis or the engine's logs.

What is searched, byte for byte:

* every file under the PostgreSQL data directory (heap, indexes, ``pg_wal`` segments, the server
  log), after a ``CHECKPOINT`` so what was written is on disk twice over;
* Redis: every key of every logical database (``SCAN``), its name and its value read by type
  (``GET``/``HGETALL``/``LRANGE``/``SMEMBERS``/``ZRANGE``/``XRANGE``), plus an uncompressed RDB dump
  (``CONFIG SET rdbcompression no`` + ``SAVE``) of its memory;
* the engine's log files.

A leak is any of the run's card numbers (the full PAN, digits only or in groups of four), or a CVV
next to its field name (``"cvc": "123"``, ``card[cvv]=123``, ``ccvv=123``, ``card_security_code``...).
PostgreSQL and Redis must also hold no such field name at all: jsonb stores names and values apart,
and the engine has no business storing a CVV field, filled or not.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis

CVV_FIELD = rb"(?:cvc|cvv|ccvv|card_security_code|security_code)"
CVV_NEAR = re.compile(CVV_FIELD + rb"[\"'\]]?\s*(?:[:=]|%3A|%3D)\s*[\"']?(\d{3,4})\b", re.IGNORECASE)
# A field name on its own, lower case as the API spells it: either -- jsonb writes an object's keys
# one after another, shortest first -- followed by the next key of a card object
# (``...cvcnumber...``), or delimited on both sides as a name is in JSON, a form or a log line
# (``"cvc":``, ``card[cvv]=``, ``&ccvv=``). Random ids contain ``cvV`` often enough, and with a
# delimiter after it only, random binary did too: one chaos run in five on 2026-12-04 flagged a
# WAL segment (they hold megabytes of sealed secrets, HMACs and page images). 14 bytes may come
# before the name, not 193, so binary matches it about 14 times less often; every real form of a
# stored name has one of them.
_NAMES = rb"(?:cvc|cvv|ccvv|card_security_code)"
CVV_NAME = re.compile(
    rb"(?<![A-Za-z0-9_])" + _NAMES + rb"(?=number|exp_|holder)"
    rb"|(?:^|(?<=[\"'\[&?{,;\s]))" + _NAMES + rb"(?=[\"'\]=:\s])"
)


def card_patterns(numbers: Iterable[str]) -> list[bytes]:
    """The byte strings a leaked card number would show as."""
    out: list[bytes] = []
    for number in numbers:
        out.append(number.encode())
        out.append(" ".join(number[i : i + 4] for i in range(0, len(number), 4)).encode())
        out.append("-".join(number[i : i + 4] for i in range(0, len(number), 4)).encode())
    return out


def find_in(data: bytes, where: str, numbers: Iterable[str], cvvs: Iterable[str], names: bool) -> list[str]:
    """Leaks in one blob: card numbers, CVVs next to their field, CVV field names (when ``names``)."""
    found = [f"{where}: card number {p.decode()[:6]}…" for p in card_patterns(numbers) if p in data]
    wanted = {c.encode() for c in cvvs}
    for match in CVV_NEAR.finditer(data):
        if match.group(1) in wanted:
            found.append(f"{where}: CVV next to {match.group(0)[:24]!r}")
            break
    if names and (match := CVV_NAME.search(data)):
        found.append(f"{where}: CVV field name {match.group(0)!r} in {_context(data, match)}")
    return found


def _context(data: bytes, match: re.Match[bytes]) -> str:
    """The bytes around ``match``, digits masked (the finding is printed; a CVV or card number
    next to the name must not be)."""
    around = data[max(0, match.start() - 32) : match.end() + 32]
    return repr(re.sub(rb"\d", b"#", around))


def scan_files(paths: Iterable[Path], numbers: Iterable[str], cvvs: Iterable[str], names: bool) -> list[str]:
    """Scan every file under ``paths`` (files or directories)."""
    numbers, cvvs = list(numbers), list(cvvs)
    found: list[str] = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += find_in(data, str(path), numbers, cvvs, names)
    return found


async def redis_blobs(url: str, dump_dir: Path | None = None) -> list[tuple[str, bytes]]:
    """(where, bytes) for every key and value of every database of the Redis at ``url``, and the RDB
    dump it writes into its own ``dir`` (``dump_dir``: Redis 7 protects ``dir`` from CONFIG SET)."""
    client = aioredis.Redis.from_url(url)
    blobs: list[tuple[str, bytes]] = []
    try:
        databases = [int(name[2:]) for name in (await client.info("keyspace"))]  # db0, db3, ...
        for db in databases:
            one = aioredis.Redis.from_url(urlunsplit(urlsplit(url)._replace(path=f"/{db}")))
            try:
                async for name in one.scan_iter(count=500):
                    blobs.append((f"redis db{db} key {name[:40]!r}", name + b"\n" + await _value(one, name)))
            finally:
                await one.aclose()
        if dump_dir is not None:
            await client.config_set("rdbcompression", "no")
            await client.save()
            blobs += await asyncio.to_thread(_dumps, dump_dir)
    finally:
        await client.aclose()
    return blobs


def _dumps(dump_dir: Path) -> list[tuple[str, bytes]]:
    return [(f"redis dump {p.name}", p.read_bytes()) for p in dump_dir.glob("*.rdb")]


async def _value(client: aioredis.Redis, name: bytes) -> bytes:
    kind = (await client.type(name)).decode()
    if kind == "string":
        value = await client.get(name)
        return value or b""
    if kind == "hash":
        items = await client.hgetall(name)
        return b"\n".join(k + b"=" + v for k, v in items.items())
    if kind == "list":
        return b"\n".join(await client.lrange(name, 0, -1))
    if kind == "set":
        return b"\n".join(await client.smembers(name))
    if kind == "zset":
        return b"\n".join(await client.zrange(name, 0, -1))
    if kind == "stream":
        return repr(await client.xrange(name)).encode()
    return b""


async def scan_redis(url: str, numbers: Iterable[str], cvvs: Iterable[str], dump_dir: Path | None = None) -> list[str]:
    """Leaks in Redis (keys, values, the RDB dump)."""
    numbers, cvvs = list(numbers), list(cvvs)
    found: list[str] = []
    for where, blob in await redis_blobs(url, dump_dir):
        found += find_in(blob, where, numbers, cvvs, names=True)
    return found


__all__ = ["card_patterns", "find_in", "scan_files", "scan_redis"]
