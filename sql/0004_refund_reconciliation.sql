-- Asynchronous refunds (Paytm, Juspay, PayU) settle by webhook or, failing that, by asking the
-- gateway; the reconciler keeps the same bookkeeping for refunds as for attempts.

ALTER TABLE refunds ADD COLUMN sync_count integer NOT NULL DEFAULT 0;
ALTER TABLE refunds ADD COLUMN next_sync_at timestamptz;

CREATE INDEX refunds_due ON refunds (next_sync_at)
    WHERE status IN ('pending', 'unknown') AND next_sync_at IS NOT NULL;
CREATE INDEX refunds_gateway_ref ON refunds (merchant_id, gateway_refund_id);
