/**
 * Plain numbered SQL migrations (`src/store/migrations/NNNN_name.sql`), one set for PostgreSQL and PGlite.
 * Each pending migration runs in its own transaction under an advisory lock (two instances starting at once
 * apply it once) and is recorded in `schema_migrations`.
 *
 * The embedded database shared by the service (src/store/share.ts) is one session for the service and every
 * `intake` command: there the advisory lock excludes nothing (a session does not wait for itself), but each
 * transaction runs whole, alone, and checks `schema_migrations` inside it, so a command migrating while the
 * service does skips what the service has just applied, and the other way round.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from './db.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_ID = 74_230_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this build, in order. */
export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 4)),
      name: f.slice(5, -4),
      sql: readFileSync(`${dir}${f}`, 'utf8'),
    }));
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Versions already applied (empty when the table does not exist yet). */
export async function appliedVersions(db: Database): Promise<number[]> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`);
  if (!exists.rows[0]?.t) return [];
  const r = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
  return r.rows.map((row) => Number(row.version));
}

/** Migrations not yet applied. */
export async function pendingMigrations(db: Database): Promise<Migration[]> {
  const applied = new Set(await appliedVersions(db));
  return listMigrations().filter((m) => !applied.has(m.version));
}

/** Applies every pending migration; returns the ones applied now. */
export async function migrate(db: Database): Promise<Migration[]> {
  const done: Migration[] = [];
  // Nothing pending: change nothing, not even `CREATE TABLE IF NOT EXISTS`, so a service running as a role
  // without DDL rights starts once the owner has run `intake migrate` (docs/OPERATIONS.md, "Database roles").
  if ((await pendingMigrations(db)).length === 0) return done;
  for (const m of listMigrations()) {
    const applied = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      await tx.exec(CREATE_TABLE);
      const r = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (r.rows.length > 0) return false;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      return true;
    });
    if (applied) done.push(m);
  }
  return done;
}
