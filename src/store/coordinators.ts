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
  /** Ed25519 public key (base64url); null until the coordinator's client registers it. */
  signing_public_key: string | null;
  /** coordinatorKeysMac over (id, public_key, signing_public_key); null for a row the service never wrote. */
  keys_mac: string | null;
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

const COLUMNS =
  'id, login, display_name, role, public_key, pwhash_salt, signing_public_key, keys_mac, disabled_at';

export async function insertCoordinator(
  tx: Queryable,
  c: Omit<CoordinatorRow, 'disabled_at'> & SealedCoordinatorSecrets,
): Promise<void> {
  await tx.query(
    `INSERT INTO coordinators (id, login, display_name, role, public_key, wrapped_private_key, pwhash_salt,
                               login_key_hash, secrets_key_fingerprint, signing_public_key, keys_mac)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
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
      c.signing_public_key,
      c.keys_mac,
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

/**
 * Adds (or re-confirms) a membership with its MAC (inboxMemberMac, computed by the caller with the current
 * master key). Re-adding an existing member rewrites the MAC: the caller vouches for it now.
 */
export async function addInboxMember(
  tx: Queryable,
  inboxId: string,
  coordinatorId: string,
  mac: string,
): Promise<void> {
  await tx.query(
    `INSERT INTO inbox_members (inbox_id, coordinator_id, mac) VALUES ($1, $2, $3)
     ON CONFLICT (inbox_id, coordinator_id) DO UPDATE SET mac = EXCLUDED.mac`,
    [inboxId, coordinatorId, mac],
  );
}

/** Records a coordinator's Ed25519 public key once (false when one is already set) with the new keys MAC. */
export async function setSigningPublicKey(
  tx: Queryable,
  id: string,
  signingPublicKey: string,
  keysMac: string,
): Promise<boolean> {
  const r = await tx.query(
    `UPDATE coordinators SET signing_public_key = $2, keys_mac = $3, updated_at = now()
      WHERE id = $1 AND signing_public_key IS NULL RETURNING id`,
    [id, signingPublicKey, keysMac],
  );
  return r.rows.length > 0;
}

/** A membership with what its MAC covers, and the coordinator's keys with theirs. */
export interface MembershipRow {
  inbox_id: string;
  coordinator_id: string;
  display_name: string;
  login: string;
  public_key: string;
  mac: string | null;
}

/** Every membership of active coordinators (for the readiness check), optionally of one inbox. */
export async function activeMemberships(db: Queryable, inboxId?: string): Promise<MembershipRow[]> {
  const r = await db.query<MembershipRow>(
    `SELECT m.inbox_id, m.coordinator_id, c.display_name, c.login, c.public_key, m.mac
       FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE c.disabled_at IS NULL AND ($1::text IS NULL OR m.inbox_id = $1)
      ORDER BY m.inbox_id, c.created_at, c.id`,
    [inboxId ?? null],
  );
  return r.rows;
}

/** The memberships of one coordinator, with their MAC inputs (what an admin manages). */
export async function membershipsOf(db: Queryable, coordinatorId: string): Promise<MembershipRow[]> {
  const r = await db.query<MembershipRow>(
    `SELECT m.inbox_id, m.coordinator_id, c.display_name, c.login, c.public_key, m.mac
       FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE m.coordinator_id = $1 ORDER BY m.inbox_id`,
    [coordinatorId],
  );
  return r.rows;
}

/** Every membership, active or not, with its MAC inputs (master-key rotation re-MACs them). */
export async function allMemberships(db: Queryable): Promise<MembershipRow[]> {
  const r = await db.query<MembershipRow>(
    `SELECT m.inbox_id, m.coordinator_id, c.display_name, c.login, c.public_key, m.mac
       FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id ORDER BY m.inbox_id, c.id`,
  );
  return r.rows;
}

export async function setMembershipMac(tx: Queryable, inboxId: string, coordinatorId: string, mac: string) {
  await tx.query('UPDATE inbox_members SET mac = $3 WHERE inbox_id = $1 AND coordinator_id = $2', [
    inboxId,
    coordinatorId,
    mac,
  ]);
}

/** Every coordinator's public keys and keys MAC (rotation). */
export async function allCoordinatorKeys(
  db: Queryable,
): Promise<{ id: string; public_key: string; signing_public_key: string | null; keys_mac: string | null }[]> {
  const r = await db.query<{
    id: string;
    public_key: string;
    signing_public_key: string | null;
    keys_mac: string | null;
  }>('SELECT id, public_key, signing_public_key, keys_mac FROM coordinators ORDER BY id');
  return r.rows;
}

export async function setCoordinatorKeysMac(tx: Queryable, id: string, keysMac: string): Promise<void> {
  await tx.query('UPDATE coordinators SET keys_mac = $2 WHERE id = $1', [id, keysMac]);
}

/** What migration 0011 listed and is not MACed yet (see integrity_backfill_* in the migration). */
export async function pendingIntegrityBackfill(tx: Queryable): Promise<{
  members: { inbox_id: string; coordinator_id: string; public_key: string }[];
  coordinators: { id: string; public_key: string }[];
  replies: { id: string; report_id: string; sealed: string }[];
}> {
  // Only rows still exactly as they were when the migration listed them, and still without a MAC.
  const members = await tx.query<{ inbox_id: string; coordinator_id: string; public_key: string }>(
    `SELECT b.inbox_id, b.coordinator_id, b.public_key
       FROM integrity_backfill_members b
       JOIN inbox_members m ON m.inbox_id = b.inbox_id AND m.coordinator_id = b.coordinator_id
       JOIN coordinators c ON c.id = b.coordinator_id AND c.public_key = b.public_key
      WHERE m.mac IS NULL`,
  );
  const coordinators = await tx.query<{ id: string; public_key: string }>(
    `SELECT b.id, b.public_key FROM integrity_backfill_coordinators b
       JOIN coordinators c ON c.id = b.id AND c.public_key = b.public_key
      WHERE c.keys_mac IS NULL AND c.signing_public_key IS NULL`,
  );
  const replies = await tx.query<{ id: string; report_id: string; sealed: string }>(
    `SELECT b.id, b.report_id, b.sealed FROM integrity_backfill_replies b
       JOIN report_replies r ON r.id = b.id AND r.report_id = b.report_id AND r.sealed = b.sealed
      WHERE r.signature IS NULL AND r.legacy_mac IS NULL`,
  );
  return { members: members.rows, coordinators: coordinators.rows, replies: replies.rows };
}

export async function setLegacyReplyMac(tx: Queryable, id: string, mac: string): Promise<void> {
  await tx.query('UPDATE report_replies SET legacy_mac = $2 WHERE id = $1', [id, mac]);
}

/** Empties the backfill lists: from now on only rows the service MACs itself are trusted. */
export async function clearIntegrityBackfill(tx: Queryable): Promise<void> {
  await tx.query('DELETE FROM integrity_backfill_members');
  await tx.query('DELETE FROM integrity_backfill_coordinators');
  await tx.query('DELETE FROM integrity_backfill_replies');
}

/** Whether the backfill lists are empty (nothing left for the first keyed start). */
export async function integrityBackfillDone(db: Queryable): Promise<boolean> {
  const r = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM integrity_backfill_members) + (SELECT count(*) FROM integrity_backfill_coordinators)
            + (SELECT count(*) FROM integrity_backfill_replies))::int AS n`,
  );
  return (r.rows[0]?.n ?? 0) === 0;
}

