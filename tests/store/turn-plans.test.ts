/**
 * How PostgreSQL plans the turn's prepared statements (issue 16). After five executions it keeps one generic
 * plan per statement and connection when that plan looks no costlier than planning again each time:
 * - the read of a turn (`= ANY(array) ORDER BY array_position`) was planned again at every execution (its
 *   generic plan looked costlier), about 0.2 ms of the server's CPU a turn (pg_stat_statements: 275 against
 *   100 us); it now uses a plain equality when there is one user hash;
 * - a generic plan does not know the length of an array parameter: each statement must still reach its rows
 *   through an index, never by reading a whole table that grows with the live conversations.
 * Each statement runs for real through the store's functions; its text and values are recorded, then planned
 * with `plan_cache_mode = force_generic_plan` and explained: no sequential scan of the turn's tables.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  migrate,
  openPostgres,
  type Queryable,
  readTurn,
  recordAfterSend,
  writeTurn,
} from '../../src/store/index.js';
import { createPgDatabase, PG_ENABLED, type TestDatabase } from '../support/databases.js';

const TURN_TABLES = ['conversations', 'pending_replies', 'processed_events', 'message_trail'];

const hex = (n: number) => n.toString(16).padStart(64, '0');
const blob = (n: number) => new Uint8Array(n).fill(7);

/** A value as an SQL literal (the statements cast every parameter, so PREPARE infers the types). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (value instanceof Uint8Array) return `'\\x${Buffer.from(value).toString('hex')}'::bytea`;
  if (Array.isArray(value)) {
    if (value.length === 0) return "'{}'";
    const items = value.map(literal);
    return `ARRAY[${items.join(', ')}]`;
  }
  return pg.escapeLiteral(String(value));
}

/** Every sequential scan in an EXPLAIN (FORMAT JSON) plan, by relation name. */
function seqScans(plan: unknown, out: string[] = []): string[] {
  if (Array.isArray(plan)) for (const p of plan) seqScans(p, out);
  else if (plan && typeof plan === 'object') {
    const node = plan as Record<string, unknown>;
    if (node['Node Type'] === 'Seq Scan') out.push(String(node['Relation Name']));
    for (const v of Object.values(node)) if (v && typeof v === 'object') seqScans(v, out);
  }
  return out;
}

