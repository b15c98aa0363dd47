/**
 * Embedded PostgreSQL (PGlite) for a fresh machine and local development: no server to install. PGlite is a
 * single connection; its `transaction` holds it exclusively, so other queries wait their turn.
 */
import { mkdirSync } from 'node:fs';
import type { PGlite as PGliteInstance } from '@electric-sql/pglite';
import type { Database, Queryable, Transaction } from './db.js';

/** Opens (and creates on first use) the embedded database in `dir`; in memory when `dir` is undefined. */
export async function openEmbedded(dir?: string): Promise<Database> {
  if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only here: a service on PostgreSQL never loads the WebAssembly build (~8 MB, ~40 ms).
  const { PGlite } = await import('@electric-sql/pglite');
  const db = dir ? new PGlite(dir) : new PGlite();
  await db.waitReady;
  const normalize = (rows: unknown[]) =>
    rows.map((row) => {
      // PGlite returns int8 beyond 2^31 as bigint; pg is configured to give numbers: align them.
      const r = row as Record<string, unknown>;
      for (const k of Object.keys(r)) if (typeof r[k] === 'bigint') r[k] = Number(r[k]);
      return r;
    });
  type PgliteTx = Parameters<Parameters<PGliteInstance['transaction']>[0]>[0];
  const wrap = (tx: PgliteTx): Transaction => ({
    query: async (sql, params) => {
      const r = await tx.query(sql, params as unknown[]);
      return { rows: normalize(r.rows) as never[] };
    },
    exec: async (sql) => {
      await tx.exec(sql);
    },
  });
  const query: Queryable['query'] = async (sql, params) => {
    const r = await db.query(sql, params as unknown[]);
    return { rows: normalize(r.rows) as never[] };
  };
  return {
    kind: 'embedded',
    query,
    async exec(sql) {
      await db.exec(sql);
    },
    async transaction(fn) {
      return db.transaction(async (tx) => fn(wrap(tx)));
    },
    async transactionFrom(firstSql, fn) {
      // One process, no round trip to save: the first statement simply runs first.
      return db.transaction(async (tx) => {
        const first = await tx.query(firstSql);
        return fn(wrap(tx), normalize(first.rows) as Record<string, unknown>[]);
      });
    },
    async ping() {
      await query('SELECT 1');
    },
    async close() {
      if (!db.closed) await db.close();
    },
  };
}
