/** Conversation rows: an encrypted state found by the keyed hash of the platform user. */

import { type SealedTo, sealedToCheck } from './coordinators.js';
import type { Queryable } from './db.js';
import {
  DELETE_PENDING,
  deletePendingReplies,
  INSERT_PENDING,
  type PendingRow,
  pendingParams,
} from './outbox.js';
import { type NewReport, reportCtes } from './reports.js';
import { INSERT_TRAIL, type TrailRow, trailParams } from './trail.js';

export interface ConversationRow {
  user_hash: string;
  channel: string;
  state: Uint8Array;
  key_fingerprint: string;
  expires_at: Date;
  /** Sealed channel changes recorded since the state was last written, oldest first. */
  channel_updates: Uint8Array[];
  /** Bumped by every write of the state: a turn writes only if it is still the one it read. */
  version: number;
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
  row.version = Number(row.version ?? 0);
  return row;
}

/** The turn's statements are prepared (parsed and planned once per connection): a few fixed texts. */
const PREPARED = { prepare: true } as const;

const ROW_COLUMNS = 'user_hash, channel, state, key_fingerprint, expires_at, channel_updates, version';

/** What the first statement of a turn finds. */
export interface TurnRead {
  /** The event was already processed (a redelivery). */
  seen: boolean;
  /** With `seen`: the sealed replies of the first delivery, if never confirmed sent. */
  pending?: Uint8Array;
  /** The conversation (under the first of the hashes that has one) with its version. */
  row?: TurnRow;
}

/** What a turn needs of its conversation row. */
export type TurnRow = Pick<ConversationRow, 'user_hash' | 'state' | 'channel_updates' | 'version'> & {
  /** The row holds an outbox entry never confirmed sent (its write keeps it in pending_replies). */
  unsent: boolean;
};

/**
 * The row's columns a turn reads. The channel updates come as one text, each hex-encoded, in order: the driver
 * parses a `bytea[]` character by character in JavaScript (about 0.06 ms a turn), a hex string natively.
 */
const TURN_COLUMNS = `c.user_hash, c.state, c.version, c.outbox IS NOT NULL AS unsent,
  (SELECT string_agg(encode(x.u, 'hex'), ',' ORDER BY x.n)
     FROM unnest(c.channel_updates) WITH ORDINALITY AS x(u, n)) AS updates`;

type TurnResult = {
  user_hash: string | null;
  state: Uint8Array | null;
  version: number | string | null;
  updates: string | null;
  unsent: boolean | null;
  seen?: boolean;
  pending?: Uint8Array | null;
};

function turnReadOf(first: TurnResult | undefined): TurnRead {
  if (!first) return { seen: false };
  const out: TurnRead = { seen: first.seen === true };
  if (first.pending !== null && first.pending !== undefined) out.pending = bytes(first.pending);
  if (first.user_hash !== null && first.user_hash !== undefined) {
    out.row = {
      user_hash: first.user_hash,
      state: bytes(first.state),
      version: Number(first.version ?? 0),
      unsent: first.unsent === true,
      channel_updates: first.updates ? first.updates.split(',').map((h) => Buffer.from(h, 'hex')) : [],
    };
  }
  return out;
}

/**
 * The first statement of a turn, one round trip and no transaction: whether the event was already processed
 * (and then its unconfirmed outbox entry), and the conversation with its version. Nothing is locked: the
 * turn's write (`writeTurn`) succeeds only if the version is still this one.
 */
export async function readTurn(
  db: Queryable,
  userHashes: string[],
  event?: { channel: string; eventHash: string },
): Promise<TurnRead> {
  // One hash (one master key, the usual case): a plain equality, which PostgreSQL plans once per connection
  // (a generic plan). With `= ANY(array) ORDER BY array_position` it planned the statement again at every
  // execution (a custom plan: the generic one's cost assumes a longer array), about 0.2 ms of its CPU a turn.
  if (userHashes.length === 1) return readTurnOne(db, userHashes[0]!, event);
  const conversation = `SELECT ${TURN_COLUMNS}, c.outbox_event, c.outbox
      FROM conversations AS c WHERE c.user_hash = ANY($1::text[])
      ORDER BY array_position($1::text[], c.user_hash) LIMIT 1`;
  const r = event
    ? await db.query<TurnResult>(
        `SELECT c.user_hash, c.state, c.version, c.unsent, c.updates,
                e.seen,
                CASE WHEN e.seen THEN coalesce(
                  (SELECT sealed FROM pending_replies WHERE channel = $2 AND event_hash = $3),
                  CASE WHEN c.outbox_event = $3 THEN c.outbox END)
                END AS pending
           FROM (SELECT EXISTS (SELECT 1 FROM processed_events WHERE channel = $2 AND event_hash = $3) AS seen) AS e
           LEFT JOIN LATERAL (${conversation}) AS c ON true`,
        [userHashes, event.channel, event.eventHash],
        PREPARED,
      )
    : await db.query<TurnResult>(conversation, [userHashes], PREPARED);
  return turnReadOf(r.rows[0]);
}

