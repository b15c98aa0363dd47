/**
 * Says which database backends this run uses, and fails the run early when REQUIRE_POSTGRES=1 and
 * PostgreSQL is missing or unreachable (never a silent skip).
 */
import pg from 'pg';

export default async function setup() {
  const url = process.env.DATABASE_URL;
  const required = process.env.REQUIRE_POSTGRES === '1';
  if (!url) {
    if (required) throw new Error('REQUIRE_POSTGRES=1 but DATABASE_URL is not set');
    process.stdout.write(
      '\n[intake tests] database backends: embedded (PGlite) only; PostgreSQL suites SKIPPED (DATABASE_URL not set)\n',
    );
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    if (required)
      throw new Error(
        `REQUIRE_POSTGRES=1 but PostgreSQL at DATABASE_URL is unreachable (${(err as Error).message})`,
      );
    process.stdout.write(
      '\n[intake tests] PostgreSQL at DATABASE_URL unreachable: PostgreSQL suites will fail\n',
    );
    return;
  } finally {
    await client.end().catch(() => {});
  }
  process.stdout.write('\n[intake tests] database backends: embedded (PGlite) + PostgreSQL (DATABASE_URL)\n');
}
