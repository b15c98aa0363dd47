/**
 * The outbox of sent-but-unconfirmed replies (migration 0005). Since migration 0017 a turn that saves its
 * conversation keeps its entry in the row (`conversations.outbox`); this table holds the others.
 */
import type { Queryable } from './db.js';

/** A turn's sealed replies, kept until the channel confirms it sent them. */
export interface PendingRow {
  channel: string;
  eventHash: string;
  userHash: string;
  sealed: Uint8Array;
}

/** The outbox insert with its parameters numbered from `first` (also used inside a CTE). */
export const INSERT_PENDING = (first: number) =>
  `INSERT INTO pending_replies (channel, event_hash, user_hash, sealed)
     VALUES ($${first}, $${first + 1}, $${first + 2}, $${first + 3})
     ON CONFLICT (channel, event_hash) DO NOTHING`;

export const pendingParams = (row: PendingRow): unknown[] => [
  row.channel,
  row.eventHash,
  row.userHash,
  row.sealed,
];

/** The confirmation of one event's replies, parameters (channel, event hash) numbered from `first`. */
export const DELETE_PENDING = (first: number) =>
  `DELETE FROM pending_replies WHERE channel = $${first} AND event_hash = $${first + 1}`;

/**
 * Confirms that the replies of these events were sent: their entries go from the user's conversation row
 * (where a turn that saves its conversation keeps its entry) and from `pending_replies`.
 */
export async function confirmPendingReplies(
  db: Queryable,
  channel: string,
  eventHashes: string[],
  userHashes: string[],
): Promise<void> {
  // The row first, then the table in a new statement: an entry that a concurrent turn's write moves from
  // the row to the table is then either cleared in the row or seen in the table (never missed by both).
  await db.query(
    `UPDATE conversations SET outbox_event = NULL, outbox = NULL
      WHERE user_hash = ANY($1::text[]) AND outbox_event = ANY($2::text[])`,
    [userHashes, eventHashes],
  );
  await deletePendingReplies(db, channel, eventHashes);
}

/** Deletes the entries of these events from `pending_replies` (not from conversation rows). */
export async function deletePendingReplies(
  db: Queryable,
  channel: string,
  eventHashes: string[],
): Promise<void> {
  await db.query(
    'DELETE FROM pending_replies WHERE channel = $1::text AND event_hash = ANY($2::text[])',
    [channel, eventHashes],
    { prepare: true },
  );
}

export async function deletePendingRepliesOf(tx: Queryable, userHashes: string[]): Promise<void> {
  await tx.query('DELETE FROM pending_replies WHERE user_hash = ANY($1::text[])', [userHashes]);
}

export async function purgePendingReplies(db: Queryable, before: Date): Promise<number> {
  const r = await db.query<{ event_hash: string }>(
    'DELETE FROM pending_replies WHERE created_at < $1 RETURNING event_hash',
    [before],
  );
  return r.rows.length;
}
