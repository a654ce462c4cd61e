-- Durable operations (Brandur Leach's atomic phases and recovery points).
--
-- An idempotency key remembers how far its request got: the recovery point and the object it
-- created, written in the same transaction as each phase's state change. A retry after a crash
-- resumes from there instead of creating a second payment, attempt or refund.
ALTER TABLE idempotency_keys ADD COLUMN recovery_point text NOT NULL DEFAULT 'started'
    CHECK (recovery_point IN ('started', 'payment_created', 'charge_started', 'capture_started',
                              'refund_created'));
ALTER TABLE idempotency_keys ADD COLUMN object_id text;
ALTER TABLE idempotency_keys ADD CONSTRAINT recovery_point_has_object
    CHECK (recovery_point = 'started' OR object_id IS NOT NULL);

-- Follow-up work is a row, not a coroutine: written in the transaction that makes it
-- necessary, run by whoever holds its lease (held_until: the request that created it, a
-- merchant's retry, or any process's background worker, which claims due rows with SKIP
-- LOCKED), retried on a backoff ladder (run_at), and visible until done. A row past its last
-- retry stays 'pending' with run_at NULL: unresolved and visible for a human, never dropped.
CREATE TABLE work_items (
    id           bigserial PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants(id),
    kind         text NOT NULL CHECK (kind IN ('capture')),
    payment_id   text NOT NULL,
    attempt_id   text NOT NULL,
    amount       bigint CHECK (amount > 0),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    tries        integer NOT NULL DEFAULT 0,
    run_at       timestamptz DEFAULT now(),
    held_until   timestamptz,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT work_payment_same_merchant FOREIGN KEY (payment_id, merchant_id) REFERENCES payments (id, merchant_id),
    CONSTRAINT work_attempt_same_merchant FOREIGN KEY (attempt_id, merchant_id)
        REFERENCES payment_attempts (id, merchant_id)
);
-- At most one open capture per attempt: a second "capture it" is the same work.
CREATE UNIQUE INDEX work_one_open_per_attempt ON work_items (kind, attempt_id) WHERE state = 'pending';
CREATE INDEX work_due ON work_items (run_at) WHERE state = 'pending' AND run_at IS NOT NULL;
