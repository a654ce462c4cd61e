-- name: insert_merchant
INSERT INTO merchants (id, name, sandbox) VALUES ($1, $2, $3) RETURNING *;

-- name: get_merchant
SELECT * FROM merchants WHERE id = $1;

-- name: insert_api_key
INSERT INTO api_keys (id, merchant_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4);

-- name: merchant_for_key
SELECT k.merchant_id, k.key_hash FROM api_keys k
 WHERE k.key_hash = $1 AND k.revoked_at IS NULL;

-- name: insert_gateway_account
INSERT INTO gateway_accounts (id, merchant_id, gateway, credentials, key_id, priority)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: gateway_accounts
SELECT id, merchant_id, gateway, credentials, key_id, priority, enabled FROM gateway_accounts
 WHERE merchant_id = $1 ORDER BY priority, created_at;

-- name: insert_customer
INSERT INTO customers (id, merchant_id, email, phone, name, metadata) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: get_customer
SELECT * FROM customers WHERE id = $1 AND merchant_id = $2;

-- name: record_webhook
INSERT INTO webhook_receipts (gateway, merchant_id, event_id, event_type) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING
RETURNING event_id;

-- name: set_account_route
UPDATE gateway_accounts SET priority = $3, enabled = $4 WHERE merchant_id = $1 AND gateway = $2;

-- name: set_customer_refs
UPDATE customers SET gateway_refs = $3 WHERE id = $1 AND merchant_id = $2;
