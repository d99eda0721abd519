-- A provider batch item's result is read from the idempotency ledger
-- under its command id (request id:index) instead of a request_items row
-- written beside it: one row, one index entry and one foreign-key check
-- fewer per uploaded consent. The ledger keeps the error's location for
-- that. request_items keeps the items refused before queueing, and the
-- rows written before this migration.
ALTER TABLE commands ADD COLUMN IF NOT EXISTS error_location text;
