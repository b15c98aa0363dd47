-- The ids of chat messages a bot may still delete for /effacer (Telegram: the bot's and the user's messages
-- of a private chat, under 48 h; Teams: the bot's own activities). Kept apart from the conversation so they
-- outlive it: a finished report, its secret code and /suivi output stay erasable after the conversation row
-- is gone. One row per batch of ids, sealed like the state (a key that needs the raw platform id), found by
-- the keyed hash of the user; deleted by /effacer, and by the purge 48 h after the user's last row.
CREATE TABLE message_trail (
  id bigserial PRIMARY KEY,
  user_hash text NOT NULL,
  channel text NOT NULL,
  sealed bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_trail_user_idx ON message_trail (user_hash);
CREATE INDEX message_trail_created_idx ON message_trail (created_at);
