/** The outbox of sent-but-unconfirmed replies (see migration 0005). */
import type { Queryable } from './db.js';

export async function insertPendingReplies(
  tx: Queryable,
  row: { channel: string; eventHash: string; userHash: string; sealed: Uint8Array },
): Promise<void> {
  await tx.query(
    `INSERT INTO pending_replies (channel, event_hash, user_hash, sealed) VALUES ($1, $2, $3, $4)
     ON CONFLICT (channel, event_hash) DO NOTHING`,
    [row.channel, row.eventHash, row.userHash, row.sealed],
  );
}

export async function findPendingReplies(
  tx: Queryable,
  channel: string,
  eventHash: string,
): Promise<Uint8Array | undefined> {
  const r = await tx.query<{ sealed: Uint8Array }>(
    'SELECT sealed FROM pending_replies WHERE channel = $1 AND event_hash = $2',
    [channel, eventHash],
  );
  const sealed = r.rows[0]?.sealed;
  return sealed === undefined ? undefined : new Uint8Array(sealed);
}

export async function deletePendingReplies(tx: Queryable, channel: string, eventHash: string): Promise<void> {
  await tx.query('DELETE FROM pending_replies WHERE channel = $1 AND event_hash = $2', [channel, eventHash]);
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
