-- Issue 16: a version per conversation row. A turn reads the state and its version in one statement, without
-- a transaction, and writes the new state only if the version is unchanged (compare-and-set, with the event's
-- deduplication and the outbox entry in the same statement); a turn that finds it changed runs again on the
-- new state. This replaces the advisory lock and the `FOR UPDATE` that held a transaction open for the turn.
ALTER TABLE conversations ADD COLUMN version bigint NOT NULL DEFAULT 0;
-- Room on each page for the new version of a row: a turn's update can then be a HOT update (no new index
-- entry) when its indexed columns (user_hash, expires_at) keep their values.
ALTER TABLE conversations SET (fillfactor = 80);
