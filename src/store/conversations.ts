/** Conversation rows: an encrypted state found by the keyed hash of the platform user. */
import type { Queryable } from './db.js';

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

/**
 * Takes the per-conversation lock for the rest of the transaction: two turns of one user are processed one
 * after the other, even on two instances. (hashtext collisions only make two users wait for each other.)
 * With an event hash, also records the event as processed in the same statement (one round trip) and
 * returns whether it is new; without one, returns true.
 *
 * The conversation must be read by a later statement: under READ COMMITTED a statement's snapshot is taken
 * when it starts, before the lock is granted, so a read in this statement could miss the turn it waited for.
 */
export async function beginTurn(
  tx: Queryable,
  userHash: string,
  event?: { channel: string; eventHash: string },
): Promise<boolean> {
  if (!event) {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [userHash]);
    return true;
  }
  const r = await tx.query<{ fresh: number }>(
    `WITH e AS (
       INSERT INTO processed_events (channel, event_hash) VALUES ($2, $3)
       ON CONFLICT (channel, event_hash) DO NOTHING RETURNING 1
     )
     SELECT pg_advisory_xact_lock(hashtext($1)) AS locked, (SELECT count(*) FROM e)::int AS fresh`,
    [userHash, event.channel, event.eventHash],
  );
  return (r.rows[0]?.fresh ?? 0) > 0;
}

// Only hex hashes and channel names are inlined: no quote, no backslash can reach the SQL text.
const SAFE_LITERAL = /^[A-Za-z0-9:_-]{1,128}$/;

function literal(value: string): string {
  if (!SAFE_LITERAL.test(value)) throw new Error('beginTurnSql: refused a value that is not a plain literal');
  return `'${value}'`;
}

/**
 * `beginTurn` as SQL text without parameters, for `Database.transactionFrom` (sent with `BEGIN` in one round
 * trip). Its values are inlined after a strict check: hex hashes and channel names only, anything else throws.
 * Read the answer with `beginTurnFresh`.
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

/** Takes the per-conversation lock for the rest of the transaction (see `beginTurn`). */
export async function lockConversation(tx: Queryable, userHash: string): Promise<void> {
  await beginTurn(tx, userHash);
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

/** A turn's sealed replies to keep until the channel confirms it sent them (see store/outbox.ts). */
export interface PendingRow {
  channel: string;
  eventHash: string;
  userHash: string;
  sealed: Uint8Array;
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
    params.push(pending.channel, pending.eventHash, pending.userHash, pending.sealed);
    outbox = `WITH o AS (
       INSERT INTO pending_replies (channel, event_hash, user_hash, sealed) VALUES ($6, $7, $8, $9)
       ON CONFLICT (channel, event_hash) DO NOTHING
     )
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
 * Appends a sealed channel update to a live conversation, and deletes a delivered outbox entry, in one
 * statement without the conversation lock (the turn's `findConversation(..., true)` orders the two).
 * Nothing is appended when the conversation is gone.
 */
export async function appendChannelUpdate(
  db: Queryable,
  userHashes: string[],
  sealed: Uint8Array | undefined,
  delivered?: { channel: string; eventHash: string },
): Promise<void> {
  if (sealed && delivered) {
    await db.query(
      `WITH d AS (DELETE FROM pending_replies WHERE channel = $3 AND event_hash = $4)
       UPDATE conversations SET channel_updates = array_append(channel_updates, $2::bytea)
        WHERE user_hash = ANY($1::text[]) AND cardinality(channel_updates) < ${MAX_CHANNEL_UPDATES}`,
      [userHashes, sealed, delivered.channel, delivered.eventHash],
    );
  } else if (sealed) {
    await db.query(
      `UPDATE conversations SET channel_updates = array_append(channel_updates, $2::bytea)
        WHERE user_hash = ANY($1::text[]) AND cardinality(channel_updates) < ${MAX_CHANNEL_UPDATES}`,
      [userHashes, sealed],
    );
  } else if (delivered) {
    await db.query('DELETE FROM pending_replies WHERE channel = $1 AND event_hash = $2', [
      delivered.channel,
      delivered.eventHash,
    ]);
  }
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