/** {@link readTurn} with a single user hash: equality only, planned once per connection. */
async function readTurnOne(
  db: Queryable,
  userHash: string,
  event: { channel: string; eventHash: string } | undefined,
): Promise<TurnRead> {
  const r = event
    ? await db.query<TurnResult>(
        `SELECT ${TURN_COLUMNS}, e.seen,
                CASE WHEN e.seen THEN coalesce(
                  (SELECT sealed FROM pending_replies WHERE channel = $2 AND event_hash = $3),
                  CASE WHEN c.outbox_event = $3 THEN c.outbox END)
                END AS pending
           FROM (SELECT EXISTS (SELECT 1 FROM processed_events WHERE channel = $2 AND event_hash = $3) AS seen) AS e
           LEFT JOIN conversations AS c ON c.user_hash = $1`,
        [userHash, event.channel, event.eventHash],
        PREPARED,
      )
    : await db.query<TurnResult>(
        `SELECT ${TURN_COLUMNS} FROM conversations AS c WHERE c.user_hash = $1`,
        [userHash],
        PREPARED,
      );
  return turnReadOf(r.rows[0]);
}

/** What a turn writes to its conversation row, checked against the version it read. */
export type ConversationWrite =
  /** No row was read and none is written (e.g. /stop without a conversation). */
  | { op: 'none' }
  /**
   * The row read goes (submitted, stopped, erased), if still at `version`. An outbox entry of an earlier turn
   * still in the row (never confirmed sent) moves to `pending_replies`, unless `dropUnsent` (an erase).
   */
  | {
      op: 'delete';
      userHash: string;
      version: number;
      unsent?: boolean;
      dropUnsent?: boolean;
      /** The row was not read by this turn (a kept copy): it must also hold no outbox entry unless `unsent`. */
      exact?: boolean;
    }
  /**
   * The new state: a new row when `from` is missing (fails if one appeared meanwhile), else the row read,
   * if still at `from.version` (moved to `row.userHash` during a key rotation); the first `from.folded`
   * channel updates, folded into the new state by the turn, go, later ones stay.
   */
  | {
      op: 'save';
      row: {
        userHash: string;
        channel: string;
        state: Uint8Array;
        keyFingerprint: string;
        expiresAt: Date;
        /**
         * A later expiry written instead of `expiresAt`; a stored one between the two is kept, so most turns
         * leave the indexed `expires_at` as it is (a HOT update: no index entry written). Default `expiresAt`.
         */
        expiresBy?: Date;
        /** The version of a new row (default 1). The service starts each row at a random one (see below). */
        version?: number;
      };
      /**
       * The row the turn started from. With `exact` (a copy kept from this instance's last write instead of a
       * read), the write also checks that the row holds exactly `folded` channel updates and, unless
       * `unsent`, no outbox entry: anything the copy does not know of makes the write a conflict.
       */
      from?: { userHash: string; version: number; folded: number; unsent?: boolean; exact?: boolean };
    };

/**
 * The write of a turn, one statement (atomic without a transaction): the conversation row with a
 * compare-and-set on its version, and only if that succeeded, the event recorded as processed and the
 * turn's outbox entry. The outbox entry rides in the conversation row when the turn saves one (most turns:
 * nothing inserted, and the update after sending clears it); a turn that deletes the row or has none puts
 * it in `pending_replies`. An earlier turn's entry still in the row (its replies never confirmed sent: the
 * instance died) is moved to `pending_replies` by the same statement, so a redelivery still finds it.
 * Returns `conflict` when another turn wrote the conversation since it was read (the caller runs the turn
 * again, nothing was written), `duplicate` when the event was recorded meanwhile (a concurrent delivery of
 * the same update; nothing was written), `recipients_changed` when the turn's report was sealed to members
 * the inbox no longer has exactly (nothing was written: seal it again to the members as they are now).
 */
