-- Conversations in progress, sealed reports, coordinators and their keys.
-- Nothing here holds an answer, a name of a submitter or a platform id in clear: conversation rows are
-- found by a keyed hash and hold an encrypted state; reports hold ciphertext plus non-identifying queue
-- metadata (reference, inbox, kind, channel, urgency, status, timestamps).

CREATE TABLE conversations (
  user_hash       text        PRIMARY KEY,          -- keyed BLAKE2b of channel + platform user id
  channel         text        NOT NULL,
  state           bytea       NOT NULL,             -- XChaCha20-Poly1305, key needs the raw platform id
  key_fingerprint text        NOT NULL,             -- which master key sealed it (rotation)
  expires_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_expires_at ON conversations (expires_at);

CREATE TABLE coordinators (
  id                  uuid        PRIMARY KEY,
  login               text        NOT NULL UNIQUE,  -- staff account identifier, not report content
  display_name        text        NOT NULL,         -- staff name, shown to colleagues and in the audit trail
  role                text        NOT NULL DEFAULT 'coordinator' CHECK (role IN ('coordinator', 'admin')),
  public_key          text        NOT NULL,         -- X25519, base64url
  wrapped_private_key text        NOT NULL,         -- wrapped with the passphrase-derived wrap key
  pwhash_salt         text        NOT NULL,         -- Argon2id salt, base64url
  login_key_hash      text        NOT NULL,         -- hash of the passphrase-derived login key
  disabled_at         timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inbox_members (
  inbox_id       text        NOT NULL,
  coordinator_id uuid        NOT NULL REFERENCES coordinators (id),
  added_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (inbox_id, coordinator_id)
);

CREATE TABLE reports (
  id                 uuid        PRIMARY KEY,
  reference          text        NOT NULL UNIQUE,   -- public, short, not secret
  inbox_id           text        NOT NULL,
  flow_kind          text        NOT NULL CHECK (flow_kind IN ('professional', 'youth')),
  channel            text        NOT NULL,
  urgency            text        NOT NULL CHECK (urgency IN ('normal', 'high', 'immediate')),
  status             text        NOT NULL DEFAULT 'nouveau',
  envelope_version   integer     NOT NULL,
  nonce              text        NOT NULL,
  ciphertext         text        NOT NULL,
  receipt_tag        text        UNIQUE,            -- keyed hash of the receipt (lookup needs the master key)
  receipt_salt       text,
  receipt_public_key text,                          -- replies are sealed to it
  contact_sealed     text,                          -- opted-in channel address, sealed; deleted at closing
  received_at        timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  closed_at          timestamptz
);
CREATE INDEX reports_queue ON reports (inbox_id, status, received_at DESC, id);

CREATE TABLE report_keys (
  report_id      uuid NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  coordinator_id uuid NOT NULL REFERENCES coordinators (id),
  sealed_key     text NOT NULL,                     -- crypto_box_seal of the data key to this coordinator
  PRIMARY KEY (report_id, coordinator_id)
);
CREATE INDEX report_keys_coordinator ON report_keys (coordinator_id);

CREATE TABLE report_replies (
  id         uuid        PRIMARY KEY,
  report_id  uuid        NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
  sealed     text        NOT NULL,                  -- sealed to the receipt key: only the submitter opens it
  author_id  uuid        REFERENCES coordinators (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_replies_report ON report_replies (report_id, created_at);
