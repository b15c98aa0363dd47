-- Invitations (issue 14, finding 3): an admin (or the operator with `intake coordinator invite`) names the
-- account to be (login, display name, role, inbox); the invitee opens a one-time link, chooses a passphrase
-- and their browser makes the key pair, then sends only public material. The link's token is never stored:
-- only a keyed hash of it (HMAC under a master-key subkey), so a dump alone gives no usable link.
CREATE TABLE coordinator_invitations (
  id             uuid        PRIMARY KEY,
  token_hash     text        NOT NULL UNIQUE,           -- invitationTokenHash(token), hex
  login          text        NOT NULL,
  display_name   text        NOT NULL,
  role           text        NOT NULL CHECK (role IN ('coordinator', 'admin')),
  inbox_id       text        NOT NULL,
  created_by     uuid        REFERENCES coordinators (id), -- null: created with the CLI
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,                          -- single use: set once, in the accepting transaction
  revoked_at     timestamptz,
  coordinator_id uuid        REFERENCES coordinators (id) -- the account the invitation created
);
CREATE INDEX coordinator_invitations_login ON coordinator_invitations (login);
CREATE INDEX coordinator_invitations_inbox ON coordinator_invitations (inbox_id, created_at DESC);
