-- Core schema: merchants, keys, gateway accounts, customers, payments, attempts, refunds,
-- idempotency keys, the events outbox and inbound webhook receipts.
-- Money rules are enforced here as well as in code: amounts are integer minor units and
-- every status change must be a legal transition (checked by triggers below).

CREATE TABLE merchants (
    id          text PRIMARY KEY CHECK (id ~ '^mer_[A-Za-z0-9]{8,40}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    sandbox     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants(id),
    key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    key_prefix  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

-- Credentials are AES-GCM encrypted by the engine; key_id names the encryption key (rotation).
CREATE TABLE gateway_accounts (
    id            text PRIMARY KEY,
    merchant_id   text NOT NULL REFERENCES merchants(id),
    gateway       text NOT NULL CHECK (gateway IN ('razorpay', 'paytm', 'payu', 'juspay')),
    credentials   bytea NOT NULL,
    key_id        text NOT NULL,
    priority      integer NOT NULL DEFAULT 100,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (merchant_id, gateway)
);

CREATE TABLE customers (
    id            text PRIMARY KEY,
    merchant_id   text NOT NULL REFERENCES merchants(id),
    email         text,
    phone         text,
    name          text,
    metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
    gateway_refs  jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_merchant ON customers (merchant_id, id);

CREATE TABLE payments (
    id                 text PRIMARY KEY,
    merchant_id        text NOT NULL REFERENCES merchants(id),
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status             text NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation',
                           'processing', 'requires_action', 'requires_capture', 'succeeded', 'canceled')),
    capture_method     text NOT NULL CHECK (capture_method IN ('automatic', 'manual')),
    amount_capturable  bigint NOT NULL DEFAULT 0,
    amount_received    bigint NOT NULL DEFAULT 0,
    amount_refunded    bigint NOT NULL DEFAULT 0,
    customer_id        text REFERENCES customers(id),
    merchant_order_id  text,
    description        text,
    metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
    return_url         text,
    gateway            text,
    gateway_reference  text,
    payment_method     jsonb,
    next_action        jsonb,
    last_error         jsonb,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CONSTRAINT captured_within_amount CHECK (amount_received BETWEEN 0 AND amount),
    CONSTRAINT capturable_within_amount CHECK (amount_capturable BETWEEN 0 AND amount),
    CONSTRAINT refunded_within_captured CHECK (amount_refunded BETWEEN 0 AND amount_received),
    CONSTRAINT succeeded_has_money CHECK (status <> 'succeeded' OR amount_received > 0),
    CONSTRAINT order_id_unique UNIQUE (merchant_id, merchant_order_id)
);
CREATE INDEX payments_merchant_list ON payments (merchant_id, created_at DESC, id DESC);
CREATE INDEX payments_merchant_status ON payments (merchant_id, status, created_at DESC, id DESC);

CREATE TABLE payment_attempts (
    id                  text PRIMARY KEY,
    payment_id          text NOT NULL REFERENCES payments(id),
    merchant_id         text NOT NULL REFERENCES merchants(id),
    gateway             text NOT NULL,
    gateway_account_id  text REFERENCES gateway_accounts(id),
    status              text NOT NULL CHECK (status IN ('pending', 'requires_action', 'processing',
                            'authorized', 'captured', 'failed', 'unknown', 'voided')),
    amount              bigint NOT NULL CHECK (amount > 0),
    amount_captured     bigint NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
    method_type         text NOT NULL,
    gateway_order_id    text,
    gateway_reference   text,
    redirect_url        text,
    decline_code        text,
    error_code          text,
    error_message       text,
    raw_status          text,
    sync_count          integer NOT NULL DEFAULT 0,
    next_sync_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attempt_captured_within_amount CHECK (amount_captured <= amount)
);
CREATE INDEX attempts_payment ON payment_attempts (payment_id, created_at);
CREATE INDEX attempts_gateway_ref ON payment_attempts (gateway, gateway_reference);
CREATE INDEX attempts_gateway_order ON payment_attempts (gateway, gateway_order_id);
CREATE INDEX attempts_to_sync ON payment_attempts (next_sync_at)
    WHERE status IN ('pending', 'unknown', 'processing', 'requires_action');
-- One successful attempt per payment, whatever the code does.
CREATE UNIQUE INDEX one_success_per_payment ON payment_attempts (payment_id)
    WHERE status IN ('authorized', 'captured');

CREATE TABLE refunds (
    id                 text PRIMARY KEY,
    merchant_id        text NOT NULL REFERENCES merchants(id),
    payment_id         text NOT NULL REFERENCES payments(id),
    attempt_id         text NOT NULL REFERENCES payment_attempts(id),
    amount             bigint NOT NULL CHECK (amount > 0),
    currency           text NOT NULL,
    status             text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    reason             text,
    gateway_refund_id  text,
    error_code         text,
    error_message      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_payment ON refunds (payment_id);

-- Request fingerprints are HMACs (never raw bodies), responses hold only masked card data.
CREATE TABLE idempotency_keys (
    merchant_id      text NOT NULL REFERENCES merchants(id),
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method           text NOT NULL,
    path             text NOT NULL,
    fingerprint      bytea NOT NULL,
    state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status  integer,
    response_body    bytea,
    locked_at        timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (merchant_id, key),
    CONSTRAINT done_has_response CHECK (state <> 'done' OR (response_status IS NOT NULL AND response_body IS NOT NULL))
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);

-- Transactional outbox: written in the same transaction as each state change.
CREATE TABLE events (
    seq          bigserial PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    merchant_id  text NOT NULL REFERENCES merchants(id),
    type         text NOT NULL,
    object_id    text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX events_undelivered ON events (seq) WHERE delivered_at IS NULL;
CREATE INDEX events_object ON events (object_id, seq);

CREATE TABLE webhook_receipts (
    gateway      text NOT NULL,
    merchant_id  text NOT NULL REFERENCES merchants(id),
    event_id     text NOT NULL,
    event_type   text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (gateway, merchant_id, event_id)
);

-- Legal status transitions. A status may stay the same (field updates); any other change
-- must appear here, so a bug or a hostile request can never move money state backwards.
CREATE TABLE status_transitions (
    entity       text NOT NULL,
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    PRIMARY KEY (entity, from_status, to_status)
);

INSERT INTO status_transitions (entity, from_status, to_status) VALUES
    ('payment', 'requires_payment_method', 'requires_confirmation'),
    ('payment', 'requires_payment_method', 'processing'),
    ('payment', 'requires_payment_method', 'canceled'),
    ('payment', 'requires_confirmation', 'processing'),
    ('payment', 'requires_confirmation', 'requires_payment_method'),
    ('payment', 'requires_confirmation', 'canceled'),
    ('payment', 'processing', 'requires_action'),
    ('payment', 'processing', 'requires_capture'),
    ('payment', 'processing', 'succeeded'),
    ('payment', 'processing', 'requires_payment_method'),
    ('payment', 'requires_action', 'processing'),
    ('payment', 'requires_action', 'requires_capture'),
    ('payment', 'requires_action', 'succeeded'),
    ('payment', 'requires_action', 'requires_payment_method'),
    ('payment', 'requires_action', 'canceled'),
    ('payment', 'requires_capture', 'succeeded'),
    ('payment', 'requires_capture', 'canceled'),
    ('attempt', 'pending', 'requires_action'),
    ('attempt', 'pending', 'processing'),
    ('attempt', 'pending', 'authorized'),
    ('attempt', 'pending', 'captured'),
    ('attempt', 'pending', 'failed'),
    ('attempt', 'pending', 'unknown'),
    ('attempt', 'requires_action', 'processing'),
    ('attempt', 'requires_action', 'authorized'),
    ('attempt', 'requires_action', 'captured'),
    ('attempt', 'requires_action', 'failed'),
    ('attempt', 'requires_action', 'unknown'),
    ('attempt', 'processing', 'requires_action'),
    ('attempt', 'processing', 'authorized'),
    ('attempt', 'processing', 'captured'),
    ('attempt', 'processing', 'failed'),
    ('attempt', 'processing', 'unknown'),
    ('attempt', 'unknown', 'processing'),
    ('attempt', 'unknown', 'requires_action'),
    ('attempt', 'unknown', 'authorized'),
    ('attempt', 'unknown', 'captured'),
    ('attempt', 'unknown', 'failed'),
    ('attempt', 'authorized', 'captured'),
    ('attempt', 'authorized', 'voided'),
    ('refund', 'pending', 'succeeded'),
    ('refund', 'pending', 'failed'),
    ('refund', 'pending', 'unknown'),
    ('refund', 'unknown', 'pending'),
    ('refund', 'unknown', 'succeeded'),
    ('refund', 'unknown', 'failed');

CREATE FUNCTION enforce_status_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM status_transitions
         WHERE entity = TG_ARGV[0] AND from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'illegal % status transition % -> %', TG_ARGV[0], OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'legal_status_transition';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER payments_status_transition BEFORE UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION enforce_status_transition('payment');
CREATE TRIGGER attempts_status_transition BEFORE UPDATE OF status ON payment_attempts
    FOR EACH ROW EXECUTE FUNCTION enforce_status_transition('attempt');
CREATE TRIGGER refunds_status_transition BEFORE UPDATE OF status ON refunds
    FOR EACH ROW EXECUTE FUNCTION enforce_status_transition('refund');

-- Money never shrinks: captured and refunded totals only grow; a refund reservation that
-- fails is released by the same code path that made it (guarded in SQL, see refunds.sql).
CREATE FUNCTION enforce_money_monotonic() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.amount <> OLD.amount OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'payment amount and currency are immutable'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'immutable_amount';
    END IF;
    IF NEW.amount_received < OLD.amount_received THEN
        RAISE EXCEPTION 'amount_received cannot decrease'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'monotonic_received';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER payments_money_monotonic BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION enforce_money_monotonic();
