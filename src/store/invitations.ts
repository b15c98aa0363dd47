/**
 * Invitations to create a coordinator account (migration 0012). The token itself is never stored: rows are
 * found by a keyed hash of it (src/coordinators/invitations.ts). Using one is a single UPDATE guarded by
 * `used_at IS NULL AND revoked_at IS NULL AND expires_at > now()`, so two concurrent uses cannot both win.
 */
import type { Queryable } from './db.js';

export interface InvitationRow {
  id: string;
  login: string;
  display_name: string;
  role: 'coordinator' | 'admin';
  inbox_id: string;
  created_by: string | null;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  coordinator_id: string | null;
}

const COLUMNS =
  'id, login, display_name, role, inbox_id, created_by, created_at, expires_at, used_at, revoked_at, coordinator_id';

export async function insertInvitation(
  db: Queryable,
  i: {
    id: string;
    tokenHash: string;
    login: string;
    displayName: string;
    role: 'coordinator' | 'admin';
    inboxId: string;
    createdBy: string | null;
    expiresAt: Date;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO coordinator_invitations (id, token_hash, login, display_name, role, inbox_id, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [i.id, i.tokenHash, i.login, i.displayName, i.role, i.inboxId, i.createdBy, i.expiresAt],
  );
}

/** The invitation whose token hashes to one of `tokenHashes` (one per master key of the keyring). */
export async function findInvitationByTokenHash(
  db: Queryable,
  tokenHashes: string[],
): Promise<(InvitationRow & { expired: boolean }) | undefined> {
  const r = await db.query<InvitationRow & { expired: boolean }>(
    `SELECT ${COLUMNS}, expires_at <= now() AS expired FROM coordinator_invitations
      WHERE token_hash = ANY($1::text[]) LIMIT 1`,
    [tokenHashes],
  );
  return r.rows[0];
}

/**
 * Marks the invitation used, only if it is still open (unused, not revoked, not expired). Returns the row
 * when this call won, undefined otherwise. The row locks until the caller's transaction ends, so a
 * concurrent use waits, then finds it used.
 */
export async function useInvitation(
  db: Queryable,
  tokenHashes: string[],
): Promise<InvitationRow | undefined> {
  const r = await db.query<InvitationRow>(
    `UPDATE coordinator_invitations SET used_at = now()
      WHERE token_hash = ANY($1::text[]) AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
      RETURNING ${COLUMNS}`,
    [tokenHashes],
  );
  return r.rows[0];
}

/** Records the account an invitation created (after it is inserted: the column references it). */
export async function setInvitationAccount(db: Queryable, id: string, coordinatorId: string): Promise<void> {
  await db.query('UPDATE coordinator_invitations SET coordinator_id = $2 WHERE id = $1', [id, coordinatorId]);
}

/** Whether an open invitation (unused, unrevoked, unexpired) already names this login. */
export async function openInvitationForLogin(db: Queryable, login: string): Promise<boolean> {
  const r = await db.query(
    `SELECT 1 FROM coordinator_invitations
      WHERE login = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() LIMIT 1`,
    [login],
  );
  return r.rows.length > 0;
}

/** Invitations to the given inboxes, newest first (for the admin screen). */
export async function listInvitations(
  db: Queryable,
  inboxIds: string[],
  limit = 200,
): Promise<(InvitationRow & { expired: boolean })[]> {
  const r = await db.query<InvitationRow & { expired: boolean }>(
    `SELECT ${COLUMNS}, expires_at <= now() AS expired FROM coordinator_invitations
      WHERE inbox_id = ANY($1::text[]) ORDER BY created_at DESC, id LIMIT $2`,
    [inboxIds, limit],
  );
  return r.rows;
}

export async function findInvitationById(db: Queryable, id: string): Promise<InvitationRow | undefined> {
  const r = await db.query<InvitationRow>(`SELECT ${COLUMNS} FROM coordinator_invitations WHERE id = $1`, [
    id,
  ]);
  return r.rows[0];
}

/** Revokes an open invitation; false when it was already used, revoked or unknown. */
export async function revokeInvitation(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinator_invitations SET revoked_at = now()
      WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL RETURNING id`,
    [id],
  );
  return r.rows.length > 0;
}
