"""Test-only: move one of a merchant's gateway accounts to another address, and an address that
refuses every connection.

A gateway account's ``base_url`` lives inside its sealed credentials, and no API changes it (an
admin field for it would be a way to send card data anywhere). A test that needs one gateway to
be unreachable therefore rewrites the row itself, as the engine would have sealed it (AES-GCM
under the key derived from ``ENGINE_ENCRYPTION_KEY``, bound to the account id), before the engine
has built a connector for that account (it caches connectors per account id for its lifetime).
"""

from __future__ import annotations

import base64
import contextlib
import socket
from collections.abc import Iterator

import asyncpg

from engine.crypto import Sealer


def _master(encryption_key: str) -> bytes:
    raw = encryption_key.strip()
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


async def repoint_account(database_url: str, encryption_key: str, merchant_id: str, gateway: str, base_url: str) -> str:
    """Re-seal ``merchant_id``'s ``gateway`` account with ``base_url``; returns the account id.

    Must run before the engine first routes a payment to that account (see the module docstring).
    """
    sealer = Sealer(_master(encryption_key))
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT id, credentials, key_id FROM gateway_accounts WHERE merchant_id = $1 AND gateway = $2",
            merchant_id,
            gateway,
        )
        assert row is not None, f"{merchant_id} has no {gateway} account"
        credentials = sealer.open(row["credentials"], row["key_id"], row["id"].encode())
        assert isinstance(credentials, dict)
        sealed = sealer.seal({**credentials, "base_url": base_url}, row["id"].encode())
        await conn.execute(
            "UPDATE gateway_accounts SET credentials = $2, key_id = $3 WHERE id = $1", row["id"], sealed, sealer.key_id
        )
    finally:
        await conn.close()
    return str(row["id"])


@contextlib.contextmanager
def refusing_address() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` where every connection is refused (RST to the SYN).

    The port is bound but never listened on, for as long as the block runs: nothing else can take
    it meanwhile (a merely free port could be picked up by another process and answer).
    """
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()
