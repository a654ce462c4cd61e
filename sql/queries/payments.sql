-- name: get_payment
SELECT * FROM payments WHERE id = $1 AND merchant_id = $2;

-- name: lock_payment
SELECT * FROM payments WHERE id = $1 AND merchant_id = $2 FOR NO KEY UPDATE;

-- name: update_payment
-- Guarded: the row must still be at the version the caller read (under the row lock it is).
UPDATE payments
   SET status = $3, amount_capturable = $4, amount_received = $5, gateway = $6,
       gateway_reference = $7, payment_method = $8, next_action = $9, last_error = $10,
       return_url = $11, routing = $13, version = version + 1, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND version = $12
RETURNING *;

-- name: list_payments
-- Newest first. $3/$4: only payments older than that (created_at, id); $5/$6: only newer ones,
-- the nearest first (so the page just before an ending_before cursor), re-sorted newest first.
SELECT * FROM (
    SELECT * FROM payments
     WHERE merchant_id = $1
       AND ($2::text IS NULL OR status = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
       AND ($5::timestamptz IS NULL OR (created_at, id) > ($5, $6))
     ORDER BY CASE WHEN $5::timestamptz IS NULL THEN created_at END DESC,
              CASE WHEN $5::timestamptz IS NULL THEN id END DESC,
              created_at, id
     LIMIT $7
) page ORDER BY created_at DESC, id DESC;

-- name: cursor_of
SELECT created_at, id FROM payments WHERE id = $1 AND merchant_id = $2;

-- name: insert_attempt
-- A pending attempt is due for a status check after two minutes unless an answer comes first.
INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, gateway_account_id, status,
                              amount, method_type, gateway_order_id, next_sync_at)
VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, now() + interval '2 minutes')
RETURNING *;

-- name: claim_due_attempts
-- One owner per attempt across processes: rows locked by another reconciler are skipped, and
-- the claimed ones are pushed into the future (by the backoff step for their check count, $2)
-- before the lock is released. Past the last step next_sync_at becomes NULL: the attempt stays
-- unresolved and visible, never failed.
WITH due AS (
    SELECT id FROM payment_attempts
     WHERE status IN ('pending', 'unknown', 'processing', 'requires_action')
       AND next_sync_at IS NOT NULL AND next_sync_at <= now()
     ORDER BY next_sync_at
     LIMIT $1
     FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE payment_attempts a
   SET sync_count = a.sync_count + 1,
       last_synced_at = now(),
       version = a.version + 1,
       next_sync_at = CASE WHEN a.sync_count + 1 > cardinality($2::float8[]) THEN NULL
                           ELSE now() + make_interval(secs => ($2::float8[])[a.sync_count + 1]) END
  FROM due WHERE a.id = due.id
RETURNING a.*;

-- name: lock_attempt
SELECT * FROM payment_attempts WHERE id = $1 AND merchant_id = $2 FOR NO KEY UPDATE;

-- name: get_attempt
SELECT * FROM payment_attempts WHERE id = $1 AND merchant_id = $2;

-- name: latest_attempt
SELECT * FROM payment_attempts WHERE payment_id = $1 AND merchant_id = $2
 ORDER BY created_at DESC, id DESC LIMIT 1;

-- name: find_attempt_by_gateway_ref
SELECT * FROM payment_attempts
 WHERE merchant_id = $1 AND gateway = $2
   AND (($3::text IS NOT NULL AND gateway_reference = $3) OR ($4::text IS NOT NULL AND gateway_order_id = $4))
 ORDER BY created_at DESC LIMIT 1;

-- name: update_attempt
UPDATE payment_attempts
   SET status = $3, amount_captured = $4, gateway_order_id = $5, gateway_reference = $6,
       redirect_url = $7, decline_code = $8, error_code = $9, error_message = $10, raw_status = $11,
       sync_count = $12, next_sync_at = $13, failover_reason = $14, last_synced_at = $15, version = version + 1,
       updated_at = now()
 WHERE id = $1 AND merchant_id = $2
RETURNING *;

-- name: list_attempts
SELECT * FROM payment_attempts WHERE payment_id = $1 AND merchant_id = $2 ORDER BY created_at, id;

-- name: insert_event
INSERT INTO events (id, merchant_id, type, object_id, data) VALUES ($1, $2, $3, $4, $5);

-- name: list_events
SELECT id, type, object_id, data, created_at FROM events
 WHERE merchant_id = $1 AND object_id = $2 ORDER BY seq;

-- name: create_payment_alone
-- One statement, one round trip: the payment and its outbox event (atomic as a statement).
WITH pay AS (
    INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, customer_id,
                          merchant_order_id, description, metadata, return_url, gateway, payment_method,
                          created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
    RETURNING id, merchant_id
), secret AS (
    -- The client secret's hash and sealed copy ($17..$19; none when $17 is NULL).
    INSERT INTO payment_client_secrets (payment_id, merchant_id, secret_hash, sealed, key_id)
    SELECT id, merchant_id, $17, $18, $19 FROM pay WHERE $17::bytea IS NOT NULL
)
INSERT INTO events (id, merchant_id, type, object_id, data)
SELECT $15, merchant_id, 'payment.created', id, $16 FROM pay;

-- name: create_payment_with_key
-- The same, plus the idempotency key's final response; when the key already exists nothing is
-- written (a concurrent insert of the same key waits for the first to commit) and the
-- statement returns false.
WITH claimed AS (
    INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, response_status,
                                  response_body, expires_at)
    VALUES ($2, $17, $18, $19, $20, 'done', $21, $22, now() + make_interval(hours => $23))
    ON CONFLICT (merchant_id, key) DO NOTHING
    RETURNING key
), pay AS (
    INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, customer_id,
                          merchant_order_id, description, metadata, return_url, gateway, payment_method,
                          created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14
     WHERE EXISTS (SELECT 1 FROM claimed)
    RETURNING id, merchant_id
), secret AS (
    INSERT INTO payment_client_secrets (payment_id, merchant_id, secret_hash, sealed, key_id)
    SELECT id, merchant_id, $24, $25, $26 FROM pay WHERE $24::bytea IS NOT NULL
), event AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT $15, merchant_id, 'payment.created', id, $16 FROM pay
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM claimed);

