-- Issue 16: a turn's unsent replies (the outbox entry, sealed like before with `<channel>:outbox`) ride in its
-- conversation row, written by the turn's own update and cleared by the update that records what was sent:
-- no row inserted into and deleted from pending_replies a turn. pending_replies still holds the replies of a
-- turn that ends its conversation (submitted, stopped) or has none (a first /suivi), and an entry still
-- unconfirmed when the next turn of the conversation writes (moved there by that write, never lost).
ALTER TABLE conversations ADD COLUMN outbox_event text, ADD COLUMN outbox bytea;
