-- name: insert_endpoint
INSERT INTO webhook_endpoints (id, merchant_id, url, description, enabled_events, secret_sealed, secret_key_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: get_endpoint
SELECT * FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL;

-- name: list_endpoints
SELECT * FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL
 ORDER BY created_at DESC, id DESC LIMIT $2;

-- name: update_endpoint
-- Only the fields given ($3-$6; NULL keeps the field) change. Re-enabling clears the failure streak.
UPDATE webhook_endpoints
   SET url = coalesce($3, url), enabled_events = coalesce($4, enabled_events),
       status = coalesce($5, status), description = coalesce($6, description),
       failing_since = CASE WHEN $5 = 'enabled' THEN NULL ELSE failing_since END, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: delete_endpoint
-- Soft delete (past attempts keep their endpoint); its open deliveries are closed with it.
WITH gone AS (
    UPDATE webhook_endpoints SET deleted_at = now(), status = 'disabled', updated_at = now()
     WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL
    RETURNING id
), closed AS (
    UPDATE work_items SET state = 'failed', last_error = 'endpoint deleted', run_at = NULL, updated_at = now()
     WHERE kind = 'webhook' AND merchant_id = $2 AND endpoint_id IN (SELECT id FROM gone) AND state = 'pending'
)
SELECT count(*) FROM gone;

-- name: rotate_secret
-- The new secret signs from now on; the current one keeps signing until $6 seconds from now.
UPDATE webhook_endpoints
   SET previous_sealed = $5, previous_key_id = secret_key_id, previous_until = now() + make_interval(secs => $6),
       secret_sealed = $3, secret_key_id = $4, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND deleted_at IS NULL
RETURNING *;

-- name: fan_out
-- The relay: up to $1 new outbox events (oldest first, SKIP LOCKED: safe on many processes),
-- each becoming one 'webhook' work row per enabled endpoint of its merchant that subscribes to
-- its public type ($2 internal types, $3 their public names), due in $4 seconds (the first step
-- of the schedule), then marked relayed. One
-- statement: a crash relays all of the batch or none of it.
WITH batch AS (
    SELECT seq, id, merchant_id, type, created_at FROM events
     WHERE delivered_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
), typed AS (
    SELECT b.*, m.public_type
      FROM batch b JOIN unnest($2::text[], $3::text[]) AS m(internal_type, public_type) ON m.internal_type = b.type
), rows AS (
    INSERT INTO work_items (merchant_id, kind, event_id, endpoint_id, run_at)
    SELECT t.merchant_id, 'webhook', t.id, e.id, now() + make_interval(secs => $4::float8)
      FROM typed t JOIN webhook_endpoints e
        ON e.merchant_id = t.merchant_id AND e.status = 'enabled' AND e.deleted_at IS NULL
       AND e.created_at <= t.created_at
       AND (t.public_type = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
     ORDER BY t.seq
    ON CONFLICT (event_id, endpoint_id) WHERE state = 'pending' AND kind = 'webhook' DO NOTHING
    RETURNING 1
), marked AS (
    UPDATE events SET delivered_at = now() WHERE seq IN (SELECT seq FROM batch) RETURNING 1
)
SELECT (SELECT count(*) FROM marked) AS relayed, (SELECT count(*) FROM rows) AS deliveries;

-- name: claim_deliveries
-- Due deliveries nobody holds (SKIP LOCKED), each leased for $2 seconds, with what sending
-- needs: the event and the endpoint's URL and sealed secrets.
WITH due AS (
    SELECT id FROM work_items
     WHERE kind = 'webhook' AND state = 'pending' AND run_at IS NOT NULL AND run_at <= now()
       AND (held_until IS NULL OR held_until < now())
     ORDER BY run_at LIMIT $1
     FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE work_items w SET held_until = now() + make_interval(secs => $2), tries = w.tries + 1, updated_at = now()
      FROM due WHERE w.id = due.id
    RETURNING w.id, w.merchant_id, w.event_id, w.endpoint_id, w.tries
)
SELECT l.id, l.merchant_id, l.event_id, l.endpoint_id, l.tries,
       ev.type AS event_type, ev.data AS event_data, ev.created_at AS event_created,
       e.url, e.status, e.deleted_at IS NOT NULL AS deleted, e.secret_sealed, e.secret_key_id,
       CASE WHEN e.previous_until > now() THEN e.previous_sealed END AS previous_sealed, e.previous_key_id
  FROM leased l
  JOIN events ev ON ev.id = l.event_id
  JOIN webhook_endpoints e ON e.id = l.endpoint_id AND e.merchant_id = l.merchant_id;

-- name: record_success
-- A 2xx: the attempt, the row done, the endpoint's failure streak over.
WITH att AS (
    INSERT INTO webhook_attempts (merchant_id, endpoint_id, event_id, work_item_id, status_code, duration_ms, response_body)
    VALUES ($2, $3, $4, $1, $5, $6, $7)
), done AS (
    UPDATE work_items SET state = 'done', last_error = NULL, run_at = NULL, held_until = NULL, updated_at = now()
     WHERE id = $1 AND merchant_id = $2 AND state = 'pending'
)
UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $3 AND merchant_id = $2 AND failing_since IS NOT NULL;

-- name: record_failure
-- Anything else: the attempt; the row due again after $8 seconds, or failed when $8 is NULL
-- (schedule exhausted); the endpoint's failure streak started (if not yet). Returns whether the
-- streak has lasted $9 seconds while the endpoint is still enabled (then the caller disables it).
WITH att AS (
    INSERT INTO webhook_attempts (merchant_id, endpoint_id, event_id, work_item_id, status_code, duration_ms,
                                  error, response_body)
    VALUES ($2, $3, $4, $1, $5, $6, $7, $10)
), sched AS (
    UPDATE work_items
       SET last_error = $7, held_until = NULL, updated_at = now(),
           state = CASE WHEN $8::float8 IS NULL THEN 'failed' ELSE 'pending' END,
           run_at = CASE WHEN $8::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $8::float8) END
     WHERE id = $1 AND merchant_id = $2 AND state = 'pending'
), streak AS (
    UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, now())
     WHERE id = $3 AND merchant_id = $2
    RETURNING failing_since, status
)
SELECT coalesce(bool_or(status = 'enabled' AND failing_since <= now() - make_interval(secs => $9::float8)), false)
  FROM streak;