-- name: create_payment_at_recovery_point
-- Create-with-confirm: the payment and its event, and the key's recovery point naming the
-- payment, in one statement -- a retry after a crash confirms this payment, never a new one.
WITH pay AS (
    INSERT INTO payments (id, merchant_id, amount, currency, status, capture_method, customer_id,
                          merchant_order_id, description, metadata, return_url, gateway, payment_method,
                          created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
    RETURNING id, merchant_id
), secret AS (
    INSERT INTO payment_client_secrets (payment_id, merchant_id, secret_hash, sealed, key_id)
    SELECT id, merchant_id, $18, $19, $20 FROM pay WHERE $18::bytea IS NOT NULL
), event AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT $15, merchant_id, 'payment.created', id, $16 FROM pay
    RETURNING 1
)
UPDATE idempotency_keys SET recovery_point = 'payment_created', object_id = $1, locked_at = now()
 WHERE merchant_id = $2 AND key = $17 AND state = 'in_flight' AND EXISTS (SELECT 1 FROM pay);

-- name: record_order
-- The gateway order created for an attempt, committed before the gateway payment is created.
UPDATE payment_attempts SET gateway_order_id = $3, version = version + 1, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND gateway_order_id IS NULL;

-- name: mark_redirect_lost
-- The attempt's page was lost with the request that created it (see 0012_lost_redirects.sql).
-- No version bump: it is no state change a guarded write must see.
UPDATE payment_attempts SET redirect_lost = true WHERE id = $1 AND merchant_id = $2;

-- name: read_for_settle
-- Phase read: the attempt and its payment in one round trip (no lock: the write is guarded).
SELECT to_jsonb(p) AS payment, to_jsonb(a) AS attempt
  FROM payment_attempts a JOIN payments p ON p.id = a.payment_id AND p.merchant_id = a.merchant_id
 WHERE a.id = $1 AND a.merchant_id = $2;

-- name: start_attempt
-- Confirm's first phase in one statement: the payment moves to processing (guarded by the
-- version and statuses read), the pending attempt, the event and the key's recovery point --
-- for a key this request does not hold yet ($17-$20: method, path, fingerprint, ttl hours), the
-- key itself, claimed here at charge_started. Answers 'started'; 'key_taken' when another
-- request claimed that key first; 'stale' when the payment changed since it was read. Only
-- 'started' wrote anything.
WITH k AS (
    INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at,
                                  recovery_point, object_id)
    SELECT $2, $15, $17, $18, $19, 'in_flight', now() + make_interval(hours => $20), 'charge_started', $1
     WHERE $17::text IS NOT NULL
    ON CONFLICT (merchant_id, key) DO NOTHING
    RETURNING key
), pay AS (
    UPDATE payments
       SET status = 'processing', gateway = $5, payment_method = $6, return_url = $7, last_error = NULL,
           next_action = NULL, routing = $8, version = version + 1, updated_at = $9
     WHERE id = $1 AND merchant_id = $2 AND version = $3 AND status = ANY($4::text[])
       AND ($17::text IS NULL OR EXISTS (SELECT 1 FROM k))
    RETURNING id, merchant_id, amount
), att AS (
    INSERT INTO payment_attempts (id, payment_id, merchant_id, gateway, gateway_account_id, status, amount,
                                  method_type, next_sync_at, created_at, updated_at)
    SELECT $10, id, merchant_id, $5, $11, 'pending', amount, $12, $16, $9, $9 FROM pay
    RETURNING id
), ev AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT $13, merchant_id, 'payment.processing', id, $14 FROM pay
), point AS (
    UPDATE idempotency_keys SET recovery_point = 'charge_started', object_id = $1, locked_at = now()
     WHERE $15::text IS NOT NULL AND $17::text IS NULL AND merchant_id = $2 AND key = $15
       AND state = 'in_flight' AND EXISTS (SELECT 1 FROM pay)
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM att) THEN 'started'
            WHEN $17::text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM k) THEN 'key_taken'
            ELSE 'stale' END;

