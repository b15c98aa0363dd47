-- Pending Teams new-case notices to coordinators, so a batch survives a restart and goes out once even with
-- several instances. A row holds only queue metadata that `reports` already holds in clear (reference,
-- inbox, urgency, flow kind) and times: no content, no name, no platform id. It is deleted once sent, when
-- nobody is linked to receive it, after a bounded number of failed attempts, with its report, and by the
-- purge a day after it was due.
CREATE TABLE teams_notices (
  id            bigserial   PRIMARY KEY,
  reference     text        NOT NULL REFERENCES reports (reference) ON DELETE CASCADE,
  inbox_id      text        NOT NULL,
  urgency       text        NOT NULL CHECK (urgency IN ('normal', 'high', 'immediate')),
  flow_kind     text        NOT NULL CHECK (flow_kind IN ('professional', 'youth')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  due_at        timestamptz NOT NULL,             -- when the batch it belongs to goes out
  claimed_until timestamptz,                      -- an instance is sending it until then (a lease)
  attempts      integer     NOT NULL DEFAULT 0
);
CREATE INDEX teams_notices_due ON teams_notices (due_at);
CREATE INDEX teams_notices_reference ON teams_notices (reference);
