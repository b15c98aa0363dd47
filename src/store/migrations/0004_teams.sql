-- Microsoft Teams: coordinator links for contentless new-case notices.
-- A link holds the Teams conversation reference sealed with the master key's contact subkey (the server
-- must open it to send a notice); no Teams id is stored in clear. Link codes are one-time, short-lived and
-- stored only as a keyed hash.

CREATE TABLE teams_links (
  coordinator_id   uuid        PRIMARY KEY REFERENCES coordinators (id) ON DELETE CASCADE,
  reference_sealed text        NOT NULL,          -- sealContact(JSON conversation reference)
  linked_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams_link_codes (
  code_hash      text        PRIMARY KEY,         -- keyed BLAKE2b of the code (needs the master key)
  coordinator_id uuid        NOT NULL REFERENCES coordinators (id) ON DELETE CASCADE,
  expires_at     timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_link_codes_coordinator ON teams_link_codes (coordinator_id);
