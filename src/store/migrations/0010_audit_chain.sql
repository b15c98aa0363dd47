-- The audit trail becomes a hash chain: each entry carries the hash of the previous one, so a row changed or
-- deleted behind the service's back (by someone who can bypass the append-only trigger: the table owner, a
-- superuser, a restored dump) breaks the chain, and `intake audit verify` names the first broken entry.
--
-- The chain is kept by the database, not by the application: a BEFORE INSERT trigger takes the head row
-- (`audit_head`, one row) FOR UPDATE, numbers the entry (`seq`, 1, 2, 3, ... without gaps), links it to the
-- head's hash and moves the head, all inside the inserting transaction. Two instances appending at once
-- therefore queue on the head row and never fork the chain, whether the caller inserts in its own
-- transaction or alone. Whatever `id`, `seq`, `prev_hash` or `hash` an INSERT supplies is overwritten.
--
-- The trigger function is SECURITY DEFINER (it runs as the migrating owner), so the service's role needs only
-- SELECT and INSERT on audit_log and SELECT on audit_head (docs/OPERATIONS.md, "Database roles").
--
-- Hash of an entry (hex SHA-256 of an ASCII string; src/store/audit.ts computes the same in TypeScript):
--   'audit.v1' | seq | at in microseconds since the epoch | hex(actor_id) | hex(action)
--     | hex(report_reference) | hex(target_id) | hex(detail) | prev_hash
-- where hex(x) is the hex of x's UTF-8 bytes and a NULL is '-'. The first entry's prev_hash is 64 zeros.

ALTER TABLE audit_log ADD COLUMN seq bigint;
ALTER TABLE audit_log ADD COLUMN prev_hash text;
ALTER TABLE audit_log ADD COLUMN hash text;

CREATE TABLE audit_head (
  id   boolean PRIMARY KEY DEFAULT true CHECK (id),  -- exactly one row
  seq  bigint  NOT NULL,                             -- seq of the last entry (0: empty trail) = entry count
  hash text    NOT NULL                              -- hash of the last entry (64 zeros: empty trail)
);

CREATE FUNCTION audit_entry_hash(
  p_seq bigint, p_at timestamptz, p_actor uuid, p_action text, p_reference text, p_target uuid,
  p_detail text, p_prev text
) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(
    'audit.v1'
    || '|' || p_seq::text
    || '|' || (extract(epoch FROM p_at) * 1000000)::bigint::text
    || '|' || coalesce(encode(convert_to(p_actor::text, 'UTF8'), 'hex'), '-')
    || '|' || coalesce(encode(convert_to(p_action, 'UTF8'), 'hex'), '-')
    || '|' || coalesce(encode(convert_to(p_reference, 'UTF8'), 'hex'), '-')
    || '|' || coalesce(encode(convert_to(p_target::text, 'UTF8'), 'hex'), '-')
    || '|' || coalesce(encode(convert_to(p_detail, 'UTF8'), 'hex'), '-')
    || '|' || p_prev,
    'UTF8')), 'hex')
$$;

-- Existing entries, chained once in id order (deterministic). The append-only trigger is lifted for this
-- transaction only: the migration runs as the table owner.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
DO $$
DECLARE
  r      record;
  v_seq  bigint := 0;
  v_hash text   := repeat('0', 64);
BEGIN
  FOR r IN SELECT id, at, actor_id, action, report_reference, target_id, detail FROM audit_log ORDER BY id LOOP
    v_seq := v_seq + 1;
    UPDATE audit_log
       SET seq = v_seq,
           prev_hash = v_hash,
           hash = audit_entry_hash(v_seq, r.at, r.actor_id, r.action, r.report_reference, r.target_id,
                                   r.detail, v_hash)
     WHERE id = r.id
    RETURNING hash INTO v_hash;
  END LOOP;
  INSERT INTO audit_head (seq, hash) VALUES (v_seq, v_hash);
END;
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update_delete;

ALTER TABLE audit_log ALTER COLUMN seq SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL;
-- A fork (two entries after one head) is impossible by construction; these make it impossible by schema too.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_unique UNIQUE (seq);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_prev_unique UNIQUE (prev_hash);

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
DECLARE
  v_seq  bigint;
  v_hash text;
BEGIN
  -- Queues concurrent appends (READ COMMITTED: after the wait, the row read is the newest head).
  SELECT seq, hash INTO v_seq, v_hash FROM audit_head WHERE id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'audit_head is missing: the audit chain cannot be extended' USING ERRCODE = '55000';
  END IF;
  -- The id default was drawn before the wait: draw again, so ids follow the chain's order (the audit list
  -- pages by id). The first draw is a harmless gap.
  NEW.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
  NEW.at := coalesce(NEW.at, now());
  NEW.seq := v_seq + 1;
  NEW.prev_hash := v_hash;
  NEW.hash := audit_entry_hash(NEW.seq, NEW.at, NEW.actor_id, NEW.action, NEW.report_reference,
                               NEW.target_id, NEW.detail, v_hash);
  UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id;
  RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
