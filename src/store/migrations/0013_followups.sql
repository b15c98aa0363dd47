-- Follow-up messages (issue 15): with the receipt, the person reads the replies on the web page and can write
-- back. The page seals the message in the browser, to the current trusted recipients of the inbox the report
-- is in, as a report envelope whose associated data names the report and the message id. Stored here: the
-- report id, the envelope and each coordinator's sealed copy of its data key. No clear content, no receipt,
-- no lookup hash, no platform id, no IP address.
CREATE TABLE report_followups (
  id               uuid        PRIMARY KEY,           -- made by the page; in the envelope's associated data
  report_id        uuid        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  envelope_version integer     NOT NULL,
  nonce            text        NOT NULL,
  ciphertext       text        NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_followups_report ON report_followups (report_id, created_at);

CREATE TABLE report_followup_keys (
  followup_id    uuid NOT NULL REFERENCES report_followups (id) ON DELETE CASCADE,
  coordinator_id uuid NOT NULL REFERENCES coordinators (id),
  sealed_key     text NOT NULL,                     -- crypto_box_seal of the message's data key
  PRIMARY KEY (followup_id, coordinator_id)
);
CREATE INDEX report_followup_keys_coordinator ON report_followup_keys (coordinator_id);

-- Message ids of follow-ups sent with a code that finds no report: accepted and discarded (nothing else is
-- kept), remembered only so that a replay is refused as it is for a real report. Purged with retention.
CREATE TABLE followup_discards (
  id         uuid        PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX followup_discards_created ON followup_discards (created_at);

-- What the queue shows: when the person last wrote, and when a coordinator last opened the case after it.
-- A message newer than the last opening is "new", whatever the case's status (a closed case shows again).
ALTER TABLE reports ADD COLUMN last_followup_at timestamptz;
ALTER TABLE reports ADD COLUMN followup_seen_at timestamptz;
CREATE INDEX reports_new_followup ON reports (last_followup_at) WHERE last_followup_at IS NOT NULL;