-- name: disable_failing
-- Disable an endpoint that has failed every delivery since $3 seconds ago, with its event;
-- its open deliveries stop. Answers whether this call disabled it (one process does).
WITH off AS (
    UPDATE webhook_endpoints SET status = 'disabled', updated_at = now()
     WHERE id = $1 AND merchant_id = $2 AND status = 'enabled' AND deleted_at IS NULL
       AND failing_since <= now() - make_interval(secs => $3::float8)
    RETURNING id
), stopped AS (
    UPDATE work_items SET state = 'failed', last_error = 'endpoint disabled', run_at = NULL, held_until = NULL,
           updated_at = now()
     WHERE kind = 'webhook' AND merchant_id = $2 AND endpoint_id IN (SELECT id FROM off) AND state = 'pending'
), ev AS (
    INSERT INTO events (id, merchant_id, type, object_id, data)
    SELECT $4, $2, 'webhook_endpoint.disabled', id, $5 FROM off
)
SELECT EXISTS (SELECT 1 FROM off);

-- name: close_delivery
-- A delivery that cannot be sent any more (its endpoint was disabled or deleted).
UPDATE work_items SET state = 'failed', last_error = $3, run_at = NULL, held_until = NULL, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND state = 'pending';

-- name: list_attempts
-- Newest first; $3 / $4: only attempts older than / the nearest newer than that id (cursors).
SELECT * FROM (
    SELECT a.id, a.event_id, a.attempted_at, a.status_code AS answered, a.duration_ms, a.error, a.response_body
      FROM webhook_attempts a
     WHERE a.endpoint_id = $1 AND a.merchant_id = $2
       AND ($3::bigint IS NULL OR a.id < $3) AND ($4::bigint IS NULL OR a.id > $4)
     ORDER BY CASE WHEN $4::bigint IS NULL THEN -a.id ELSE a.id END
     LIMIT $5
) page ORDER BY id DESC;

-- name: redeliver
-- Deliver an event again to every live endpoint that subscribes to it ($3: its public type), now:
-- a pending delivery is brought forward (same row, same webhook-id), otherwise a new row.
WITH ev AS (
    SELECT id, merchant_id FROM events WHERE id = $1 AND merchant_id = $2
), targets AS (
    SELECT e.id FROM webhook_endpoints e, ev
     WHERE e.merchant_id = ev.merchant_id AND e.status = 'enabled' AND e.deleted_at IS NULL
       AND ($3 = ANY(e.enabled_events) OR '*' = ANY(e.enabled_events))
), brought AS (
    UPDATE work_items w SET run_at = now(), updated_at = now()
      FROM targets t
     WHERE w.kind = 'webhook' AND w.state = 'pending' AND w.event_id = $1 AND w.endpoint_id = t.id
       AND w.merchant_id = $2
    RETURNING w.endpoint_id
), added AS (
    INSERT INTO work_items (merchant_id, kind, event_id, endpoint_id, run_at)
    SELECT $2, 'webhook', $1, t.id, now() FROM targets t WHERE t.id NOT IN (SELECT endpoint_id FROM brought)
    ON CONFLICT (event_id, endpoint_id) WHERE state = 'pending' AND kind = 'webhook' DO NOTHING
    RETURNING endpoint_id
)
SELECT (SELECT count(*) FROM brought) + (SELECT count(*) FROM added);

-- name: get_event
SELECT seq, id, type, data, created_at FROM events WHERE id = $1 AND merchant_id = $2 AND type = ANY($3::text[]);

-- name: event_seq
SELECT seq FROM events WHERE id = $1 AND merchant_id = $2;

-- name: list_events
-- Newest first; $3 / $4: only events older than / newer than that seq (cursors).
SELECT * FROM (
    SELECT seq, id, type, data, created_at FROM events
     WHERE merchant_id = $1 AND type = ANY($2::text[])
       AND ($3::bigint IS NULL OR seq < $3) AND ($4::bigint IS NULL OR seq > $4)
     ORDER BY CASE WHEN $4::bigint IS NULL THEN -seq ELSE seq END
     LIMIT $5
) page ORDER BY seq DESC;

-- name: endpoints_to_reseal
-- Key rotation: endpoints whose secret (or previous secret) is not sealed with $1, in id order
-- after $2 (keyset pagination).
SELECT id, secret_sealed, secret_key_id, previous_sealed, previous_key_id FROM webhook_endpoints
 WHERE (secret_key_id <> $1 OR (previous_sealed IS NOT NULL AND previous_key_id <> $1)) AND id > $2
 ORDER BY id LIMIT $3;

-- name: reseal_endpoint
-- Only while the row still holds the ciphertexts read (a rotation or another run may have won).
UPDATE webhook_endpoints SET secret_sealed = $4, secret_key_id = $5, previous_sealed = $6, previous_key_id = $7
 WHERE id = $1 AND secret_sealed = $2 AND previous_sealed IS NOT DISTINCT FROM $3;
