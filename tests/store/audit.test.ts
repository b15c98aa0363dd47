import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../../src/paths.js';
import {
  AUDIT_GENESIS_HASH,
  appendAudit,
  auditEntryHash,
  type Database,
  listMigrations,
  migrate,
  openPostgres,
  readAuditHead,
  verifyAuditChain,
} from '../../src/store/index.js';
import { backends, createPgDatabase, PG_ENABLED, PG_URL, type TestDatabase } from '../support/databases.js';

interface ChainRow {
  id: number;
  seq: number;
  prev_hash: string;
  hash: string;
}
const chainOf = async (db: Database) =>
  (await db.query<ChainRow>('SELECT id, seq, prev_hash, hash FROM audit_log ORDER BY seq')).rows;

/** Applies the migrations before 0010 only, as a database deployed before the chain existed. */
async function migrateBeforeChain(db: Database) {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  for (const m of listMigrations().filter((m) => m.version < 10)) {
    await db.transaction(async (tx) => {
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    });
  }
}

for (const backend of backends()) {
  describe(`audit chain [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrateBeforeChain(db);
      // Entries written before the chain existed, one with characters a naive encoding would confuse.
      await db.query(
        `INSERT INTO audit_log (at, actor_id, action, report_reference, target_id, detail) VALUES
           ('2024-03-01T10:00:00.123456Z', NULL, 'login_failed', NULL, NULL, 'unknown'),
           ('2024-03-01T10:00:01Z', '6f1c1a52-4b8e-4d0b-9a55-0c2d7a3c9b10', 'view', 'R-7KQ2MX', NULL, NULL),
           ('2024-03-01T10:00:02Z', NULL, 'retention_purge', NULL, NULL, 'a|b\n-é')`,
      );
      await migrate(db);
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('chains the entries that existed before the migration, deterministically', async () => {
      const rows = await chainOf(db);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(rows[0]!.prev_hash).toBe(AUDIT_GENESIS_HASH);
      expect(rows[1]!.prev_hash).toBe(rows[0]!.hash);
      expect(rows[2]!.prev_hash).toBe(rows[1]!.hash);
      // The same hash in TypeScript as in SQL (a fixed vector: the first entry's fields are all literals).
      expect(rows[0]!.hash).toBe(
        auditEntryHash({
          seq: '1',
          atMicros: '1709287200123456',
          actorId: null,
          action: 'login_failed',
          reportReference: null,
          targetId: null,
          detail: 'unknown',
          prevHash: AUDIT_GENESIS_HASH,
        }),
      );
      expect(await readAuditHead(db)).toEqual({ head: rows[2]!.hash, count: 3 });
      expect(await verifyAuditChain(db)).toEqual({ ok: true, head: rows[2]!.hash, count: 3 });
    });

    it('chains every append, inside or outside a transaction, and ignores chain fields an INSERT supplies', async () => {
      await appendAudit(db, { actorId: null, action: 'login_failed', detail: 'unknown' });
      await db.transaction(async (tx) => {
        await appendAudit(tx, { actorId: null, action: 'export', detail: 'audit_csv' });
        await appendAudit(tx, { actorId: null, action: 'export', detail: 'audit_csv' });
      });
      // A rolled-back append leaves no trace in the chain.
      await expect(
        db.transaction(async (tx) => {
          await appendAudit(tx, { actorId: null, action: 'logout' });
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      await db.query(
        `INSERT INTO audit_log (action, seq, prev_hash, hash) VALUES ('logout', 999, 'forged', 'forged')`,
      );
      const rows = await chainOf(db);
      expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash);
      const v = await verifyAuditChain(db, { expectedHead: rows[3]!.hash });
      expect(v).toEqual({ ok: true, head: rows[6]!.hash, count: 7, foundExpectedHead: true });
      expect(await readAuditHead(db)).toEqual({ head: rows[6]!.hash, count: 7 });
    });

    it('names the entry changed, the entry deleted and entries cut from the end', async () => {
      // Behind the service's back: the owner lifts the append-only trigger.
      await db.exec('ALTER TABLE audit_log DISABLE TRIGGER USER');
      try {
        await db.query(`UPDATE audit_log SET detail = 'other' WHERE seq = 5`);
        const changed = await verifyAuditChain(db);
        expect(changed).toMatchObject({ ok: false, seq: '5', problem: 'changed', verified: 4 });
        await db.query(`UPDATE audit_log SET detail = 'audit_csv' WHERE seq = 5`);
        expect((await verifyAuditChain(db)).ok).toBe(true);

        await db.query('DELETE FROM audit_log WHERE seq = 3');
        expect(await verifyAuditChain(db)).toMatchObject({
          ok: false,
          seq: '3',
          id: null,
          problem: 'deleted',
          verified: 2,
        });
        await db.query('DELETE FROM audit_log WHERE seq > 2');
        expect(await verifyAuditChain(db)).toMatchObject({ ok: false, seq: '3', problem: 'deleted' });
      } finally {
        await db.exec('ALTER TABLE audit_log ENABLE TRIGGER USER');
      }
    });
  });
}

describe.runIf(PG_ENABLED)('audit chain under concurrency [postgres]', () => {
  let tdb: TestDatabase;
  let a: Database;
  let b: Database;
  beforeAll(async () => {
    tdb = await createPgDatabase();
    a = openPostgres({ connectionString: tdb.url });
    b = openPostgres({ connectionString: tdb.url });
    await migrate(a);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await tdb?.drop();
  });

  it('keeps one chain when two Database handles append at once', async () => {
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      for (const db of [a, b]) {
        appends.push(
          i % 2 === 0
            ? appendAudit(db, { actorId: null, action: 'view', detail: String(i) })
            : db.transaction(async (tx) => {
                await tx.query('SELECT 1');
                await appendAudit(tx, { actorId: null, action: 'note', detail: String(i) });
              }),
        );
      }
    }
    await Promise.all(appends);
    const rows = await chainOf(a);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    const v = await verifyAuditChain(b);
    expect(v, JSON.stringify(v)).toMatchObject({ ok: true, count: 80 });
  });
});

describe.runIf(PG_ENABLED)('a service role that cannot rewrite the audit trail [postgres]', () => {
  let tdb: TestDatabase;
  let owner: Database;
  let service: Database;
  const role = `intake_app_${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    tdb = await createPgDatabase();
    owner = openPostgres({ connectionString: tdb.url });
    await migrate(owner);
    // The statements documented in docs/OPERATIONS.md, as written there, for a role of this run.
    const sql = readFileSync(join(ROOT_DIR, 'docs/sql/service-role.sql'), 'utf8').replaceAll(
      'intake_app',
      role,
    );
    await owner.exec(`CREATE ROLE ${role} LOGIN PASSWORD 'test-only'`);
    await owner.exec(sql);
    const url = new URL(tdb.url);
    url.username = role;
    url.password = 'test-only';
    service = openPostgres({ connectionString: url.toString() });
  });
  afterAll(async () => {
    await service?.close();
    await owner?.close();
    await tdb?.drop();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      await c.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await c.end();
    }
  });

  it('starts (nothing to migrate), appends chained entries, and is refused UPDATE, DELETE and TRUNCATE', async () => {
    expect(await migrate(service)).toEqual([]);
    await appendAudit(service, { actorId: null, action: 'login_failed', detail: 'unknown' });
    await appendAudit(service, { actorId: null, action: 'logout' });
    expect(await verifyAuditChain(service)).toMatchObject({ ok: true, count: 2 });
    for (const sql of [
      `UPDATE audit_log SET detail = 'x'`,
      'DELETE FROM audit_log',
      'TRUNCATE audit_log',
      `UPDATE audit_head SET seq = 0`,
      'DELETE FROM audit_head',
    ]) {
      await expect(service.query(sql), sql).rejects.toThrow(/permission denied/);
    }
    // The rest of the service's tables stay writable.
    await service.query('DELETE FROM processed_events WHERE false');
    expect(await verifyAuditChain(owner)).toMatchObject({ ok: true, count: 2 });
  });
});
