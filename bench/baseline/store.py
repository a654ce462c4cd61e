"""Blocking PostgreSQL access for the baseline: psycopg 3, a pool per worker, prepared statements.

Every query runs on a connection with ``prepare_threshold=0``, so psycopg prepares it on first
use and reuses the plan on that connection afterwards. Connections are in autocommit mode: a
single statement costs one round trip, and multi-statement changes use explicit transactions.
The SQL writes the engine's tables (``sql/0001_core.sql``): the same rows per request as the
engine writes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

# One statement: the idempotency record (with its final response), the payment and its event.
CREATE_WITH_KEY = """
WITH claimed AS (
    INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, response_status,
                                  response_body, expires_at)
    VALUES (%(merchant_id)s, %(key)s, 'POST', %(path)s, %(fingerprint)s, 'done', 201, %(body)s,
            now() + interval '24 hours')
    ON CONFLICT (merchant_id, key) DO NOTHING
    RETURNING key
), pay AS (
    INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, merchant_order_id,
                          description, metadata, created_at, updated_at)
    SELECT %(id)s, %(merchant_id)s, %(amount)s, %(currency)s, 'requires_payment_method', %(capture_method)s,
           %(merchant_order_id)s, %(description)s, %(metadata)s, %(now)s, %(now)s
     WHERE EXISTS (SELECT 1 FROM claimed)
    RETURNING id, merchant_id
), event AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT %(event_id)s, merchant_id, 'payment.created', id, %(view)s FROM pay
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM claimed) AS claimed"""

CREATE_WITHOUT_KEY = """
WITH pay AS (
    INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, merchant_order_id,
                          description, metadata, created_at, updated_at)
    VALUES (%(id)s, %(merchant_id)s, %(amount)s, %(currency)s, 'requires_payment_method', %(capture_method)s,
            %(merchant_order_id)s, %(description)s, %(metadata)s, %(now)s, %(now)s)
    RETURNING id, merchant_id
)
INSERT INTO events (id, merchant_id, type, object_id, data)
SELECT %(event_id)s, merchant_id, 'payment.created', id, %(view)s FROM pay"""

CLAIM_KEY = """
INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at)
VALUES (%s, %s, 'POST', %s, %s, 'in_flight', now() + interval '24 hours')
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING key"""

GET_KEY = """
SELECT method, path, fingerprint, state, response_status, response_body
  FROM idempotency_keys WHERE merchant_id = %s AND key = %s"""

COMPLETE_KEY = """
UPDATE idempotency_keys SET state = 'done', response_status = %s, response_body = %s
 WHERE merchant_id = %s AND key = %s AND state = 'in_flight'"""

GET_PAYMENT = "SELECT * FROM payments WHERE id = %s AND merchant_id = %s"
LOCK_PAYMENT = "SELECT * FROM payments WHERE id = %s AND merchant_id = %s FOR NO KEY UPDATE"

INSERT_ATTEMPT = """
INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, status, amount, method_type)
VALUES (%s, %s, %s, 'razorpay', 'pending', %s, %s)"""

START_PAYMENT = """
UPDATE payments
   SET status = 'processing', gateway = 'razorpay', payment_method = %s, last_error = NULL, next_action = NULL,
       version = version + 1, updated_at = now()
 WHERE id = %s AND merchant_id = %s
RETURNING *"""

LOCK_ATTEMPT = "SELECT id FROM payment_attempts WHERE id = %s AND merchant_id = %s FOR NO KEY UPDATE"

FINISH_ATTEMPT = """
UPDATE payment_attempts
   SET status = %s, amount_captured = %s, gateway_order_id = %s, gateway_reference = %s, decline_code = %s,
       error_code = %s, error_message = %s, raw_status = %s, updated_at = now()
 WHERE id = %s AND merchant_id = %s"""

FINISH_PAYMENT = """
UPDATE payments
   SET status = %s, amount_received = %s, gateway_reference = %s, last_error = %s,
       version = version + 1, updated_at = now()
 WHERE id = %s AND merchant_id = %s
RETURNING *"""

INSERT_EVENT = "INSERT INTO events (id, merchant_id, type, object_id, data) VALUES (%s, %s, %s, %s, %s)"

MERCHANT_FOR_KEY = "SELECT merchant_id FROM api_keys WHERE key_hash = %s AND revoked_at IS NULL"

Row = dict[str, Any]


class Store:
    """A connection pool opened lazily in the process (and so per gunicorn worker, after fork)."""

    def __init__(self, dsn: str, min_size: int = 1, max_size: int = 4) -> None:
        """Remember where PostgreSQL is and how big each worker's pool may grow."""
        self.dsn = dsn
        self.min_size = min_size
        self.max_size = max_size
        self._pool: ConnectionPool | None = None
        self._pid = 0
        self._lock = threading.Lock()

    @property
    def pool(self) -> ConnectionPool:
        """This process's pool (a forked worker never reuses its parent's connections)."""
        if self._pool is None or self._pid != os.getpid():
            with self._lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.dsn,
                        min_size=self.min_size,
                        max_size=self.max_size,
                        kwargs={"prepare_threshold": 0, "row_factory": dict_row, "autocommit": True},
                        open=True,
                        name="baseline",
                    )
                    self._pid = os.getpid()
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection in autocommit mode: each statement is its own transaction (one round trip)."""
        with self.pool.connection() as conn:
            yield conn  # type: ignore[misc]

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection inside ``BEGIN`` ... ``COMMIT`` (rolled back on an exception)."""
        with self.pool.connection() as conn, conn.transaction():
            yield conn  # type: ignore[misc]

    def close(self) -> None:
        """Close the pool (tests; gunicorn workers just exit)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def one(conn: psycopg.Connection[Row], sql: str, params: Any) -> Row | None:
    """The first row of ``sql`` (or ``None``)."""
    return conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
