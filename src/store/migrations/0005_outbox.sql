-- Outbox: the replies of a turn, kept sealed until the channel confirms it sent them. If an instance dies
-- between a turn's commit and its replies, the platform's redelivery (a duplicate event) sends them then.
-- Sealed with a key that needs the raw platform id (as conversation states); deleted on confirmation, on
-- /effacer and after the deduplication window.
CREATE TABLE pending_replies (
  channel    text        NOT NULL,
  event_hash text        NOT NULL,
  user_hash  text        NOT NULL,
  sealed     bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, event_hash)
);
CREATE INDEX pending_replies_user ON pending_replies (user_hash);
CREATE INDEX pending_replies_created_at ON pending_replies (created_at);
