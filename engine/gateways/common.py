"""Helpers every connector shares (one copy each): which redirect URLs a customer may be sent
to, which hosts a connector trusts, how a transport failure is named, and the one comparison that
decides whether an inbound webhook is authentic."""

from __future__ import annotations

from urllib.parse import urlsplit

from engine import signing
from engine.gateways.base import GatewayConnector
from engine.gateways.http import HttpResult, Transport


def webhook_verified(connector: GatewayConnector, headers: dict[str, str], body: bytes) -> bool:
    """True when the webhook's proof, as ``connector`` declares it, matches its account's secret.

    The connector says what was presented and what it must equal; this compares them through
    ``signing.constant_time_equal`` -- the only comparison of webhook proofs in the engine, so a
    connector cannot get the timing (or an empty-proof edge case) wrong on its own.
    """
    proof = connector.webhook_proof(headers, body)
    if proof is None:
        return False
    if not proof.presented or not proof.expected:
        # An empty expected value would be a connector bug; an empty match must never pass.
        return False
    return bool(signing.constant_time_equal(proof.presented, proof.expected))


def trusted_hosts_of(base_url: str) -> frozenset[str]:
    """The hosts a connector trusts with plain ``http`` redirects: its configured API's own
    (a local sandbox); any other host must be ``https``."""
    host = urlsplit(base_url).hostname
    return frozenset({host}) if host else frozenset()


def safe_redirect_url(url: str, trusted_hosts: frozenset[str] = frozenset()) -> bool:
    """Only ``https`` URLs, or ``http`` ones on a host we trust (the configured base URL's),
    may be shown to a customer (reliability catalog G4: no ``javascript:`` or stray ``http:``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in trusted_hosts)


def why(result: HttpResult) -> str:
    """A short error code for an answer that proves nothing (transport failure or unreadable)."""
    if result.transport is not Transport.ANSWERED:
        return "transport_" + (result.error or result.transport.value)
    if not result.parsed:
        return f"unreadable_answer_http_{result.status}"
    return f"http_{result.status}"
