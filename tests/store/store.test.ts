import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appliedVersions,
  type Database,
  listMigrations,
  migrate,
  pendingMigrations,
} from '../../src/store/index.js';
import { backends } from '../support/databases.js';

for (const backend of backends()) {
  describe(`store [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('reports its kind', () => {
      expect(db.kind).toBe(backend.name);
    });

    it('applies every migration once and records it', async () => {
      expect((await pendingMigrations(db)).length).toBe(listMigrations().length);
      const first = await migrate(db);
      expect(first.map((m) => m.version)).toEqual(listMigrations().map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
      expect(await appliedVersions(db)).toEqual(listMigrations().map((m) => m.version));
      expect(await pendingMigrations(db)).toEqual([]);
    });

    it('applies migrations once when two runs race', async () => {
      const results = await Promise.all([migrate(db), migrate(db)]);
      expect(results.flat()).toEqual([]);
    });

    it('commits a transaction that resolves and rolls back one that throws', async () => {
      await db.query('CREATE TABLE IF NOT EXISTS t_tx (v integer)');
      await db.transaction(async (tx) => {
        await tx.query('INSERT INTO t_tx (v) VALUES ($1)', [1]);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.query('INSERT INTO t_tx (v) VALUES ($1)', [2]);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const r = await db.query<{ v: number }>('SELECT v FROM t_tx ORDER BY v');
      expect(r.rows).toEqual([{ v: 1 }]);
    });

    it('returns int8 as numbers on both backends', async () => {
      const r = await db.query<{ n: number; big: number }>('SELECT count(*) AS n, 5000000000::int8 AS big');
      expect(r.rows[0]).toEqual({ n: 1, big: 5_000_000_000 });
    });

    it('runs multi-statement SQL with exec', async () => {
      await db.exec(
        'CREATE TABLE t_exec (a int); INSERT INTO t_exec VALUES (1); INSERT INTO t_exec VALUES (2);',
      );
      const r = await db.query<{ s: number }>('SELECT sum(a)::int AS s FROM t_exec');
      expect(r.rows[0]?.s).toBe(3);
    });

    it('answers ping', async () => {
      await expect(db.ping()).resolves.toBeUndefined();
    });

    it('keeps concurrent transactions apart', async () => {
      await db.query('CREATE TABLE IF NOT EXISTS t_counter (id int primary key, n int not null)');
      await db.query('INSERT INTO t_counter VALUES (1, 0) ON CONFLICT DO NOTHING');
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const r = await tx.query<{ n: number }>('SELECT n FROM t_counter WHERE id = 1 FOR UPDATE');
            await tx.query('UPDATE t_counter SET n = $1 WHERE id = 1', [(r.rows[0]?.n ?? 0) + 1]);
          }),
        ),
      );
      const r = await db.query<{ n: number }>('SELECT n FROM t_counter WHERE id = 1');
      expect(r.rows[0]?.n).toBe(20);
    });
  });
}