export async function writeTurn(
  db: Queryable,
  write: ConversationWrite,
  event?: { channel: string; eventHash: string },
  pending?: PendingRow,
  /** A report the turn submitted: inserted with its keys by the same statement, only if the write succeeds. */
  report?: NewReport,
  /** The inbox members the report was sealed to: nothing is written unless they are still exactly those. */
  sealedTo?: SealedTo,
): Promise<'ok' | 'conflict' | 'duplicate' | 'recipients_changed'> {
  const params: unknown[] = [];
  const p = (value: unknown, cast: string) => {
    params.push(value);
    return `$${params.length}::${cast}`;
  };
  const ctes: string[] = [];
  // The recipients' check, once (a CTE read by the condition of the row's write and by the result).
  const guarded = report !== undefined && sealedTo !== undefined;
  if (guarded) ctes.push(`g AS (SELECT ${sealedToCheck(sealedTo, p)} AS ok)`);
  const guard = guarded ? ' AND (SELECT ok FROM g)' : '';
  let c: string;
  /** Whether the outbox entry goes into the row (else into pending_replies). */
  let inRow = false;
  /** Whether the row's unconfirmed outbox entry, if any, is kept in pending_replies by this write. */
  let keepUnsentOf = false;
  // The row's outbox_event names the event of the turn that wrote it (empty without one), with or without
  // replies: only the work after sending sets it to NULL, so NULL afterwards means "cleared by that work".
  const wroteEvent = pending?.eventHash ?? event?.eventHash ?? '';
  if (write.op === 'none') c = `SELECT 1 WHERE true${guard}`;
  else if (write.op === 'delete') {
    keepUnsentOf = write.unsent === true && !write.dropUnsent;
    // An unconfirmed entry is taken from the row as deleted (locked, latest version), never from an
    // earlier snapshot: a confirmation that committed meanwhile has cleared it.
    c = `DELETE FROM conversations WHERE user_hash = ${p(write.userHash, 'text')}
            AND version = ${p(write.version, 'bigint')}${write.exact && !write.unsent ? ' AND outbox IS NULL' : ''}${guard}
          RETURNING ${keepUnsentOf ? 'channel AS oc, outbox_event AS oe, user_hash AS oh, outbox AS oo, updated_at AS ot' : '1'}`;
  } else if (write.from) {
    const { row, from } = write;
    inRow = true;
    keepUnsentOf = from.unsent === true;
    const set = `SET user_hash = ${p(row.userHash, 'text')}, channel = ${p(row.channel, 'text')},
                state = ${p(row.state, 'bytea')}, key_fingerprint = ${p(row.keyFingerprint, 'text')},
                expires_at = CASE WHEN c0.expires_at BETWEEN ${p(row.expiresAt, 'timestamptz')}
                  AND ${p(row.expiresBy ?? row.expiresAt, 'timestamptz')} THEN c0.expires_at
                  ELSE ${p(row.expiresBy ?? row.expiresAt, 'timestamptz')} END,
                updated_at = now(), version = c0.version + 1,
                channel_updates = c0.channel_updates[${p(from.folded, 'int')} + 1:],
                outbox_event = ${p(wroteEvent, 'text')}, outbox = ${p(pending?.sealed ?? null, 'bytea')}`;
    // The compare-and-set, on the updated row or on the one locked for it.
    const t = keepUnsentOf ? 'c1' : 'c0';
    let where = `${t}.user_hash = ${p(from.userHash, 'text')} AND ${t}.version = ${p(from.version, 'bigint')}`;
    if (from.exact) {
      where += ` AND cardinality(${t}.channel_updates) = ${p(from.folded, 'int')}`;
      if (!from.unsent) where += ` AND ${t}.outbox IS NULL`;
    }
    where += guard;
    c = keepUnsentOf
      ? // The entry to keep is read from the row locked for this update (FOR UPDATE: its latest version).
        `UPDATE conversations AS c0 ${set}
           FROM (SELECT c1.user_hash AS oh, c1.channel AS oc, c1.outbox_event AS oe, c1.outbox AS oo,
                        c1.updated_at AS ot
                   FROM conversations AS c1 WHERE ${where} FOR UPDATE) AS old
          WHERE c0.user_hash = old.oh
          RETURNING old.oc, old.oe, old.oh, old.oo, old.ot`
      : `UPDATE conversations AS c0 ${set} WHERE ${where} RETURNING 1`;
  } else {
    const { row } = write;
    inRow = true;
    c = `INSERT INTO conversations
           (user_hash, channel, state, key_fingerprint, expires_at, updated_at, version, outbox_event, outbox)
         SELECT ${p(row.userHash, 'text')}, ${p(row.channel, 'text')}, ${p(row.state, 'bytea')},
                ${p(row.keyFingerprint, 'text')}, ${p(row.expiresBy ?? row.expiresAt, 'timestamptz')}, now(),
                ${p(row.version ?? 1, 'bigint')},
                ${p(wroteEvent, 'text')}, ${p(pending?.sealed ?? null, 'bytea')}
          WHERE true${guard}
         ON CONFLICT (user_hash) DO NOTHING RETURNING 1`;
  }
  ctes.push(`c AS (${c})`);
  if (event) {
    // No ON CONFLICT: an event recorded meanwhile aborts the whole statement (unique violation).
    ctes.push(`e AS (INSERT INTO processed_events (channel, event_hash)
       SELECT ${p(event.channel, 'text')}, ${p(event.eventHash, 'text')} FROM c)`);
  }
  if (pending && !inRow) {
    ctes.push(`o AS (INSERT INTO pending_replies (channel, event_hash, user_hash, sealed)
       SELECT ${p(pending.channel, 'text')}, ${p(pending.eventHash, 'text')}, ${p(pending.userHash, 'text')},
              ${p(pending.sealed, 'bytea')} FROM c
       ON CONFLICT (channel, event_hash) DO NOTHING)`);
  }
  if (report) ctes.push(...reportCtes(report, p, 'c'));
  if (keepUnsentOf) {
    // Kept with the time it was written, so the purge of pending_replies counts from the turn.
    ctes.push(`k AS (INSERT INTO pending_replies (channel, event_hash, user_hash, sealed, created_at)
       SELECT oc, oe, oh, oo, ot FROM c WHERE oo IS NOT NULL
       ON CONFLICT (channel, event_hash) DO NOTHING)`);
  }
  try {
    const r = await db.query<{ n: number; g?: boolean }>(
      `WITH ${ctes.join(', ')} SELECT count(*)::int AS n${guarded ? ', (SELECT ok FROM g) AS g' : ''} FROM c`,
      params,
      PREPARED,
    );
    if (guarded && r.rows[0]?.g !== true) return 'recipients_changed';
    return Number(r.rows[0]?.n ?? 0) > 0 ? 'ok' : 'conflict';
  } catch (err) {
    const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
    if (e?.code === '23505') {
      const where = `${String(e.constraint ?? '')} ${String(e.message ?? '')}`;
      if (where.includes('processed_events')) return 'duplicate';
      // A row under the new hash appeared meanwhile (insert or key rotation): another turn won. A report's
      // reference drawn twice (1 in ~7e8): the turn runs again and draws another.
      if (where.includes('conversations') || where.includes('reports_reference')) return 'conflict';
    }
    throw err;
  }
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
    `SELECT ${ROW_COLUMNS}
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
           expires_at = EXCLUDED.expires_at, updated_at = now(), channel_updates = '{}',
           version = conversations.version + 1`,
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

/** One turn's (or notice's) work after sending, for `recordAfterSend`. */
export interface AfterSend {
  userHashes: string[];
  /** A sealed channel update for the live conversation (nothing when it is gone). */
  sealed?: Uint8Array;
  /** The event whose outbox entry is confirmed (deleted). */
  delivered?: { channel: string; eventHash: string };
  /** Message ids to keep for /effacer. */
  trail?: TrailRow;
}

const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * The work after sending of several turns in one statement (the service batches them): outbox entries
 * confirmed, message-trail batches inserted in order, channel updates appended in order per conversation
 * (at most `MAX_CHANNEL_UPDATES` waiting; nothing for a conversation that is gone). Without the conversation's
 * lock: a turn's write keeps the updates appended after its read (`writeTurn` drops only those it folded).
 */
/**
 * What the work after sending did to conversation rows, for a copy of a row kept in memory: each row it
 * changed, with its version, how many channel updates it now holds and whether its outbox is empty; `rows`
 * is missing when the batch took the rare grouped form (a conversation twice), which does not say.
 */
export interface AfterSendRows {
  rows?: { userHash: string; version: number; updates: number; outboxEmpty: boolean }[];
}

export async function recordAfterSend(db: Queryable, entries: AfterSend[]): Promise<AfterSendRows> {
  const dChannel: string[] = [];
  const dEvent: string[] = [];
  const tUser: string[] = [];
  const tChannel: string[] = [];
  const tSealed: Buffer[] = [];
  const uHash: string[] = [];
  const uSealed: (Buffer | null)[] = [];
  const uEvent: (string | null)[] = [];
  for (const e of entries) {
    if (e.delivered) {
      dChannel.push(e.delivered.channel);
      dEvent.push(e.delivered.eventHash);
    }
    if (e.trail) {
      tUser.push(e.trail.userHash);
      tChannel.push(e.trail.channel);
      tSealed.push(buf(e.trail.sealed));
    }
    if (e.sealed || e.delivered) {
      // One entry per hash the row may be under (a key rotation): only the existing row matches.
      for (const h of e.userHashes) {
        uHash.push(h);
        uSealed.push(e.sealed ? buf(e.sealed) : null);
        uEvent.push(e.delivered?.eventHash ?? null);
      }
    }
  }
  const params: unknown[] = [];
  let grouped = false;
  /** Data-modifying parts, and the ones whose RETURNING names the confirmed events they resolved. */
  const parts: string[] = [];
  const resolvedBy: string[] = [];
  // One delete a channel: `channel = $1 AND event_hash = ANY($2)` is an index scan under any plan.
  const delivered = new Map<string, string[]>();
  for (const [i, channel] of dChannel.entries()) {
    const list = delivered.get(channel);
    if (list) list.push(dEvent[i]!);
    else delivered.set(channel, [dEvent[i]!]);
  }
  for (const [channel, events] of delivered) {
    params.push(channel, events);
    resolvedBy.push(`w${parts.length}`);
    parts.push(`DELETE FROM pending_replies
        WHERE channel = $${params.length - 1}::text AND event_hash = ANY($${params.length}::text[])
        RETURNING event_hash AS e, NULL::text AS h, NULL::bigint AS v, NULL::int AS n, NULL::boolean AS o`);
  }
  if (tUser.length > 0) {
    params.push(tUser, tChannel, tSealed);
    const at = params.length - 2;
    parts.push(`INSERT INTO message_trail (user_hash, channel, sealed)
        SELECT x.h, x.ch, x.s FROM unnest($${at}::text[], $${at + 1}::text[], $${at + 2}::bytea[])
          WITH ORDINALITY AS x(h, ch, s, n) ORDER BY x.n`);
  }
  if (uHash.length > 0 && new Set(uHash).size === uHash.length) {
    // Each conversation once (the usual batch: a chat's turns run one after the other on an instance), so
    // no grouping: a third cheaper for the server than the grouped form below. The row's outbox entry is
    // cleared when it is the confirmed event; outbox_event is NULL afterwards only then (a turn's write
    // always sets it), which tells the entry was found in the row (the update sees the row's latest version).
    params.push(uHash, uSealed, uEvent);
    const at = params.length - 2;
    resolvedBy.push(`w${parts.length}`);
    parts.push(`UPDATE conversations AS c
          SET channel_updates = CASE WHEN x.s IS NULL OR cardinality(c.channel_updates) >= ${MAX_CHANNEL_UPDATES}
                THEN c.channel_updates ELSE c.channel_updates || x.s END,
              outbox_event = CASE WHEN c.outbox_event = x.e THEN NULL ELSE c.outbox_event END,
              outbox = CASE WHEN c.outbox_event = x.e THEN NULL ELSE c.outbox END
        FROM unnest($${at}::text[], $${at + 1}::bytea[], $${at + 2}::text[]) AS x(h, s, e)
       WHERE c.user_hash = ANY($${at}::text[]) AND c.user_hash = x.h
         AND (c.outbox_event = x.e OR (x.s IS NOT NULL AND cardinality(c.channel_updates) < ${MAX_CHANNEL_UPDATES}))
       RETURNING CASE WHEN c.outbox_event IS NULL THEN x.e END AS e, c.user_hash AS h, c.version AS v,
                 cardinality(c.channel_updates) AS n, c.outbox IS NULL AS o`);
  } else if (uHash.length > 0) {
    grouped = true;
    params.push(uHash, uSealed, uEvent);
    const at = params.length - 2;
    // The channel updates appended in order (at most MAX_CHANNEL_UPDATES waiting), and the outbox entry in
    // the row cleared when it is one of the events confirmed sent. (Which one is not returned: the events
    // of this rare form are all checked again below.)
    parts.push(`UPDATE conversations AS c
          SET channel_updates = CASE WHEN x.ups IS NULL OR cardinality(c.channel_updates) >= ${MAX_CHANNEL_UPDATES}
                THEN c.channel_updates ELSE c.channel_updates || x.ups END,
              outbox_event = CASE WHEN c.outbox_event = ANY(x.evs) THEN NULL ELSE c.outbox_event END,
              outbox = CASE WHEN c.outbox_event = ANY(x.evs) THEN NULL ELSE c.outbox END
        FROM (SELECT x.h, array_agg(x.s ORDER BY x.n) FILTER (WHERE x.s IS NOT NULL) AS ups,
                     array_agg(x.e) FILTER (WHERE x.e IS NOT NULL) AS evs
                FROM unnest($${at}::text[], $${at + 1}::bytea[], $${at + 2}::text[]) WITH ORDINALITY AS x(h, s, e, n)
               GROUP BY x.h) AS x
       WHERE c.user_hash = ANY($${at}::text[]) AND c.user_hash = x.h
         AND (c.outbox_event = ANY(x.evs) OR (x.ups IS NOT NULL AND cardinality(c.channel_updates) < ${MAX_CHANNEL_UPDATES}))`);
  }
  if (parts.length === 0) return { rows: [] };
  // Data-modifying CTEs run once and to completion whether or not the main statement reads them.
  // Each part names its rows with `= ANY(...)` on an indexed column: after a few executions PostgreSQL
  // keeps one generic plan for a prepared statement (it does not see the array's length), and that plan
  // must find the rows through the index, never by reading a whole table (tests/store/turn-plans.test.ts).
  const resolved =
    resolvedBy.length > 0 ? resolvedBy.map((w) => `SELECT e, h, v, n, o FROM ${w}`).join(' UNION ALL ') : '';
  const sql = `WITH ${parts.map((q, i) => `w${i} AS (${q})`).join(', ')}
    ${resolved || 'SELECT NULL::text AS e WHERE false'}`;
  const r = await db.query<{
    e: string | null;
    h?: string | null;
    v?: string | number | null;
    n?: number | null;
    o?: boolean | null;
  }>(sql, params, PREPARED);
  const out: AfterSendRows = {};
  if (!grouped) {
    out.rows = [];
    for (const row of r.rows) {
      if (row.h === null || row.h === undefined) continue;
      out.rows.push({
        userHash: row.h,
        version: Number(row.v),
        updates: Number(row.n),
        outboxEmpty: row.o === true,
      });
    }
  }
  if (delivered.size === 0) return out;
  // A confirmed entry found neither in pending_replies nor in its row: the next turn's write moved it to
  // pending_replies after this statement's snapshot was taken. A new statement sees it, and deletes it.
  const found = new Set(r.rows.map((row) => row.e));
  for (const [channel, events] of delivered) {
    const left = events.filter((e) => !found.has(e));
    if (left.length > 0) await deletePendingReplies(db, channel, left);
  }
  return out;
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
  // An entry never confirmed sent stays in pending_replies (with the time it was written), where a late
  // redelivery still finds it until the purge of pending replies.
  const r = await db.query<{ n: number }>(
    `WITH d AS (DELETE FROM conversations WHERE expires_at < $1
                RETURNING user_hash, channel, outbox_event, outbox, updated_at),
          k AS (INSERT INTO pending_replies (channel, event_hash, user_hash, sealed, created_at)
                SELECT channel, outbox_event, user_hash, outbox, updated_at FROM d WHERE outbox IS NOT NULL
                ON CONFLICT (channel, event_hash) DO NOTHING)
     SELECT count(*)::int AS n FROM d`,
    [now],
  );
  return r.rows[0]?.n ?? 0;
}

/** Rows sealed under another master key than `fingerprint` (rotation progress). */
export async function countConversationsNotUnder(db: Queryable, fingerprint: string): Promise<number> {
  const r = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM conversations WHERE key_fingerprint <> $1',
    [fingerprint],
  );
  return r.rows[0]?.n ?? 0;
}
