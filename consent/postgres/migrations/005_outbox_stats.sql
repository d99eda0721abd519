-- The outbox gauges are read at every metrics scrape. Counting every
-- confirmation ever written scanned the whole table (millions of rows at
-- a national registry); pending ones have the confirmations_due index,
-- and failed and late ones, which are rare, get partial indexes of their
-- own, so a scrape reads only the rows it counts.
CREATE INDEX IF NOT EXISTS confirmations_failed ON confirmations (id) WHERE state = 'failed';
CREATE INDEX IF NOT EXISTS confirmations_late ON confirmations (id) WHERE late;
