-- Changes a channel records after it sent a turn's replies (e.g. the ids of the messages just sent, for
-- /effacer), appended by one statement without taking the conversation's lock; the next turn folds them
-- into the conversation's sealed state and empties the list. Each element is sealed like the state (a key
-- that needs the raw platform id).
ALTER TABLE conversations ADD COLUMN channel_updates bytea[] NOT NULL DEFAULT '{}';
