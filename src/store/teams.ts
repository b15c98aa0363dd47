/** Teams coordinator links (sealed conversation references) and their one-time link codes (hashed). */
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
