-- izin's core schema: providers and brands, the current state of every
-- consent, the append-only hash-chained event history, the idempotency
-- ledger, batch request results and the confirmation outbox.

CREATE TABLE providers (
    iys_code      bigint PRIMARY KEY,
    name          text NOT NULL,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE brands (
    iys_code    bigint NOT NULL REFERENCES providers,
    brand_code  bigint NOT NULL,
    name        text NOT NULL,
    short_names text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (iys_code, brand_code),
    -- Recipients name a brand by its code in an SMS: it must be unique.
    UNIQUE (brand_code)
);

-- Current state, one row per consent key.
CREATE TABLE consents (
    iys_code       bigint NOT NULL,
    brand_code     bigint NOT NULL,
    recipient      text NOT NULL,
    recipient_type text NOT NULL,
    type           text NOT NULL,
    status         text NOT NULL,
    source         text NOT NULL,
    consent_date   timestamptz NOT NULL,
    creation_date  timestamptz NOT NULL,
    transaction_id text NOT NULL,
    PRIMARY KEY (iys_code, brand_code, recipient, recipient_type, type)
);
-- A recipient's own view (DURUM by SMS, IVR, website) looks up by address.
CREATE INDEX consents_by_recipient ON consents (recipient);

-- Hash chains. Each transaction appends to whichever chain is free (SELECT
-- ... FOR UPDATE SKIP LOCKED), so concurrent writers do not queue behind
-- one chain head; each chain on its own is a tamper-evident sequence.
CREATE TABLE chains (
    chain_id int PRIMARY KEY,
    seq      bigint NOT NULL DEFAULT 0,
    head     bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000'
);
INSERT INTO chains (chain_id) SELECT generate_series(0, 15);

CREATE TABLE events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction's id: the change feed serves only events of
    -- transactions older than every one still running, so a cursor never
    -- skips an event that commits late.
    xid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    chain_id       int NOT NULL,
    seq            bigint NOT NULL,
    prev_hash      bytea NOT NULL,
    hash           bytea NOT NULL,
    transaction_id text NOT NULL UNIQUE,
    command_id     text NOT NULL,
    group_id       text NOT NULL,
    origin         text NOT NULL,
    iys_code       bigint NOT NULL,
    brand_code     bigint NOT NULL,
    recipient      text NOT NULL,
    recipient_type text NOT NULL,
    type           text NOT NULL,
    status         text NOT NULL,
    source         text NOT NULL,
    source_kind    text NOT NULL,
    consent_date   timestamptz NOT NULL,
    creation_date  timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    evidence       text NOT NULL, -- JSON, byte for byte as hashed
    UNIQUE (chain_id, seq)
);
CREATE INDEX events_feed ON events (iys_code, brand_code, xid, id);
CREATE INDEX events_by_recipient ON events (recipient, creation_date);
CREATE INDEX events_by_group ON events (group_id);

-- The history is append-only: the database itself refuses to change it.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'izin: the event history is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Idempotency ledger: a command id is applied once, and what it produced is
-- remembered so a redelivery gets the same answer.
CREATE TABLE commands (
    command_id     text PRIMARY KEY,
    applied_at     timestamptz NOT NULL,
    transaction_id text,
    error_code     text,
    error_message  text
);

-- Provider batch uploads (consents/request).
CREATE TABLE requests (
    request_id text PRIMARY KEY,
    iys_code   bigint NOT NULL,
    brand_code bigint NOT NULL,
    item_count int NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE request_items (
    request_id     text NOT NULL REFERENCES requests ON DELETE CASCADE,
    idx            int NOT NULL,
    transaction_id text,
    creation_date  timestamptz,
    error_code     text,
    error_message  text,
    error_location text,
    PRIMARY KEY (request_id, idx)
);

-- Confirmation outbox, written in the same transaction as the change. One
-- row per group: an SMS that refuses three brands gets one reply.
CREATE TABLE confirmations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id        text NOT NULL UNIQUE,
    transaction_id  text NOT NULL,
    channel         text NOT NULL,
    recipient       text NOT NULL,
    created_at      timestamptz NOT NULL,
    deadline        timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    late            boolean NOT NULL DEFAULT false,
    last_error      text,
    peer_ref        text -- the peer's id for the message (SMSC message id, Message-ID)
);
CREATE INDEX confirmations_due ON confirmations (next_attempt_at) WHERE state = 'pending';

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);
