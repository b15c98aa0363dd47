/**
 * Follow-up messages a submitter sends after reading the replies (the web page's "J'ai déjà un code"):
 * sealed in the browser as report envelopes, stored with each coordinator's sealed data key. Nothing here is
 * readable without a coordinator's private key.
 */
import type { Queryable } from './db.js';

export interface NewFollowUp {
  id: string;
  reportId: string;
  envelopeVersion: number;
  nonce: string;
  ciphertext: string;
  keys: { coordinatorId: string; sealedKey: string }[];
  createdAt: Date;
}

/** Whether a follow-up message id was already used, stored or discarded (replays are refused alike). */
export async function followUpIdUsed(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM report_followups WHERE id = $1)
          + (SELECT count(*) FROM followup_discards WHERE id = $1) AS n`,
    [id],
  );
  return Number(r.rows[0]?.n ?? 0) > 0;
}

/**
 * Stores a follow-up and marks its report (last_followup_at): the queue shows it as new until a coordinator
 * opens the case. False when the id is already used (nothing changed).
 */
export async function insertFollowUp(tx: Queryable, f: NewFollowUp): Promise<boolean> {
  const r = await tx.query(
    `INSERT INTO report_followups (id, report_id, envelope_version, nonce, ciphertext, created_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
    [f.id, f.reportId, f.envelopeVersion, f.nonce, f.ciphertext, f.createdAt],
  );
  if (r.rows.length === 0) return false;
  for (const k of f.keys) {
    await tx.query(
      'INSERT INTO report_followup_keys (followup_id, coordinator_id, sealed_key) VALUES ($1, $2, $3)',
      [f.id, k.coordinatorId, k.sealedKey],
    );
  }
  await tx.query(
    `UPDATE reports SET last_followup_at = greatest(coalesce(last_followup_at, $2), $2), updated_at = now()
      WHERE id = $1`,
    [f.reportId, f.createdAt],
  );
  return true;
}

/** Remembers the id of a follow-up sent with an unknown code (discarded); false when already used. */
export async function insertFollowUpDiscard(tx: Queryable, id: string, at: Date): Promise<boolean> {
  const r = await tx.query(
    'INSERT INTO followup_discards (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id',
    [id, at],
  );
  return r.rows.length > 0;
}

/** Forgets the ids of discarded follow-ups older than `before` (retention). */
export async function purgeFollowUpDiscards(db: Queryable, before: Date): Promise<number> {
  const r = await db.query<{ id: string }>(
    'DELETE FROM followup_discards WHERE created_at < $1 RETURNING id',
    [before],
  );
  return r.rows.length;
}

export interface FollowUpRow {
  id: string;
  envelope_version: number;
  nonce: string;
  ciphertext: string;
  created_at: Date;
  /** This coordinator's sealed copy of the message's data key (null: not sealed to them). */
  sealed_key: string | null;
}

/** A report's follow-ups, oldest first, with this coordinator's sealed key. */
export async function listFollowUps(
  db: Queryable,
  reportId: string,
  coordinatorId: string,
): Promise<FollowUpRow[]> {
  const r = await db.query<FollowUpRow>(
    `SELECT f.id, f.envelope_version, f.nonce, f.ciphertext, f.created_at, k.sealed_key
       FROM report_followups f
       LEFT JOIN report_followup_keys k ON k.followup_id = f.id AND k.coordinator_id = $2
      WHERE f.report_id = $1 ORDER BY f.created_at, f.id`,
    [reportId, coordinatorId],
  );
  return r.rows;
}

/** A coordinator opened the case: its follow-ups are no longer new. */
export async function markFollowUpsSeen(db: Queryable, reportId: string, viewerId: string): Promise<void> {
  // Seen up to the latest message this viewer can open (one sealed to them), as stored: a member who
  // cannot read a message does not clear its flag, and a message stored after this view stays new. The
  // times compared are the messages' own `created_at`, the clock `last_followup_at` comes from.
  await db.query(
    `UPDATE reports r SET followup_seen_at = greatest(coalesce(r.followup_seen_at, s.latest), s.latest)
       FROM (SELECT max(f.created_at) AS latest FROM report_followups f
               JOIN report_followup_keys k ON k.followup_id = f.id AND k.coordinator_id = $2
              WHERE f.report_id = $1) s
      WHERE r.id = $1 AND s.latest IS NOT NULL`,
    [reportId, viewerId],
  );
}

/** Every follow-up of an inbox's reports with the granter's sealed key (for re-sealing to a new member). */
export async function inboxFollowUpKeys(
  db: Queryable,
  inboxId: string,
  granterId: string,
): Promise<{ id: string; report_id: string; sealed_key: string | null }[]> {
  const r = await db.query<{ id: string; report_id: string; sealed_key: string | null }>(
    `SELECT f.id, f.report_id, k.sealed_key FROM report_followups f
       JOIN reports r ON r.id = f.report_id
       LEFT JOIN report_followup_keys k ON k.followup_id = f.id AND k.coordinator_id = $2
      WHERE r.inbox_id = $1 ORDER BY f.created_at, f.id`,
    [inboxId, granterId],
  );
  return r.rows;
}

/** Adds a coordinator's sealed copy of a follow-up's data key (a grant); an existing one is kept. */
export async function addFollowUpKey(
  tx: Queryable,
  followUpId: string,
  coordinatorId: string,
  sealedKey: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO report_followup_keys (followup_id, coordinator_id, sealed_key) VALUES ($1, $2, $3)
     ON CONFLICT (followup_id, coordinator_id) DO NOTHING`,
    [followUpId, coordinatorId, sealedKey],
  );
}
