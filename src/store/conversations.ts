/** Conversation rows: an encrypted state found by the keyed hash of the platform user. */
import type { Queryable } from './db.js';
import { DELETE_PENDING, INSERT_PENDING, type PendingRow, pendingParams } from './outbox.js';
import { INSERT_TRAIL, type TrailRow, trailParams } from './trail.js';

export interface ConversationRow {
  user_hash: string;
  channel: string;
  state: Uint8Array;
  key_fingerprint: string;
  expires_at: Date;
  /** Sealed channel changes recorded since the state was last written, oldest first. */
  channel_updates: Uint8Array[];
}

const bytes = (v: unknown) => (v instanceof Uint8Array ? v : new Uint8Array(v as ArrayLike<number>));

// Only hex hashes and channel names are inlined: no quote, no backslash can reach the SQL text.
const SAFE_LITERAL = /^[A-Za-z0-9:_-]{1,128}$/;

function literal(value: string): string {
  if (!SAFE_LITERAL.test(value)) throw new Error('beginTurnSql: refused a value that is not a plain literal');
  return `'${value}'`;
}

/**
 * The first statement of a turn, sent with `BEGIN` in one round trip (`Database.transactionFrom`): takes the
 * per-conversation lock for the rest of the transaction (two turns of one user run one after the other, even
 * on two instances; hashtext collisions only make two users wait for each other) and, with an event, records
 * it as processed. Read whether the event was new with `beginTurnFresh`.
 *
 * Without parameters: its values are inlined after a strict check (hex hashes and channel names only,
 * anything else throws). The conversation must be read by a later statement: under READ COMMITTED a
 * statement's snapshot is taken when it starts, before the lock is granted, so a read in this statement
 * could miss the turn it waited for.
 */
export function beginTurnSql(userHash: string, event?: { channel: string; eventHash: string }): string {
  const lock = `pg_advisory_xact_lock(hashtext(${literal(userHash)}))`;
  if (!event) return `SELECT ${lock} AS locked, 1 AS fresh`;
  return `WITH e AS (
       INSERT INTO processed_events (channel, event_hash) VALUES (${literal(event.channel)}, ${literal(event.eventHash)})
       ON CONFLICT (channel, event_hash) DO NOTHING RETURNING 1
     )
     SELECT ${lock} AS locked, (SELECT count(*) FROM e)::int AS fresh`;
}

/** Whether the event of a `beginTurnSql` statement was new (true when there was no event). */
export function beginTurnFresh(rows: Record<string, unknown>[]): boolean {
  return Number(rows[0]?.fresh ?? 0) > 0;
}

function normalize(row: ConversationRow | undefined): ConversationRow | undefined {
  if (!row) return row;
  row.state = bytes(row.state);
  row.channel_updates = (row.channel_updates ?? []).map(bytes);
  return row;
}

/**
 * The row under any of the given hashes (current master key first, then older ones during a rotation).
 * `forUpdate` locks the row until the transaction ends, so a concurrent `appendChannelUpdate` waits for the
 * turn to commit instead of being overwritten by it.
 */
export async function findConversation(
  tx: Queryable,
  userHashes: string[],
  forUpdate = false,
): Promise<ConversationRow | undefined> {
  const r = await tx.query<ConversationRow>(
    `SELECT user_hash, channel, state, key_fingerprint, expires_at, channel_updates
       FROM conversations WHERE user_hash = ANY($1::text[])
      ORDER BY array_position($1::text[], user_hash) LIMIT 1${forUpdate ? ' FOR UPDATE' : ''}`,
    [userHashes],
  );
  return normalize(r.rows[0]);
}

/**
 * Writes the conversation's new sealed state (the recorded channel updates are folded into it, so the list
 * is emptied) and, in the same statement, the turn's outbox entry if any.
 */
export async function saveConversation(
  tx: Queryable,
  row: { userHash: string; channel: string; state: Uint8Array; keyFingerprint: string; expiresAt: Date },
  pending?: PendingRow,
): Promise<void> {
  const params: unknown[] = [row.userHash, row.channel, row.state, row.keyFingerprint, row.expiresAt];
  let outbox = '';
  if (pending) {
    params.push(...pendingParams(pending));
    outbox = `WITH o AS (${INSERT_PENDING(6)})
     `;
  }
  await tx.query(
    `${outbox}INSERT INTO conversations (user_hash, channel, state, key_fingerprint, expires_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (user_hash) DO UPDATE
       SET state = EXCLUDED.state, key_fingerprint = EXCLUDED.key_fingerprint,
           expires_at = EXCLUDED.expires_at, updated_at = now(), channel_updates = '{}'`,
    params,
  );
}

/** At most this many updates wait between two turns; more are dropped (a flood of notices). */
export const MAX_CHANNEL_UPDATES = 64;

/**
 * After a turn's replies were sent, in one statement without the conversation lock (the turn's
 * `findConversation(..., true)` orders the two): appends a sealed channel update to the live conversation
 * (nothing when it is gone), deletes the delivered outbox entry, and keeps the ids of the messages just
 * exchanged in the message trail (which outlives the conversation, for /effacer).
 */
export async function appendChannelUpdate(
  db: Queryable,
  userHashes: string[],
  sealed: Uint8Array | undefined,
  delivered?: { channel: string; eventHash: string },
  trail?: TrailRow,
): Promise<void> {
  const params: unknown[] = [];
  const parts: string[] = [];
  if (delivered) {
    parts.push(DELETE_PENDING(params.length + 1));
    params.push(delivered.channel, delivered.eventHash);
  }
  if (trail) {
    parts.push(INSERT_TRAIL(params.length + 1));
    params.push(...trailParams(trail));
  }
  if (sealed) {
    const at = params.length + 1;
    parts.push(`UPDATE conversations SET channel_updates = array_append(channel_updates, $${at + 1}::bytea)
        WHERE user_hash = ANY($${at}::text[]) AND cardinality(channel_updates) < ${MAX_CHANNEL_UPDATES}`);
    params.push(userHashes, sealed);
  }
  if (parts.length === 0) return;
  const last = parts.pop()!;
  // Data-modifying CTEs run once and to completion whether or not the main statement reads them.
  const sql = parts.length === 0 ? last : `WITH ${parts.map((q, i) => `w${i} AS (${q})`).join(', ')} ${last}`;
  await db.query(sql, params);
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
