-- Foundation: platform event deduplication (webhooks are redelivered; each event is processed once).
-- The event id is stored only as a keyed hash, and rows expire (retention.dedupHours).
CREATE TABLE processed_events (
  channel      text        NOT NULL,
  event_hash   text        NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, event_hash)
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
