-- Registering a customer with a gateway that keeps customers (Juspay) is follow-up work too: a
-- row per (customer, gateway account) written with the customer, run by the request and, when
-- the gateway is down, by the worker -- reading a customer never writes or calls a gateway.
ALTER TABLE work_items ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE work_items ALTER COLUMN attempt_id DROP NOT NULL;
ALTER TABLE work_items ADD COLUMN customer_id text;
ALTER TABLE work_items ADD COLUMN gateway_account_id text REFERENCES gateway_accounts(id);
ALTER TABLE work_items DROP CONSTRAINT work_items_kind_check;
ALTER TABLE work_items ADD CONSTRAINT work_kind CHECK (kind IN ('capture', 'register_customer'));
ALTER TABLE work_items ADD CONSTRAINT work_targets CHECK (
       (kind = 'capture' AND payment_id IS NOT NULL AND attempt_id IS NOT NULL)
    OR (kind = 'register_customer' AND customer_id IS NOT NULL AND gateway_account_id IS NOT NULL));
ALTER TABLE work_items ADD CONSTRAINT work_customer_same_merchant
    FOREIGN KEY (customer_id, merchant_id) REFERENCES customers (id, merchant_id);
CREATE UNIQUE INDEX work_one_open_registration ON work_items (customer_id, gateway_account_id)
    WHERE state = 'pending' AND kind = 'register_customer';