-- name: write_settlement
-- A settle phase's write in one statement, guarded by the versions read: the payment (when it
-- changed: $19 is its version, NULL when untouched), the attempt, the events ($30: a JSON array
-- of {id, type, object_id, data}), the capture work opened ($31: amount) or closed ($32), and
-- the key's final response ($33-$35). A guard that fails raises serialization_failure: nothing
-- is written and the caller folds again from a fresh read.
WITH pay AS (
    UPDATE payments
       SET status = $20, amount_capturable = $21, amount_received = $22, gateway = $23, gateway_reference = $24,
           payment_method = $25, next_action = $26, last_error = $27, return_url = $28, routing = $29,
           version = version + 1, updated_at = $17
     WHERE $19::int IS NOT NULL AND id = $18 AND merchant_id = $2 AND version = $19
    RETURNING id
), att AS (
    UPDATE payment_attempts
       SET status = $4, amount_captured = $5, gateway_order_id = $6, gateway_reference = $7, redirect_url = $8,
           decline_code = $9, error_code = $10, error_message = $11, raw_status = $12, sync_count = $13,
           next_sync_at = $14, failover_reason = $15, last_synced_at = $16, version = version + 1, updated_at = $17
     WHERE id = $1 AND merchant_id = $2 AND version = $3 AND ($19::int IS NULL OR EXISTS (SELECT 1 FROM pay))
    RETURNING id
), ev AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT e.value->>'id', $2, e.value->>'type', e.value->>'object_id', e.value->'data'
      FROM jsonb_array_elements($30::jsonb) WITH ORDINALITY AS e(value, n)
     WHERE EXISTS (SELECT 1 FROM att)
     ORDER BY e.n
), opened AS (
    INSERT INTO work_items (merchant_id, kind, payment_id, attempt_id, amount)
    SELECT $2, 'capture', $18, $1, $31 WHERE $31::bigint IS NOT NULL AND EXISTS (SELECT 1 FROM att)
    ON CONFLICT (kind, attempt_id) WHERE state = 'pending' DO NOTHING
), closed AS (
    UPDATE work_items SET state = 'done', run_at = NULL, held_until = NULL, updated_at = $17
     WHERE $32 AND merchant_id = $2 AND attempt_id = $1 AND kind = 'capture' AND state = 'pending'
       AND EXISTS (SELECT 1 FROM att)
), answered AS (
    UPDATE idempotency_keys SET state = 'done', response_status = $34, response_body = $35
     WHERE $33::text IS NOT NULL AND merchant_id = $2 AND key = $33 AND state = 'in_flight'
       AND EXISTS (SELECT 1 FROM att)
)
SELECT CASE WHEN EXISTS (SELECT 1 FROM att) THEN true ELSE stale_write('payment or attempt') END;

-- name: get_payment_with_contact
-- Confirm's read: the payment, its customer's contact (gateways want email and phone) and the
-- request's idempotency key ($3) as stored, if it is (the key is claimed by the first write).
SELECT to_jsonb(p) AS payment, c.email, c.phone,
       k.method, k.path, k.fingerprint, k.state, k.response_status, k.response_body, k.recovery_point,
       k.object_id, k.locked_at, now() - k.locked_at AS held_for, k.expires_at < now() AS expired
  FROM payments p
  LEFT JOIN customers c ON c.id = p.customer_id AND c.merchant_id = p.merchant_id
  LEFT JOIN idempotency_keys k ON $3::text IS NOT NULL AND k.merchant_id = p.merchant_id AND k.key = $3
 WHERE p.id = $1 AND p.merchant_id = $2;

-- name: client_secret_hash
-- The browser's check: the payment's client-secret hash, scoped by the publishable key's merchant.
SELECT secret_hash FROM payment_client_secrets WHERE payment_id = $1 AND merchant_id = $2;

-- name: client_secret_sealed
SELECT sealed, key_id FROM payment_client_secrets WHERE payment_id = $1 AND merchant_id = $2;

-- name: checkout_secret
-- The hosted checkout page's first read: which merchant's payment this is, and its client
-- secret's hash. The page knows no merchant yet; the secret presented (checked against this
-- hash in constant time) is what scopes everything it reads next.
SELECT merchant_id, secret_hash FROM payment_client_secrets WHERE payment_id = $1;

-- name: get_payment_with_secret
-- Retrieve with the secret key: the payment and its sealed client secret in one round trip.
SELECT p.*, s.sealed AS client_secret_sealed, s.key_id AS client_secret_key_id
  FROM payments p
  LEFT JOIN payment_client_secrets s ON s.payment_id = p.id AND s.merchant_id = p.merchant_id
 WHERE p.id = $1 AND p.merchant_id = $2;

-- name: client_secrets_to_reseal
-- Key rotation: the next client secrets not sealed with the current key id ($1), after $2.
SELECT payment_id AS id, sealed, key_id FROM payment_client_secrets
 WHERE key_id <> $1 AND payment_id > $2 ORDER BY payment_id LIMIT $3;

-- name: reseal_client_secret
UPDATE payment_client_secrets SET sealed = $3, key_id = $4 WHERE payment_id = $1 AND key_id = $2;
