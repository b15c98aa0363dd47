/** Conversation rows: an encrypted state found by the keyed hash of the platform user. */
import type { Queryable } from './db.js';

export interface ConversationRow {
  user_hash: string;
  channel: string;
  state: Uint8Array;
  key_fingerprint: string;
  expires_at: Date;
}

/**
 * Takes the per-conversation lock for the rest of the transaction: two turns of one user are processed one
 * after the other, even on two instances. (hashtext collisions only make two users wait for each other.)
 */
export async function lockConversation(tx: Queryable, userHash: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [userHash]);
}

/** The row under any of the given hashes (current master key first, then older ones during a rotation). */
export async function findConversation(
  tx: Queryable,
  userHashes: string[],
): Promise<ConversationRow | undefined> {
  const r = await tx.query<ConversationRow>(
    `SELECT user_hash, channel, state, key_fingerprint, expires_at
       FROM conversations WHERE user_hash = ANY($1::text[])
      ORDER BY array_position($1::text[], user_hash) LIMIT 1`,
    [userHashes],
  );
  const row = r.rows[0];
  if (row && !(row.state instanceof Uint8Array)) row.state = new Uint8Array(row.state as ArrayLike<number>);
  return row;
}

export async function saveConversation(
  tx: Queryable,
  row: { userHash: string; channel: string; state: Uint8Array; keyFingerprint: string; expiresAt: Date },
): Promise<void> {
  await tx.query(
    `INSERT INTO conversations (user_hash, channel, state, key_fingerprint, expires_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (user_hash) DO UPDATE
       SET state = EXCLUDED.state, key_fingerprint = EXCLUDED.key_fingerprint,
           expires_at = EXCLUDED.expires_at, updated_at = now()`,
    [row.userHash, row.channel, row.state, row.keyFingerprint, row.expiresAt],
  );
}

/** Deletes the row under any of the given hashes; returns how many rows went. */
export async function deleteConversation(tx: Queryable, userHashes: string[]): Promise<number> {
  const r = await tx.query<{ user_hash: string }>(
    'DELETE FROM conversations WHERE user_hash = ANY($1::text[]) RETURNING user_hash',
    [userHashes],
  );
  return r.rows.length;
}

/** Deletes conversations idle past their expiry; returns how many. */
export async function purgeExpiredConversations(db: Queryable, now: Date): Promise<number> {
  const r = await db.query<{ user_hash: string }>(
    'DELETE FROM conversations WHERE expires_at < $1 RETURNING user_hash',
    [now],
  );
  return r.rows.length;
}

/** Rows sealed under another master key than `fingerprint` (rotation progress). */
export async function countConversationsNotUnder(db: Queryable, fingerprint: string): Promise<number> {
  const r = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM conversations WHERE key_fingerprint <> $1',
    [fingerprint],
  );
  return r.rows[0]?.n ?? 0;
}
