/**
 * The message trail (migration 0007): sealed batches of chat message ids, kept for /effacer until 48 h after
 * the user's last batch, whatever happens to the conversation.
 */
import type { Queryable } from './db.js';

/** A batch of message ids to keep, sealed by the caller. */
export interface TrailRow {
  userHash: string;
  channel: string;
  sealed: Uint8Array;
}

/** The trail insert with its parameters numbered from `first` (also used inside a CTE). */
export const INSERT_TRAIL = (first: number) =>
  `INSERT INTO message_trail (user_hash, channel, sealed) VALUES ($${first}, $${first + 1}, $${first + 2})`;

export const trailParams = (row: TrailRow): unknown[] => [row.userHash, row.channel, row.sealed];

/** At most this many batches are read back by one /effacer (a conversation has a few dozen). */
export const MAX_TRAIL_ROWS = 2000;

export async function insertTrail(db: Queryable, row: TrailRow): Promise<void> {
  await db.query(INSERT_TRAIL(1), trailParams(row));
}

/** Deletes and returns the sealed batches of a user on a channel, oldest first (for /effacer). */
export async function takeTrail(tx: Queryable, userHashes: string[], channel: string): Promise<Uint8Array[]> {
  const r = await tx.query<{ id: string; sealed: Uint8Array }>(
    `DELETE FROM message_trail WHERE id IN (
       SELECT id FROM message_trail WHERE user_hash = ANY($1::text[]) AND channel = $2
        ORDER BY id LIMIT ${MAX_TRAIL_ROWS})
     RETURNING id, sealed`,
    [userHashes, channel],
  );
  return r.rows
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((row) => (row.sealed instanceof Uint8Array ? row.sealed : new Uint8Array(row.sealed)));
}

/** Deletes every batch of a user whose last batch is older than `before` (the platform's delete limit). */
export async function purgeTrail(db: Queryable, before: Date): Promise<number> {
  const r = await db.query<{ id: string }>(
    `DELETE FROM message_trail WHERE user_hash IN (
       SELECT user_hash FROM message_trail GROUP BY user_hash HAVING max(created_at) < $1)
     RETURNING id`,
    [before],
  );
  return r.rows.length;
}

/** Deletes every batch of a user (the user blocked the bot: nothing can be deleted any more). */
export async function deleteTrail(db: Queryable, userHashes: string[]): Promise<void> {
  await db.query('DELETE FROM message_trail WHERE user_hash = ANY($1::text[])', [userHashes]);
}
