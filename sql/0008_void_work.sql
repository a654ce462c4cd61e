-- Voiding an authorization (a cancel) is follow-up work too: the row is written before the
-- gateway is asked, so a void whose answer was lost is finished by the worker (voiding twice is
-- safe: the gateway reports the transaction's state) instead of leaving the money held.
ALTER TABLE work_items DROP CONSTRAINT work_kind;
ALTER TABLE work_items ADD CONSTRAINT work_kind CHECK (kind IN ('capture', 'void', 'register_customer'));
ALTER TABLE work_items DROP CONSTRAINT work_targets;
ALTER TABLE work_items ADD CONSTRAINT work_targets CHECK (
       (kind IN ('capture', 'void') AND payment_id IS NOT NULL AND attempt_id IS NOT NULL)
    OR (kind = 'register_customer' AND customer_id IS NOT NULL AND gateway_account_id IS NOT NULL));
