-- Outgoing merchant webhooks (Standard Webhooks): endpoints, one durable work row per
-- (event, endpoint) delivery, and a log of every attempt.
--
-- The outbox already holds every state change; a worker fans each new event out (marking
-- events.delivered_at, the relay flag 0001 left for this) into 'webhook' work rows, in one
-- statement -- the checkout path writes nothing more than before.
CREATE TABLE webhook_endpoints (
    id                text PRIMARY KEY CHECK (id ~ '^we_[A-Za-z0-9]{8,40}$'),
    merchant_id       text NOT NULL REFERENCES merchants(id),
    url               text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    description       text CHECK (length(description) <= 500),
    enabled_events    text[] NOT NULL CHECK (cardinality(enabled_events) BETWEEN 1 AND 50),
    status            text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled')),
    -- The signing secret is sealed (AES-GCM, engine.crypto) with the endpoint id as context;
    -- the previous secret keeps signing until previous_until (rotation overlap).
    secret_sealed     bytea NOT NULL,
    secret_key_id     text NOT NULL,
    previous_sealed   bytea,
    previous_key_id   text,
    previous_until    timestamptz,
    -- Since when every delivery has failed (NULL after a success): disabled after 5 days.
    failing_since     timestamptz,
    deleted_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, merchant_id),
    CONSTRAINT previous_secret_whole CHECK ((previous_sealed IS NULL) = (previous_until IS NULL))
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id, created_at DESC) WHERE deleted_at IS NULL;

ALTER TABLE work_items ADD COLUMN event_id text REFERENCES events(id);
ALTER TABLE work_items ADD COLUMN endpoint_id text;
ALTER TABLE work_items ADD CONSTRAINT work_endpoint_same_merchant
    FOREIGN KEY (endpoint_id, merchant_id) REFERENCES webhook_endpoints (id, merchant_id);
ALTER TABLE work_items DROP CONSTRAINT work_kind;
ALTER TABLE work_items ADD CONSTRAINT work_kind CHECK (kind IN ('capture', 'void', 'register_customer', 'webhook'));
ALTER TABLE work_items DROP CONSTRAINT work_targets;
ALTER TABLE work_items ADD CONSTRAINT work_targets CHECK (
       (kind IN ('capture', 'void') AND payment_id IS NOT NULL AND attempt_id IS NOT NULL)
    OR (kind = 'register_customer' AND customer_id IS NOT NULL AND gateway_account_id IS NOT NULL)
    OR (kind = 'webhook' AND event_id IS NOT NULL AND endpoint_id IS NOT NULL));
-- One open delivery per (event, endpoint): a fan-out run twice or a redeliver while one is
-- pending is the same delivery (and the same webhook-id).
CREATE UNIQUE INDEX work_one_open_delivery ON work_items (event_id, endpoint_id)
    WHERE state = 'pending' AND kind = 'webhook';
CREATE INDEX work_webhook_due ON work_items (run_at) WHERE state = 'pending' AND kind = 'webhook' AND run_at IS NOT NULL;

CREATE TABLE webhook_attempts (
    id            bigserial PRIMARY KEY,
    merchant_id   text NOT NULL,
    endpoint_id   text NOT NULL,
    event_id      text NOT NULL REFERENCES events(id),
    work_item_id  bigint NOT NULL REFERENCES work_items(id),
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    status_code   integer CHECK (status_code BETWEEN 100 AND 599),
    duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
    error         text CHECK (length(error) <= 500),
    response_body text CHECK (octet_length(response_body) <= 1024),
    FOREIGN KEY (endpoint_id, merchant_id) REFERENCES webhook_endpoints (id, merchant_id)
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id DESC);
-- No (merchant_id, seq) index on events: it would cost every payment's outbox insert; the
-- events API walks seq backwards (the primary key) filtered by merchant.
