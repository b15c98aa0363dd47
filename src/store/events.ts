/** Platform event deduplication: each webhook event (update id, activity id) is processed once. */
import type { Queryable } from './db.js';

/**
 * Records an event as processed; false when it already was (a redelivery). Call it inside the turn's
 * transaction, so a turn that fails leaves the event unrecorded and the redelivery is processed.
 */
export async function markEventProcessed(
  tx: Queryable,
  channel: string,
  eventHash: string,
): Promise<boolean> {
  const r = await tx.query<{ event_hash: string }>(
    `INSERT INTO processed_events (channel, event_hash) VALUES ($1, $2)
     ON CONFLICT (channel, event_hash) DO NOTHING RETURNING event_hash`,
    [channel, eventHash],
  );
  return r.rows.length > 0;
}

/** Deletes deduplication entries older than `before`; returns how many. */
export async function purgeProcessedEvents(db: Queryable, before: Date): Promise<number> {
  const r = await db.query<{ event_hash: string }>(
    'DELETE FROM processed_events WHERE processed_at < $1 RETURNING event_hash',
    [before],
  );
  return r.rows.length;
}
