-- Issue 16: fewer index entries written per turn.
-- The outbox holds only replies not yet confirmed sent: a few rows at any time (each is deleted a few
-- milliseconds after its insert). Its purge and /effacer scan it; two b-tree entries per turn go.
DROP INDEX IF EXISTS pending_replies_user;
DROP INDEX IF EXISTS pending_replies_created_at;
-- Rows of these two are inserted in time order and purged by time: a BRIN index (one summary per range of
-- pages) serves the purge and costs next to nothing per insert, unlike a b-tree entry.
DROP INDEX IF EXISTS processed_events_processed_at;
CREATE INDEX processed_events_processed_at ON processed_events USING brin (processed_at);
DROP INDEX IF EXISTS message_trail_created_idx;
CREATE INDEX message_trail_created_idx ON message_trail USING brin (created_at);
