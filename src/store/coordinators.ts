/**
 * Coordinators, their keys (public; wrapped private key and login-key hash, both sealed at rest) and inbox
 * memberships. The sealed columns are read only through {@link coordinatorSecrets}, never with the row.
 */
import type { Queryable } from './db.js';

/** A coordinator as most code needs it: no secret, sealed or not. */
export interface CoordinatorRow {
  id: string;
  login: string;
  display_name: string;
  role: 'coordinator' | 'admin';
  public_key: string;
  pwhash_salt: string;
  disabled_at: Date | null;
}

/**
 * Text produced by the at-rest sealing (src/coordinators/at-rest.ts). The brand makes writing a clear
 * login-key hash or wrapped key into these columns a type error.
 */
export type SealedCoordinatorSecret = string & { readonly __sealedAtRest: true };

/** The sealed columns as written: both values and the fingerprint of the master key that sealed them. */
export interface SealedCoordinatorSecrets {
  login_key_hash: SealedCoordinatorSecret;
  wrapped_private_key: SealedCoordinatorSecret;
  secrets_key_fingerprint: string;
}

/** The sealed columns as read. `secrets_key_fingerprint` null: clear legacy values, not sealed yet. */
export interface StoredCoordinatorSecrets {
  id: string;
  login_key_hash: string;
  wrapped_private_key: string;
  secrets_key_fingerprint: string | null;
}

const COLUMNS = 'id, login, display_name, role, public_key, pwhash_salt, disabled_at';

export async function insertCoordinator(
  tx: Queryable,
  c: Omit<CoordinatorRow, 'disabled_at'> & SealedCoordinatorSecrets,
): Promise<void> {
  await tx.query(
    `INSERT INTO coordinators (id, login, display_name, role, public_key, wrapped_private_key, pwhash_salt,
                               login_key_hash, secrets_key_fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      c.id,
      c.login,
      c.display_name,
      c.role,
      c.public_key,
      c.wrapped_private_key,
      c.pwhash_salt,
      c.login_key_hash,
      c.secrets_key_fingerprint,
    ],
  );
}

/** The sealed secrets of one coordinator (login, passphrase change, CLI unlock). */
export async function coordinatorSecrets(
  db: Queryable,
  id: string,
): Promise<StoredCoordinatorSecrets | undefined> {
  const r = await db.query<StoredCoordinatorSecrets>(
    'SELECT id, login_key_hash, wrapped_private_key, secrets_key_fingerprint FROM coordinators WHERE id = $1',
    [id],
  );
  return r.rows[0];
}

/** Every coordinator's stored secrets (legacy sealing, master-key rotation). */
export async function allCoordinatorSecrets(
  db: Queryable,
  only: { unsealed?: boolean } = {},
): Promise<StoredCoordinatorSecrets[]> {
  const r = await db.query<StoredCoordinatorSecrets>(
    `SELECT id, login_key_hash, wrapped_private_key, secrets_key_fingerprint FROM coordinators
      ${only.unsealed ? 'WHERE secrets_key_fingerprint IS NULL' : ''} ORDER BY id`,
  );
  return r.rows;
}

/**
 * Replaces one coordinator's sealed secrets, only if they are still what was read (`expected`): a
 * concurrent passphrase change or another instance sealing the same row wins, and nothing is overwritten.
 * Returns whether the row changed.
 */
export async function resealCoordinatorSecrets(
  db: Queryable,
  expected: StoredCoordinatorSecrets,
  s: SealedCoordinatorSecrets,
): Promise<boolean> {
  const r = await db.query(
    `UPDATE coordinators SET login_key_hash = $2, wrapped_private_key = $3, secrets_key_fingerprint = $4
      WHERE id = $1 AND login_key_hash = $5 AND wrapped_private_key = $6 RETURNING id`,
    [
      expected.id,
      s.login_key_hash,
      s.wrapped_private_key,
      s.secrets_key_fingerprint,
      expected.login_key_hash,
      expected.wrapped_private_key,
    ],
  );
  return r.rows.length > 0;
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
  s: { pwhash_salt: string } & SealedCoordinatorSecrets,
): Promise<void> {
  await tx.query(
    `UPDATE coordinators SET wrapped_private_key = $2, pwhash_salt = $3, login_key_hash = $4,
            secrets_key_fingerprint = $5, updated_at = now()
      WHERE id = $1`,
    [id, s.wrapped_private_key, s.pwhash_salt, s.login_key_hash, s.secrets_key_fingerprint],
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
