-- Refund and customer lists, newest first per merchant (GET /v1/refunds, GET /v1/customers),
-- as payments have had since 0001; a payment's refunds use refunds_payment.
CREATE INDEX refunds_merchant_list ON refunds (merchant_id, created_at DESC, id DESC);
CREATE INDEX customers_merchant_list ON customers (merchant_id, created_at DESC, id DESC);
