/** Coordinators, their keys (public, wrapped private, login-key hash) and inbox memberships. */
import type { Queryable } from './db.js';

export interface CoordinatorRow {
  id: string;
  login: string;
  display_name: string;
  role: 'coordinator' | 'admin';
  public_key: string;
  wrapped_private_key: string;
  pwhash_salt: string;
  login_key_hash: string;
  disabled_at: Date | null;
}

const COLUMNS =
  'id, login, display_name, role, public_key, wrapped_private_key, pwhash_salt, login_key_hash, disabled_at';

export async function insertCoordinator(
  tx: Queryable,
  c: Omit<CoordinatorRow, 'disabled_at'>,
): Promise<void> {
  await tx.query(
    `INSERT INTO coordinators (id, login, display_name, role, public_key, wrapped_private_key, pwhash_salt, login_key_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      c.id,
      c.login,
      c.display_name,
      c.role,
      c.public_key,
      c.wrapped_private_key,
      c.pwhash_salt,
      c.login_key_hash,
    ],
  );
}

export async function findCoordinatorByLogin(
  db: Queryable,
  login: string,
): Promise<CoordinatorRow | undefined> {
  const r = await db.query<CoordinatorRow>(`SELECT ${COLUMNS} FROM coordinators WHERE login = $1`, [login]);
  return r.rows[0];
}

export async function findCoordinatorById(db: Queryable, id: string): Promise<CoordinatorRow | undefined> {
  const r = await db.query<CoordinatorRow>(`SELECT ${COLUMNS} FROM coordinators WHERE id = $1`, [id]);
  return r.rows[0];
}

export async function updateCoordinatorSecrets(
  tx: Queryable,
  id: string,
  s: { wrapped_private_key: string; pwhash_salt: string; login_key_hash: string },
): Promise<void> {
  await tx.query(
    `UPDATE coordinators SET wrapped_private_key = $2, pwhash_salt = $3, login_key_hash = $4, updated_at = now()
      WHERE id = $1`,
    [id, s.wrapped_private_key, s.pwhash_salt, s.login_key_hash],
  );
}

export async function addInboxMember(tx: Queryable, inboxId: string, coordinatorId: string): Promise<void> {
  await tx.query(
    'INSERT INTO inbox_members (inbox_id, coordinator_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [inboxId, coordinatorId],
  );
}

export async function isInboxMember(db: Queryable, inboxId: string, coordinatorId: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM inbox_members WHERE inbox_id = $1 AND coordinator_id = $2', [
    inboxId,
    coordinatorId,
  ]);
  return r.rows.length > 0;
}

/** The active coordinators of an inbox with their public keys: the recipients of its reports. */
export async function inboxRecipients(
  db: Queryable,
  inboxId: string,
): Promise<{ id: string; public_key: string }[]> {
  const r = await db.query<{ id: string; public_key: string }>(
    `SELECT c.id, c.public_key FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE m.inbox_id = $1 AND c.disabled_at IS NULL ORDER BY c.created_at, c.id`,
    [inboxId],
  );
  return r.rows;
}

/** Inboxes of a coordinator. */
export async function inboxesOf(db: Queryable, coordinatorId: string): Promise<string[]> {
  const r = await db.query<{ inbox_id: string }>(
    'SELECT inbox_id FROM inbox_members WHERE coordinator_id = $1 ORDER BY inbox_id',
    [coordinatorId],
  );
  return r.rows.map((row) => row.inbox_id);
}

/** Number of active coordinators per inbox (for readiness). */
export async function activeMembersByInbox(db: Queryable): Promise<Map<string, number>> {
  const r = await db.query<{ inbox_id: string; n: number }>(
    `SELECT m.inbox_id, count(*)::int AS n FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE c.disabled_at IS NULL GROUP BY m.inbox_id`,
  );
  return new Map(r.rows.map((row) => [row.inbox_id, row.n]));
}
