-- Routing decision kept on the payment (which gateway, which were skipped and why, failovers),
-- and the reconciler's bookkeeping on attempts.

ALTER TABLE payments ADD COLUMN routing jsonb;

ALTER TABLE payment_attempts ADD COLUMN failover_reason text;
ALTER TABLE payment_attempts ADD COLUMN last_synced_at timestamptz;

-- The reconciler scans only unresolved attempts that are due; NULL next_sync_at means
-- "gave up asking": the attempt stays visible as unresolved for a human, never failed.
DROP INDEX attempts_to_sync;
CREATE INDEX attempts_due ON payment_attempts (next_sync_at)
    WHERE status IN ('pending', 'unknown', 'processing', 'requires_action') AND next_sync_at IS NOT NULL;
