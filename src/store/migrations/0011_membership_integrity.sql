-- Integrity of who reads and who wrote (issue 14, finding 4). A database writer could add a row to
-- inbox_members with their own public key and be sealed every later report, or forge a coordinator's reply.
-- Membership and coordinators' public keys now carry a MAC under a master-key subkey (only the service can
-- write one); replies and notes carry the author's Ed25519 signature, made in the coordinator's browser.
-- Layouts: docs/CRYPTO.md. None of these columns holds content.

ALTER TABLE inbox_members ADD COLUMN mac text;                 -- inboxMemberMac(inbox, coordinator, X25519 key)
ALTER TABLE coordinators ADD COLUMN signing_public_key text;  -- Ed25519, base64url; null until registered
ALTER TABLE coordinators ADD COLUMN keys_mac text;            -- coordinatorKeysMac(id, X25519, Ed25519 or none)
ALTER TABLE report_replies ADD COLUMN signature text;         -- author's Ed25519 signature (signReply)
ALTER TABLE report_replies ADD COLUMN legacy_mac text;        -- server's attestation of a reply older than this
ALTER TABLE report_notes ADD COLUMN signature text;           -- author's Ed25519 signature (signNote)

-- What existed when this migration ran. The master key is not available to SQL, so the first process that
-- has it (the server at start, `intake migrate`) MACs exactly these rows, if unchanged, then empties the
-- lists; anything added later without a MAC receives nothing and is not shown.
CREATE TABLE integrity_backfill_members (
  inbox_id       text NOT NULL,
  coordinator_id uuid NOT NULL,
  public_key     text NOT NULL,
  PRIMARY KEY (inbox_id, coordinator_id)
);
INSERT INTO integrity_backfill_members (inbox_id, coordinator_id, public_key)
  SELECT m.inbox_id, m.coordinator_id, c.public_key FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id;

CREATE TABLE integrity_backfill_coordinators (
  id         uuid PRIMARY KEY,
  public_key text NOT NULL
);
INSERT INTO integrity_backfill_coordinators (id, public_key) SELECT id, public_key FROM coordinators;

CREATE TABLE integrity_backfill_replies (
  id        uuid PRIMARY KEY,
  report_id uuid NOT NULL,
  sealed    text NOT NULL
);
INSERT INTO integrity_backfill_replies (id, report_id, sealed) SELECT id, report_id, sealed FROM report_replies;
