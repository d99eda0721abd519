-- SMS evidence: every mobile-originated message the SMS intake read,
-- whatever came of it (PRODUCT.md §3: "the message is kept as evidence all
-- the same"). One row per message id: an SMSC redelivery of a message the
-- intake could not finish updates the same row.
CREATE TABLE sms_messages (
    id          text PRIMARY KEY,        -- fingerprint of the deliver_sm(s), stable across redeliveries
    bind        text NOT NULL,
    sender      text NOT NULL,           -- source_addr as received
    recipient   text,                    -- sender as E.164; NULL when it is no phone number
    destination text NOT NULL,           -- destination_addr as received
    data_coding smallint NOT NULL,
    parts       int NOT NULL,
    text        text NOT NULL DEFAULT '',
    raw         bytea,                   -- the octets, when they were no text
    outcome     text NOT NULL,
    reply       text NOT NULL DEFAULT '',
    command_ids text[] NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_messages_by_recipient ON sms_messages (recipient, received_at);

-- Delivery of confirmations, from SMSC delivery receipts (SMPP 3.4
-- Appendix B): the receipt's id is the confirmation's peer_ref.
ALTER TABLE confirmations
    ADD COLUMN delivery_state text,          -- DELIVERED, UNDELIVERABLE, EXPIRED, … (SMPP 3.4 §5.2.28)
    ADD COLUMN delivered_at   timestamptz,   -- when the receipt saying DELIVERED arrived
    ADD COLUMN delivery_error text;          -- the receipt's err field, if any
CREATE INDEX confirmations_by_peer_ref ON confirmations (peer_ref) WHERE peer_ref IS NOT NULL;

-- Every delivery receipt, matched or not. An SMSC may send the receipt
-- before the outbox has recorded the submit_sm_resp's message id as the
-- confirmation's peer_ref (the simulator does, at once); the trigger below
-- applies such an early receipt when peer_ref is set.
CREATE TABLE sms_receipts (
    message_id  text NOT NULL,
    bind        text NOT NULL,
    state       text NOT NULL,           -- message state name, '' when the receipt says none
    stat        text NOT NULL DEFAULT '',-- the receipt's stat field as given
    err         text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL,
    PRIMARY KEY (message_id, bind, state)
);

CREATE FUNCTION confirmations_early_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.peer_ref IS NOT NULL AND NEW.delivery_state IS NULL THEN
        SELECT r.state, CASE WHEN r.state = 'DELIVERED' THEN r.received_at END, nullif(r.err, '')
          INTO NEW.delivery_state, NEW.delivered_at, NEW.delivery_error
          FROM sms_receipts r WHERE r.message_id = NEW.peer_ref
          ORDER BY r.received_at DESC LIMIT 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER confirmations_early_receipt BEFORE UPDATE OF peer_ref ON confirmations
    FOR EACH ROW EXECUTE FUNCTION confirmations_early_receipt();
