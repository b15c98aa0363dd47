/**
 * Test databases. Each PostgreSQL test file gets a fresh database created on the DATABASE_URL server and
 * dropped afterwards; the embedded backend runs in memory. With REQUIRE_POSTGRES=1 a missing server is a
 * failure, never a skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openEmbedded, openPostgres } from '../../src/store/index.js';

export const PG_URL = process.env.DATABASE_URL;
export const REQUIRE_PG = process.env.REQUIRE_POSTGRES === '1';
/** Whether PostgreSQL suites run (they also run, and fail, when required but not configured). */
export const PG_ENABLED = Boolean(PG_URL) || REQUIRE_PG;

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database on the DATABASE_URL server. */
export async function createPgDatabase(): Promise<TestDatabase> {
  if (!PG_URL) throw new Error('REQUIRE_POSTGRES=1 but DATABASE_URL is not set');
  const name = `intake_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface Backend {
  name: 'embedded' | 'postgres';
  open(): Promise<{ db: Database; cleanup(): Promise<void> }>;
}

/** The backends a store suite runs against: embedded always, PostgreSQL when enabled. */
export function backends(): Backend[] {
  const list: Backend[] = [
    {
      name: 'embedded',
      async open() {
        const db = await openEmbedded();
        return { db, cleanup: () => db.close() };
      },
    },
  ];
  if (PG_ENABLED) {
    list.push({
      name: 'postgres',
      async open() {
        const tdb = await createPgDatabase();
        const db = openPostgres({ connectionString: tdb.url });
        return {
          db,
          async cleanup() {
            await db.close();
            await tdb.drop();
          },
        };
      },
    });
  }
  return list;
}
