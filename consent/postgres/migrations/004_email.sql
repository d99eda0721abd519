-- The e-mail channel (PRODUCT.md §4). Replies that change no consent (no
-- keyword, an auto-reply, a consent word from another address, a bounce)
-- are kept here as evidence; replies that change one are kept with their
-- event. A bounce (RFC 3464) marks its confirmation undeliverable.
ALTER TABLE confirmations
    ADD COLUMN undeliverable_at     timestamptz,
    ADD COLUMN undeliverable_reason text;

CREATE TABLE email_messages (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at     timestamptz NOT NULL,
    confirmation_id bigint NOT NULL,
    message_id      text NOT NULL, -- the Message-ID header, without brackets
    sender          text NOT NULL, -- the From address
    outcome         text NOT NULL, -- no_keyword | auto_reply | bounce | consent_not_from_recipient | ...
    text            text NOT NULL  -- the first meaningful line
);
CREATE INDEX email_messages_by_confirmation ON email_messages (confirmation_id);