describe.runIf(PG_ENABLED)('turn statements under PostgreSQL generic plans', () => {
  let tdb: TestDatabase;
  let db: Database;
  let client: pg.Client;
  const recorded: { sql: string; params: unknown[] }[] = [];
  /** The store's queries, recorded on their way. */
  let recording: Queryable;

  beforeAll(async () => {
    tdb = await createPgDatabase();
    // One connection: pg_prepared_statements is per session.
    db = openPostgres({ connectionString: tdb.url, max: 1 });
    await migrate(db);
    recording = {
      query: (sql, params, options) => {
        recorded.push({ sql, params: params ?? [] });
        return db.query(sql, params, options);
      },
    } as Queryable;
    // Enough live conversations and unconfirmed outbox entries that a scan costs more than an index.
    await db.query(
      `INSERT INTO conversations (user_hash, channel, state, key_fingerprint, expires_at, updated_at, version)
       SELECT lpad(to_hex(i), 64, '0'), 'telegram', '\\x00', 'fp', now() + interval '1 day', now(), 1
         FROM generate_series(1, 5000) AS i`,
    );
    await db.query(
      `INSERT INTO pending_replies (channel, event_hash, user_hash, sealed)
       SELECT 'telegram', lpad(to_hex(i), 64, '0'), lpad(to_hex(i), 64, '0'), '\\x00'
         FROM generate_series(1, 2000) AS i`,
    );
    await db.query(
      `INSERT INTO processed_events (channel, event_hash)
       SELECT 'telegram', lpad(to_hex(i), 64, '0') FROM generate_series(100000, 105000) AS i`,
    );
    await db.query(
      `INSERT INTO message_trail (user_hash, channel, sealed)
       SELECT lpad(to_hex(i % 5000), 64, '0'), 'telegram', '\\x00' FROM generate_series(1, 5000) AS i`,
    );
    await db.query('ANALYZE conversations, pending_replies, processed_events, message_trail');
    client = new pg.Client({ connectionString: tdb.url });
    await client.connect();
    await client.query('SET plan_cache_mode = force_generic_plan');
  });

  afterAll(async () => {
    await client?.end();
    await db?.close();
    await tdb?.drop();
  });

  /** Runs the recorded statements (from `from`) under a generic plan; returns the tables scanned whole. */
  async function scannedWhole(from: number): Promise<string[]> {
    const scanned: string[] = [];
    for (const [i, { sql, params }] of recorded.slice(from).entries()) {
      const name = `plan_${from}_${i}`;
      await client.query(`PREPARE ${name} AS ${sql}`);
      const args = params.length > 0 ? `(${params.map(literal).join(', ')})` : '';
      const r = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${args}`);
      await client.query(`DEALLOCATE ${name}`);
      for (const table of seqScans(r.rows[0]['QUERY PLAN'])) {
        if (TURN_TABLES.includes(table))
          scanned.push(`${table} in: ${sql.replace(/\s+/g, ' ').slice(0, 60)}`);
      }
    }
    return scanned;
  }

  it('reads, writes and confirms a turn through indexes only, for one turn and for a batch', async () => {
    const start = recorded.length;
    const event = { channel: 'telegram', eventHash: hex(900_001) };
    const read = await readTurn(recording, [hex(42)], event);
    expect(read.row?.version).toBe(1);
    const written = await writeTurn(
      recording,
      {
        op: 'save',
        row: {
          userHash: hex(42),
          channel: 'telegram',
          state: blob(300),
          keyFingerprint: 'fp',
          expiresAt: new Date(Date.now() + 86_400_000),
        },
        from: { userHash: hex(42), version: 1, folded: 0 },
      },
      event,
      { channel: 'telegram', eventHash: event.eventHash, userHash: hex(42), sealed: blob(600) },
    );
    expect(written).toBe('ok');
    // A redelivery's read, then the work after sending of one turn and of a batch.
    expect((await readTurn(recording, [hex(42)], event)).seen).toBe(true);
    const entry = (n: number) => ({
      userHashes: [hex(n)],
      sealed: blob(330),
      delivered: { channel: 'telegram', eventHash: hex(n) },
      trail: { userHash: hex(n), channel: 'telegram', sealed: blob(300) },
    });
    await recordAfterSend(recording, [entry(7)]);
    // The second batch names a conversation twice (a notice after a turn): the grouped form.
    await recordAfterSend(recording, [
      entry(8),
      entry(9),
      entry(10),
      { userHashes: [hex(8)], sealed: blob(9) },
    ]);
    const pending = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pending_replies WHERE event_hash = ANY($1::text[])`,
      [[hex(7), hex(8), hex(9), hex(10)]],
    );
    expect(pending.rows[0]!.n).toBe(0);
    expect(recorded.length - start).toBe(5);
    expect(await scannedWhole(start)).toEqual([]);
  });

  it('plans the read of a turn once per connection, not at every turn', async () => {
    for (let i = 0; i < 8; i++)
      await readTurn(db, [hex(100 + i)], { channel: 'telegram', eventHash: hex(i) });
    const r = await db.query<{ generic_plans: number; custom_plans: number }>(
      `SELECT generic_plans::int AS generic_plans, custom_plans::int AS custom_plans
         FROM pg_prepared_statements WHERE statement LIKE '%FROM processed_events%' AND statement LIKE '%LEFT JOIN%'`,
    );
    expect(r.rows.length).toBe(1);
    // The first five executions are planned with their values; then one generic plan is kept.
    expect(r.rows[0]!.custom_plans).toBeLessThanOrEqual(5);
    expect(r.rows[0]!.generic_plans).toBeGreaterThan(0);
  });
});
