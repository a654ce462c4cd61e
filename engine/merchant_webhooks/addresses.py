"""Where deliveries may go: ``http(s)://`` URLs whose host resolves only to public addresses.

Outside sandbox mode (and unless ``WEBHOOK_ALLOW_PRIVATE=1``) a URL is refused when ANY address
its host resolves to is loopback, private, link-local (cloud metadata: 169.254.169.254), shared,
reserved, multicast or unspecified -- checked when the endpoint is saved and again at every
delivery, through the resolver the delivery connects with (DNS can change in between).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver


class AddressRefused(Exception):
    """The URL is malformed or leads to an address deliveries must not reach."""


def public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def split_url(url: str) -> tuple[str, int]:
    """The host and port of an ``http(s)://`` URL; ``AddressRefused`` when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise AddressRefused("The URL is malformed.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused("The URL must be http:// or https:// with a host.")
    if parts.username or parts.password:
        raise AddressRefused("The URL must not carry credentials.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressRefused(f"The host {host[:100]!r} does not resolve.") from None
    return sorted({str(info[4][0]) for info in infos})


async def check_url(url: str, allow_private: bool) -> None:
    """Refuse a URL deliveries must not reach (``AddressRefused`` says why)."""
    host, port = split_url(url)
    if allow_private:
        return
    for address in await resolve(host, port):
        if not public_address(address):
            raise AddressRefused("The URL resolves to a loopback, private, link-local or metadata address.")


class PublicOnlyResolver(AbstractResolver):
    """aiohttp resolver that refuses a host with any non-public address: the connection is made
    to exactly the addresses that were checked."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if any(not public_address(r["host"]) for r in results):
            raise OSError(f"refused: {host[:100]} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


def resolver_for(allow_private: bool) -> Any:
    """The resolver deliveries connect with."""
    return DefaultResolver() if allow_private else PublicOnlyResolver()
