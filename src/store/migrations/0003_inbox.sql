-- Coordinator inbox: sessions, login throttling, second factor, the case workflow (assignment, transitions,
-- notes) and the append-only audit trail. Nothing here holds report content in clear: notes are encrypted
-- in the coordinator's browser with the report's data key; transitions carry ids from config/workflow.yaml
-- (statuses, closing reasons, partners), never free text.

-- Sessions: only a SHA-256 of the cookie token and of the CSRF token are stored.
CREATE TABLE inbox_sessions (
  token_hash      text        PRIMARY KEY,
  coordinator_id  uuid        NOT NULL REFERENCES coordinators (id) ON DELETE CASCADE,
  csrf_hash       text        NOT NULL,
  restricted      boolean     NOT NULL DEFAULT false,   -- second factor must be enrolled first
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_sessions_coordinator ON inbox_sessions (coordinator_id);
CREATE INDEX inbox_sessions_last_seen ON inbox_sessions (last_seen_at);

-- Failed logins per account name (keyed hash of the login, known or not, so throttling never tells).
CREATE TABLE inbox_login_failures (
  login_hash      text        PRIMARY KEY,
  failures        integer     NOT NULL DEFAULT 0,
  locked_until    timestamptz,
  last_failure_at timestamptz NOT NULL DEFAULT now()
);

-- Optional TOTP second factor; the secret is sealed with a master-key subkey.
ALTER TABLE coordinators ADD COLUMN totp_sealed text;
ALTER TABLE coordinators ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE coordinators ADD COLUMN totp_last_step bigint;   -- refuses replay of a used code

-- Case workflow on the report row: assignment and due-time markers.
ALTER TABLE reports ADD COLUMN assigned_to uuid REFERENCES coordinators (id);
ALTER TABLE reports ADD COLUMN first_opened_at timestamptz;
ALTER TABLE reports ADD COLUMN evaluated_at timestamptz;
ALTER TABLE reports ADD COLUMN partner_id text;
ALTER TABLE reports ADD COLUMN close_reason text;
ALTER TABLE reports ADD COLUMN duplicate_of text;
CREATE INDEX reports_inbox_received ON reports (inbox_id, received_at DESC, id DESC);

CREATE TABLE report_transitions (
  id           uuid        PRIMARY KEY,
  report_id    uuid        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  from_status  text        NOT NULL,
  to_status    text        NOT NULL,
  actor_id     uuid        NOT NULL REFERENCES coordinators (id),
  reason       text,                                   -- id from config/workflow.yaml
  partner_id   text,                                   -- id from config/workflow.yaml
  duplicate_of text,                                   -- another report's public reference
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_transitions_report ON report_transitions (report_id, created_at);

CREATE TABLE report_notes (
  id         uuid        PRIMARY KEY,
  report_id  uuid        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  author_id  uuid        NOT NULL REFERENCES coordinators (id),
  ciphertext text        NOT NULL,                     -- encryptWithDataKey(report data key), AD = report id
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_notes_report ON report_notes (report_id, created_at);

-- Audit trail: who did what to which case, when; never content. Append-only: the database refuses
-- UPDATE, DELETE and TRUNCATE, whatever the application does.
CREATE TABLE audit_log (
  id               bigserial   PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  actor_id         uuid,                               -- null for a failed login on an unknown account
  action           text        NOT NULL,
  report_reference text,
  target_id        uuid,                               -- the coordinator an admin action was about
  detail           text                                -- an id from config (status, reason), never content
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_report ON audit_log (report_reference);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
