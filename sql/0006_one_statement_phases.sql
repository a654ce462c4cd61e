-- One statement per phase: each phase reads its rows once and writes everything it changes
-- (attempt, payment, events, work rows, the idempotency key) in ONE statement, guarded by the
-- versions it read. A guard that no longer matches (another writer got there first) raises
-- serialization_failure, which rolls the whole statement back; the phase re-reads and folds again.
ALTER TABLE payment_attempts ADD COLUMN version integer NOT NULL DEFAULT 1;

CREATE FUNCTION stale_write(what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stale write: % changed since it was read', what USING ERRCODE = 'serialization_failure';
END;
$$;
