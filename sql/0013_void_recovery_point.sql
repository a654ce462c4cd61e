-- A cancel's void is a recovery point, like a capture's: the void row and the key's recovery
-- point are written in one transaction, so a retry after a crash learns that void's outcome
-- (run by the retry or by the background worker) instead of starting over and finding the
-- payment already canceled.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_recovery_point_check;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_recovery_point_check
    CHECK (recovery_point IN ('started', 'payment_created', 'charge_started', 'capture_started',
                              'refund_created', 'void_started'));
