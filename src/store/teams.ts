/**
 * Teams coordinator links (sealed conversation references), their one-time link codes (hashed) and the
 * pending new-case notices (queue metadata only).
 */
import type { Queryable } from './db.js';

/** A coordinator's Teams link: the sealed conversation reference to send notices to. */
export interface TeamsLinkRow {
  coordinator_id: string;
  reference_sealed: string;
}

/** Stores a new link code for a coordinator, replacing any earlier one (only the latest code works). */
export async function insertTeamsLinkCode(
  tx: Queryable,
  code: { codeHash: string; coordinatorId: string; expiresAt: Date },
): Promise<void> {
  await tx.query('DELETE FROM teams_link_codes WHERE coordinator_id = $1 OR expires_at < now()', [
    code.coordinatorId,
  ]);
  await tx.query('INSERT INTO teams_link_codes (code_hash, coordinator_id, expires_at) VALUES ($1, $2, $3)', [
    code.codeHash,
    code.coordinatorId,
    code.expiresAt,
  ]);
}

/**
 * Consumes a link code: deletes it and returns its coordinator when one of `codeHashes` (one per master
 * key during a rotation) is known, not expired at `now`, and the coordinator is active. One use only.
 */
export async function consumeTeamsLinkCode(
  tx: Queryable,
  codeHashes: string[],
  now: Date,
): Promise<string | undefined> {
  const r = await tx.query<{ coordinator_id: string; expires_at: Date }>(
    'DELETE FROM teams_link_codes WHERE code_hash = ANY($1) RETURNING coordinator_id, expires_at',
    [codeHashes],
  );
  const row = r.rows[0];
  if (!row || new Date(row.expires_at).getTime() <= now.getTime()) return undefined;
  const active = await tx.query('SELECT 1 FROM coordinators WHERE id = $1 AND disabled_at IS NULL', [
    row.coordinator_id,
  ]);
  return active.rows.length > 0 ? row.coordinator_id : undefined;
}

/** Creates or replaces a coordinator's Teams link. */
export async function saveTeamsLink(
  tx: Queryable,
  link: { coordinatorId: string; referenceSealed: string },
): Promise<void> {
  await tx.query(
    `INSERT INTO teams_links (coordinator_id, reference_sealed) VALUES ($1, $2)
     ON CONFLICT (coordinator_id) DO UPDATE SET reference_sealed = EXCLUDED.reference_sealed, linked_at = now()`,
    [link.coordinatorId, link.referenceSealed],
  );
}

/** Removes a coordinator's Teams link; true when there was one. */
export async function deleteTeamsLink(tx: Queryable, coordinatorId: string): Promise<boolean> {
  const r = await tx.query('DELETE FROM teams_links WHERE coordinator_id = $1 RETURNING coordinator_id', [
    coordinatorId,
  ]);
  return r.rows.length > 0;
}

/** The Teams links of the active coordinators of an inbox (the recipients of its new-case notices). */
export async function teamsLinksForInbox(db: Queryable, inboxId: string): Promise<TeamsLinkRow[]> {
  const r = await db.query<TeamsLinkRow>(
    `SELECT l.coordinator_id, l.reference_sealed
       FROM teams_links l
       JOIN inbox_members m ON m.coordinator_id = l.coordinator_id
       JOIN coordinators c ON c.id = l.coordinator_id
      WHERE m.inbox_id = $1 AND c.disabled_at IS NULL
      ORDER BY l.coordinator_id`,
    [inboxId],
  );
  return r.rows;
}

// --- Pending new-case notices (migration 0008) -------------------------------------------------------------

/** A notice to store: queue metadata that `reports` already holds in clear, nothing else. */
export interface TeamsNoticeInput {
  reference: string;
  inbox: string;
  urgency: 'normal' | 'high' | 'immediate';
  kind: 'professional' | 'youth';
  /** A new case (default) or a new message from the person on a case. */
  what?: 'case' | 'message';
}

/** A notice claimed for sending. */
export interface TeamsNoticeRow {
  id: number;
  reference: string;
  inbox_id: string;
  urgency: 'normal' | 'high' | 'immediate';
  attempts: number;
  what: 'case' | 'message';
}

/**
 * Stores a pending notice and returns in how many milliseconds it is due (database clock). `batchSeconds`
 * 0 makes it due now; otherwise it joins the batch already open for its inbox (the earliest pending
 * notice not yet due and never tried), or opens one due in `batchSeconds`.
 */
