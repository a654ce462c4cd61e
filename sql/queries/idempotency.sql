-- name: claim
INSERT INTO idempotency_keys (merchant_id, key, method, path, fingerprint, state, expires_at)
VALUES ($1, $2, $3, $4, $5, 'in_flight', now() + make_interval(hours => $6))
ON CONFLICT (merchant_id, key) DO NOTHING
RETURNING key;

-- name: get
SELECT method, path, fingerprint, state, response_status, response_body, recovery_point, object_id,
       locked_at, now() - locked_at AS held_for, expires_at < now() AS expired
  FROM idempotency_keys WHERE merchant_id = $1 AND key = $2;

-- name: take_over
-- A request whose process died (or was cancelled) leaves its key in flight at its recovery
-- point; after the lock timeout one retry -- exactly one, the lock time is compared -- takes
-- it over and resumes the operation.
UPDATE idempotency_keys SET locked_at = now()
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight' AND locked_at = $3
   AND locked_at < now() - make_interval(secs => $4)
RETURNING key;

-- name: reclaim_expired
DELETE FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 AND expires_at < now()
RETURNING key;

-- name: checkpoint
-- The next recovery point, in the caller's transaction; renews the lock (a phase committed, so
-- the request is alive).
UPDATE idempotency_keys SET recovery_point = $3, object_id = $4, locked_at = now()
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight';

-- name: complete
UPDATE idempotency_keys SET state = 'done', response_status = $3, response_body = $4
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight';

-- name: release
-- Only a key whose request did nothing: one with a recovery point must stay to be resumed.
DELETE FROM idempotency_keys
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight' AND recovery_point = 'started'
RETURNING key;

-- name: unlock
-- A request cancelled (shutdown) or answered "outcome unknown, keep going": a retry may resume
-- at once instead of waiting for the lock timeout.
UPDATE idempotency_keys SET locked_at = 'epoch'
 WHERE merchant_id = $1 AND key = $2 AND state = 'in_flight';

-- name: purge_expired
DELETE FROM idempotency_keys WHERE expires_at < now() - interval '1 hour';
