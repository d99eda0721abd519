-- The website (PRODUCT.md §7): auditor accounts, recipients' complaints
-- about messages sent without consent, and the trail of their status.
-- Sessions are signed cookies (secrets.token_key), so no table holds them.

CREATE TABLE auditors (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Complaint references read IZ-<year>-<number>; the number is not secret,
-- so every read is checked against the signed-in recipient or auditor.
CREATE SEQUENCE complaint_numbers;

CREATE TABLE complaints (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference       text NOT NULL UNIQUE,
    recipient       text NOT NULL,  -- the complainant's own address, proven by a one-time code
    sender          text NOT NULL,  -- brand or sender as the complainant wrote it
    iys_code        bigint,         -- the brand it resolved to, if exactly one
    brand_code      bigint,
    type            text NOT NULL,  -- MESAJ, ARAMA, EPOSTA
    message_at      timestamptz NOT NULL,
    body            text NOT NULL,
    -- Screenshots are kept in the database (at most a few MiB each, PNG or
    -- JPEG by their bytes) so that one backup holds the whole file.
    screenshot      bytea,
    screenshot_type text,
    status          text NOT NULL DEFAULT 'received',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX complaints_by_recipient ON complaints (recipient, created_at);
CREATE INDEX complaints_by_status ON complaints (status, created_at);

CREATE TABLE complaint_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints,
    status       text NOT NULL,
    auditor      text NOT NULL,
    note         text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX complaint_log_by_complaint ON complaint_log (complaint_id, id);
