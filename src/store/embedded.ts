/**
 * Embedded PostgreSQL (PGlite) for a fresh machine and local development: no server to install. PGlite is a
 * single connection: every use of it takes one gate (see gate.ts), a transaction for its whole length, so
 * other queries, and the clients of the service's socket (share.ts), wait their turn.
 */
import { mkdirSync } from 'node:fs';
import type { PGlite, PGlite as PGliteInstance } from '@electric-sql/pglite';
import { type Database, type Queryable, type Transaction, withTimeout } from './db.js';
import { Gate } from './gate.js';

/** Opens (and creates on first use) the PGlite database in `dir`; in memory when `dir` is undefined. */
export async function openPglite(dir?: string): Promise<PGlite> {
  if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only here: a service on PostgreSQL never loads the WebAssembly build (~8 MB, ~40 ms).
  const { PGlite } = await import('@electric-sql/pglite');
  const db = dir ? new PGlite(dir) : new PGlite();
  await db.waitReady;
  return db;
}

/**
 * Opens the embedded database in `dir` (in memory when undefined) without taking the data directory's lock:
 * for tests and for openDatabase, which takes it first.
 */
export async function openEmbedded(dir?: string): Promise<Database> {
  return embeddedDatabase(await openPglite(dir), new Gate());
}

/** The Database over an open PGlite; `gate` is shared with the socket when the service shares it. */
export function embeddedDatabase(
  db: PGlite,
  gate: Gate,
  hooks: { beforeClose?: () => Promise<void>; afterClose?: () => void } = {},
): Database {
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
  const query: Queryable['query'] = (sql, params) =>
    gate.run(async () => {
      const r = await db.query(sql, params as unknown[]);
      return { rows: normalize(r.rows) as never[] };
    });
  let closing: Promise<void> | undefined;
  return {
    kind: 'embedded',
    query,
    async exec(sql) {
      await gate.run(() => db.exec(sql));
    },
    async transaction(fn) {
      return gate.run(() => db.transaction(async (tx) => fn(wrap(tx))));
    },
    async transactionFrom(firstSql, fn) {
      // One process, no round trip to save: the first statement simply runs first.
      return gate.run(() =>
        db.transaction(async (tx) => {
          const first = await tx.query(firstSql);
          return fn(wrap(tx), normalize(first.rows) as Record<string, unknown>[]);
        }),
      );
    },
    async ping(timeoutMs = 2000) {
      // Waits behind a transaction (its own, or an `intake` command's through the socket) like any query.
      await withTimeout(query('SELECT 1'), timeoutMs);
    },
    close() {
      closing ??= (async () => {
        try {
          await hooks.beforeClose?.();
          await gate.run(async () => {
            if (!db.closed) await db.close();
          });
        } finally {
          hooks.afterClose?.();
        }
      })();
      return closing;
    },
  };
}
