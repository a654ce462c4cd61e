-- Browser-side credentials: publishable keys and per-payment client secrets.
--
-- A publishable key (pk_test_…) lives beside the secret keys, hashed the same way; its kind says
-- which it is, and each authentication path asks for its own kind, so a publishable key can
-- never authenticate as a secret key (or the reverse) even if a hash were ever shared.
ALTER TABLE api_keys ADD COLUMN kind text NOT NULL DEFAULT 'secret'
    CHECK (kind IN ('secret', 'publishable'));
-- A publishable key is public by design (the engine's hosted checkout page embeds it): besides
-- its hash (what authentication looks up) it is kept sealed, so the page can present it.
ALTER TABLE api_keys ADD COLUMN key_sealed bytea, ADD COLUMN seal_key_id text,
    ADD CONSTRAINT only_publishable_sealed CHECK (key_sealed IS NULL OR kind = 'publishable'),
    ADD CONSTRAINT sealed_whole CHECK ((key_sealed IS NULL) = (seal_key_id IS NULL));
-- At most one live publishable key per merchant.
CREATE UNIQUE INDEX api_keys_one_publishable ON api_keys (merchant_id)
    WHERE kind = 'publishable' AND revoked_at IS NULL;

-- Each payment's client secret (pay_…_secret_…): its SHA-256 for the constant-time check the
-- browser's calls need, and the secret sealed (AES-GCM, engine.crypto, the payment id as
-- context) so the merchant's server can read it again (GET with the secret key, and the replay
-- of a create). The clear value is stored nowhere: not here, not in events, not in
-- idempotency records. A separate table: the payments row (SELECT *, to_jsonb) is unchanged.
CREATE TABLE payment_client_secrets (
    payment_id  text NOT NULL,
    merchant_id text NOT NULL,
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    sealed      bytea NOT NULL,
    key_id      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id),
    FOREIGN KEY (payment_id, merchant_id) REFERENCES payments (id, merchant_id)
);