export async function isInboxMember(db: Queryable, inboxId: string, coordinatorId: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM inbox_members WHERE inbox_id = $1 AND coordinator_id = $2', [
    inboxId,
    coordinatorId,
  ]);
  return r.rows.length > 0;
}

/**
 * The active coordinators of an inbox with their public keys and membership MAC: the candidate recipients
 * of its reports. The caller seals only to those whose MAC verifies (src/intake/integrity.ts).
 */
export async function inboxRecipients(
  db: Queryable,
  inboxId: string,
  /** In a transaction that stores a report sealed to them: the rows stay locked until it ends. */
  lock = false,
): Promise<{ id: string; public_key: string; mac: string | null }[]> {
  const r = await db.query<{ id: string; public_key: string; mac: string | null }>(
    `SELECT c.id, c.public_key, m.mac FROM ${INBOX_MEMBERS} ORDER BY c.created_at, c.id${lock ? ' FOR SHARE OF m, c' : ''}`,
    [inboxId],
    // Once a report (every submit): planned once per connection.
    { prepare: true },
  );
  return r.rows;
}

/** The active members of inbox `$1`, as read by `inboxRecipients` and checked by `sealedToCheck`. */
const INBOX_MEMBERS = `inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
      WHERE m.inbox_id = $1 AND c.disabled_at IS NULL`;

/**
 * The members a report was sealed to, as `inboxRecipients` read them (each with its key and integrity MAC,
 * trusted or not), for a write that stores the report only if the inbox still has exactly those.
 */
export interface SealedTo {
  inboxId: string;
  members: string[];
}

/** The members of `sealedTo` in the form `sealedToCheck` compares. */
export function sealedTo(
  inboxId: string,
  rows: readonly { id: string; public_key: string; mac: string | null }[],
): SealedTo {
  return { inboxId, members: rows.map((r) => `${r.id} ${r.public_key} ${r.mac ?? ''}`) };
}

/**
 * A boolean SQL expression: the inbox's active members are still exactly `to.members`, in the same order (a
 * member added, removed, disabled, or with another key or MAC makes it false). Evaluated in the statement of
 * the write, so a report is never stored for a set of recipients that changed since it was sealed. The rows
 * read are locked (FOR SHARE) until the write commits: a change committed while the statement runs is seen
 * (the row is read again at its newest version), and a change that comes later waits for the report. A
 * member added at that very moment is not seen (a new row is not locked): the next report has it.
 */
export function sealedToCheck(to: SealedTo, p: (value: unknown, cast: string) => string): string {
  const members = INBOX_MEMBERS.replace('$1', p(to.inboxId, 'text'));
  return `ARRAY(SELECT c.id::text || ' ' || c.public_key || ' ' || coalesce(m.mac, '') FROM ${members}
      ORDER BY c.created_at, c.id FOR SHARE OF m, c) = ${p(to.members, 'text[]')}`;
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

/** Replies attested by the migration backfill (rotation re-MACs them). */
export async function allLegacyReplies(
  db: Queryable,
): Promise<{ id: string; report_id: string; sealed: string; legacy_mac: string }[]> {
  const r = await db.query<{ id: string; report_id: string; sealed: string; legacy_mac: string }>(
    'SELECT id, report_id, sealed, legacy_mac FROM report_replies WHERE legacy_mac IS NOT NULL ORDER BY id',
  );
  return r.rows;
}
