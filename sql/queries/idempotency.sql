-- name: claim
INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at)
VALUES ($1, $2, $3, $4, $5, 'in_flight', now() + make_interval(hours => $6))
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING key;

-- name: get
SELECT method, path, fingerprint, state, response_status, response_body,
       now() - locked_at AS held_for, expires_at < now() AS expired
  FROM idempotency_keys WHERE merchant_id = $1 AND key = $2;

-- name: take_over_stale
-- A request whose process died leaves its key in flight; after the lock timeout a retry may
-- take it over (the payment's own state machine stops any double charge).
UPDATE idempotency_keys SET locked_at = now()
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight' AND locked_at < now() - make_interval(secs => $3)
RETURNING key;

-- name: reclaim_expired
DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND expires_at < now()
RETURNING key;

-- name: complete
UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight';

-- name: release
DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight';

-- name: purge_expired
DELETE FROM idempotency_keys WHERE expires_at < now() - interval '1 hour';
