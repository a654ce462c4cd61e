-- name: insert_merchant
INSERT INTO merchants (id, name, sandbox) VALUES ($1, $2, $3) RETURNING *;

-- name: insert_api_key
INSERT INTO api_keys (id, merchant_id, key_hash, key_prefix) VALUES ($1, $2, $3, $4);

-- name: insert_api_key_of_kind
INSERT INTO api_keys (id, merchant_id, key_hash, key_prefix, kind, key_sealed, seal_key_id)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: checkout_of_merchant
-- What the hosted checkout page shows and needs: the name, and the live publishable key sealed.
SELECT m.name, k.id AS key_id, k.key_sealed, k.seal_key_id FROM merchants m
  LEFT JOIN api_keys k ON k.merchant_id = m.id AND k.kind = 'publishable' AND k.revoked_at IS NULL
 WHERE m.id = $1;

-- name: merchant_for_key
-- A live key of the kind asked for ($2: 'secret' or 'publishable').
SELECT k.merchant_id, k.key_hash FROM api_keys k
 WHERE k.key_hash = $1 AND k.kind = $2 AND k.revoked_at IS NULL;

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

-- name: accounts_to_reseal
-- Key rotation: the next batch of accounts not sealed with the current key id ($1), in id order
-- after $2 (keyset pagination: rows that cannot be opened stay behind and are passed over).
SELECT id, key_id FROM gateway_accounts WHERE key_id <> $1 AND id > $2 ORDER BY id LIMIT $3;

-- name: lock_account_sealed_with
-- The account's ciphertext, locked, only while it still carries the key id $2 (another run may
-- have re-sealed it a moment ago).
SELECT credentials FROM gateway_accounts WHERE id = $1 AND key_id = $2 FOR UPDATE;

-- name: reseal_account
UPDATE gateway_accounts SET credentials = $3, key_id = $4 WHERE id = $1 AND key_id = $2;

-- name: count_accounts_sealed_with
SELECT count(*) FROM gateway_accounts WHERE key_id = $1;

-- name: add_customer_ref
-- One gateway's reference for a customer, beside the others'.
UPDATE customers SET gateway_refs = gateway_refs || jsonb_build_object($3::text, $4::text)
 WHERE id = $1 AND merchant_id = $2;

-- name: list_customers
-- Newest first; cursors as in payments.list_payments.
SELECT * FROM (
    SELECT * FROM customers
     WHERE merchant_id = $1
       AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
       AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5))
     ORDER BY CASE WHEN $4::timestamptz IS NULL THEN created_at END DESC,
              CASE WHEN $4::timestamptz IS NULL THEN id END DESC,
              created_at, id
     LIMIT $6
) page ORDER BY created_at DESC, id DESC;

-- name: customer_cursor
SELECT created_at, id FROM customers WHERE id = $1 AND merchant_id = $2;

-- name: publishable_to_reseal
-- Key rotation: the next sealed publishable keys not sealed with the current key id ($1), after $2.
SELECT id, key_sealed AS sealed, seal_key_id AS key_id FROM api_keys
 WHERE key_sealed IS NOT NULL AND seal_key_id <> $1 AND id > $2 ORDER BY id LIMIT $3;

-- name: reseal_publishable
UPDATE api_keys SET key_sealed = $3, seal_key_id = $4 WHERE id = $1 AND seal_key_id = $2;