export async function enqueueTeamsNotice(
  db: Queryable,
  notice: TeamsNoticeInput,
  batchSeconds: number,
): Promise<number> {
  const r = await db.query<{ wait_ms: number }>(
    `WITH due AS (
       SELECT CASE WHEN $5::double precision <= 0 THEN now()
                   ELSE COALESCE(
                     (SELECT min(due_at) FROM teams_notices
                       WHERE inbox_id = $2 AND urgency <> 'immediate' AND attempts = 0
                         AND claimed_until IS NULL AND due_at > now()),
                     now() + make_interval(secs => $5::double precision))
              END AS at
     )
     INSERT INTO teams_notices (reference, inbox_id, urgency, flow_kind, due_at, what)
     SELECT $1, $2, $3, $4, due.at, $6 FROM due
     RETURNING GREATEST(0, extract(epoch FROM (due_at - now())) * 1000)::float8 AS wait_ms`,
    [notice.reference, notice.inbox, notice.urgency, notice.kind, batchSeconds, notice.what ?? 'case'],
  );
  return Number(r.rows[0]?.wait_ms ?? 0);
}

/**
 * Claims due notices for `leaseSeconds`: one statement that skips rows another instance holds, so each
 * row goes to one claimer. A claimer that dies leaves its rows to be claimed again once the lease ends.
 */
export async function claimTeamsNotices(
  db: Queryable,
  leaseSeconds: number,
  limit: number,
): Promise<TeamsNoticeRow[]> {
  const r = await db.query<TeamsNoticeRow>(
    `UPDATE teams_notices
        SET claimed_until = now() + make_interval(secs => $1::double precision), attempts = attempts + 1
      WHERE id IN (
        SELECT id FROM teams_notices
         WHERE due_at <= now() AND (claimed_until IS NULL OR claimed_until <= now())
         ORDER BY due_at, id
         LIMIT $2
         FOR UPDATE SKIP LOCKED)
      RETURNING id, reference, inbox_id, urgency, attempts, what`,
    [leaseSeconds, limit],
  );
  return r.rows
    .map((row) => ({ ...row, id: Number(row.id), attempts: Number(row.attempts) }))
    .sort((a, b) => a.id - b.id);
}

/** Deletes notices (sent, or given up). */
export async function deleteTeamsNotices(db: Queryable, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query('DELETE FROM teams_notices WHERE id = ANY($1::bigint[])', [ids]);
}

/** Releases claimed notices for another attempt in `delaySeconds`. */
export async function retryTeamsNotices(db: Queryable, ids: number[], delaySeconds: number): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `UPDATE teams_notices SET claimed_until = NULL, due_at = now() + make_interval(secs => $2::double precision)
      WHERE id = ANY($1::bigint[])`,
    [ids, delaySeconds],
  );
}

/** Milliseconds until the next notice can be claimed (0 when one is due), or undefined when none is pending. */
export async function nextTeamsNoticeWait(db: Queryable): Promise<number | undefined> {
  const r = await db.query<{ wait_ms: number | null }>(
    // GREATEST ignores NULL: with no row, min() is NULL and must stay NULL.
    `SELECT CASE WHEN next IS NULL THEN NULL
                 ELSE GREATEST(0, extract(epoch FROM (next - now())) * 1000)::float8 END AS wait_ms
       FROM (SELECT min(GREATEST(due_at, COALESCE(claimed_until, due_at))) AS next FROM teams_notices) n`,
  );
  const wait = r.rows[0]?.wait_ms;
  return wait === null || wait === undefined ? undefined : Number(wait);
}

/** Whether an inbox has at least one linked, active coordinator (someone a notice could reach). */
export async function inboxHasTeamsLink(db: Queryable, inboxId: string): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM teams_links l
       JOIN inbox_members m ON m.coordinator_id = l.coordinator_id
       JOIN coordinators c ON c.id = l.coordinator_id
      WHERE m.inbox_id = $1 AND c.disabled_at IS NULL
      LIMIT 1`,
    [inboxId],
    // Once a report (every submit): planned once per connection (the join took 0.4 ms to plan).
    { prepare: true },
  );
  return r.rows.length > 0;
}

/** Deletes notices due before `before` that no instance sent (the channel was turned off, say). */
export async function purgeTeamsNotices(db: Queryable, before: Date): Promise<number> {
  const r = await db.query<{ id: number }>('DELETE FROM teams_notices WHERE due_at < $1 RETURNING id', [
    before,
  ]);
  return r.rows.length;
}
