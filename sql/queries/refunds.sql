-- name: reserve_refund
-- Reserves the amount on the payment first, so concurrent refunds can never exceed what was
-- captured (the CHECK refunded_within_captured backs this up).
UPDATE payments
   SET amount_refunded = amount_refunded + $3, version = version + 1, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND status = 'succeeded' AND amount_refunded + $3 <= amount_received
RETURNING *;

-- name: release_refund
UPDATE payments
   SET amount_refunded = amount_refunded - $3, version = version + 1, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND amount_refunded >= $3
RETURNING *;

-- name: insert_refund
INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status, reason, next_sync_at)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, now() + interval '1 minute')
RETURNING *;

-- name: find_by_gateway_refund_id
SELECT * FROM refunds WHERE merchant_id = $1 AND gateway_refund_id = $2 ORDER BY created_at DESC LIMIT 1;

-- name: claim_due_refunds
-- Same discipline as claim_due_attempts: SKIP LOCKED plus a lease on the backoff ladder ($2).
WITH due AS (
    SELECT id FROM refunds
     WHERE status IN ('pending', 'unknown') AND next_sync_at IS NOT NULL AND next_sync_at <= now()
     ORDER BY next_sync_at
     LIMIT $1
     FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE refunds r
   SET sync_count = r.sync_count + 1,
       next_sync_at = CASE WHEN r.sync_count + 1 > cardinality($2::float8[]) THEN NULL
                           ELSE now() + make_interval(secs => ($2::float8[])[r.sync_count + 1]) END
  FROM due WHERE r.id = due.id
RETURNING r.*;

-- name: get_refund
SELECT * FROM refunds WHERE id = $1 AND merchant_id = $2;

-- name: lock_refund
SELECT * FROM refunds WHERE id = $1 AND merchant_id = $2 FOR NO KEY UPDATE;

-- name: update_refund
UPDATE refunds
   SET status = $3, gateway_refund_id = COALESCE($4, gateway_refund_id), error_code = $5,
       error_message = $6, updated_at = now()
 WHERE id = $1 AND merchant_id = $2
RETURNING *;

-- name: list_refunds
-- Newest first, optionally of one payment; cursors as in payments.list_payments.
SELECT * FROM (
    SELECT * FROM refunds
     WHERE merchant_id = $1
       AND ($2::text IS NULL OR payment_id = $2)
       AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
       AND ($5::timestamptz IS NULL OR (created_at, id) > ($5, $6))
     ORDER BY CASE WHEN $5::timestamptz IS NULL THEN created_at END DESC,
              CASE WHEN $5::timestamptz IS NULL THEN id END DESC,
              created_at, id
     LIMIT $7
) page ORDER BY created_at DESC, id DESC;

-- name: refund_cursor
SELECT created_at, id FROM refunds WHERE id = $1 AND merchant_id = $2;
