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
INSERT INTO refunds (id, merchant_id, payment_id, attempt_id, amount, currency, status, reason)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
RETURNING *;

-- name: get_refund
SELECT * FROM refunds WHERE id = $1 AND merchant_id = $2;

-- name: lock_refund
SELECT * FROM refunds WHERE id = $1 AND merchant_id = $2 FOR UPDATE;

-- name: update_refund
UPDATE refunds
   SET status = $3, gateway_refund_id = COALESCE($4, gateway_refund_id), error_code = $5,
       error_message = $6, updated_at = now()
 WHERE id = $1 AND merchant_id = $2
RETURNING *;

-- name: list_refunds_of_payment
SELECT * FROM refunds WHERE payment_id = $1 AND merchant_id = $2 ORDER BY created_at, id;
