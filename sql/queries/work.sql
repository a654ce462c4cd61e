-- name: add_capture
-- "Capture this authorization": one open row per attempt (a second request for the same work
-- is the same row). A positive $5 leases it to the caller for that long (it runs it now);
-- 0 leaves it due for whoever leases it first. ``tries`` counts runs started.
INSERT INTO work_items (merchant_id, kind, payment_id, attempt_id, amount, tries, held_until)
VALUES ($1, 'capture', $2, $3, $4, CASE WHEN $5 > 0 THEN 1 ELSE 0 END,
        CASE WHEN $5 > 0 THEN now() + make_interval(secs => $5) END)
ON CONFLICT (kind, attempt_id) WHERE state = 'pending' DO NOTHING
RETURNING *;

-- name: add_void
-- "Void this authorization" (a cancel): like add_capture, leased to the caller for $4 seconds.
INSERT INTO work_items (merchant_id, kind, payment_id, attempt_id, tries, held_until)
VALUES ($1, 'void', $2, $3, 1, now() + make_interval(secs => $4))
ON CONFLICT (kind, attempt_id) WHERE state = 'pending' DO NOTHING
RETURNING *;

-- name: lease_for_payment
-- Take the open $4 work ('capture' or 'void') of a payment for $3 seconds -- before its
-- scheduled retry, too (the merchant asked again) -- unless a live holder has it.
UPDATE work_items SET held_until = now() + make_interval(secs => $3), tries = tries + 1, updated_at = now()
 WHERE merchant_id = $1 AND payment_id = $2 AND kind = $4 AND state = 'pending'
   AND (held_until IS NULL OR held_until < now())
RETURNING *;

-- name: open_for_payment
-- The payment's open captures and voids.
SELECT * FROM work_items
 WHERE merchant_id = $1 AND payment_id = $2 AND kind IN ('capture', 'void') AND state = 'pending';

-- name: claim_due
-- The background worker: due rows nobody holds (SKIP LOCKED: safe on many processes), each
-- leased for $2 seconds. Webhook deliveries have their own loop (engine/services/deliveries.py).
WITH due AS (
    SELECT id FROM work_items
     WHERE state = 'pending' AND run_at IS NOT NULL AND run_at <= now() AND kind <> 'webhook'
       AND (held_until IS NULL OR held_until < now())
     ORDER BY run_at
     LIMIT $1
     FOR UPDATE SKIP LOCKED
)
UPDATE work_items w SET held_until = now() + make_interval(secs => $2), tries = w.tries + 1, updated_at = now()
  FROM due WHERE w.id = due.id
RETURNING w.*;

-- name: finish
UPDATE work_items SET state = $3, last_error = $4, run_at = NULL, held_until = NULL, updated_at = now()
 WHERE id = $1 AND merchant_id = $2 AND state = 'pending';

-- name: retry_later
-- After the n-th run the next is due after the ladder's n-th step ($3); past its last step
-- run_at becomes NULL: the row stays pending and visible.
UPDATE work_items
   SET last_error = $4, held_until = NULL, updated_at = now(),
       run_at = CASE WHEN tries > cardinality($3::float8[]) THEN NULL
                     ELSE now() + make_interval(secs => ($3::float8[])[greatest(tries, 1)]) END
 WHERE id = $1 AND merchant_id = $2 AND state = 'pending'
RETURNING *;

-- name: add_registrations
-- One "register this customer" row per gateway account ($3), leased to the caller for $4 s.
INSERT INTO work_items (merchant_id, kind, customer_id, gateway_account_id, tries, held_until)
SELECT $1, 'register_customer', $2, account, 1, now() + make_interval(secs => $4) FROM unnest($3::text[]) AS account
ON CONFLICT (customer_id, gateway_account_id) WHERE state = 'pending' AND kind = 'register_customer' DO NOTHING
RETURNING *;

-- name: pending_by_kind
-- Operational (every merchant): pending rows by kind, for the work-pending gauge. Served by the
-- partial indexes on pending rows; the scrape bounds it with a short timeout.
SELECT kind, count(*) AS pending FROM work_items WHERE state = 'pending' GROUP BY kind;
