-- References between a merchant's objects must stay within that merchant: a payment cannot
-- point at another merchant's customer, an attempt or refund at another merchant's payment.
-- Composite foreign keys make PostgreSQL enforce it, whatever the code does.

ALTER TABLE customers ADD CONSTRAINT customers_id_merchant UNIQUE (id, merchant_id);
ALTER TABLE payments ADD CONSTRAINT payments_id_merchant UNIQUE (id, merchant_id);
ALTER TABLE payment_attempts ADD CONSTRAINT attempts_id_merchant UNIQUE (id, merchant_id);

ALTER TABLE payments DROP CONSTRAINT payments_customer_id_fkey;
ALTER TABLE payments ADD CONSTRAINT payments_customer_same_merchant
    FOREIGN KEY (customer_id, merchant_id) REFERENCES customers (id, merchant_id);

ALTER TABLE payment_attempts DROP CONSTRAINT payment_attempts_payment_id_fkey;
ALTER TABLE payment_attempts ADD CONSTRAINT attempts_payment_same_merchant
    FOREIGN KEY (payment_id, merchant_id) REFERENCES payments (id, merchant_id);

ALTER TABLE refunds DROP CONSTRAINT refunds_payment_id_fkey;
ALTER TABLE refunds ADD CONSTRAINT refunds_payment_same_merchant
    FOREIGN KEY (payment_id, merchant_id) REFERENCES payments (id, merchant_id);
ALTER TABLE refunds DROP CONSTRAINT refunds_attempt_id_fkey;
ALTER TABLE refunds ADD CONSTRAINT refunds_attempt_same_merchant
    FOREIGN KEY (attempt_id, merchant_id) REFERENCES payment_attempts (id, merchant_id);
