/** PostgreSQL through a `pg` Pool (production, CI). */
import pg from 'pg';
import {
  type Database,
  DatabaseUnavailableError,
  isUnavailable,
  type Queryable,
  type QueryOptions,
  type Transaction,
  withTimeout,
} from './db.js';

// int8 (counts, ids) as numbers, like PGlite gives them; our counts stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Distinct statement texts prepared at most (the turn's few variants fit many times over). */
const MAX_PREPARED = 64;

export interface PostgresOptions {
  /** A connection string (DATABASE_URL), or the fields below. */
  connectionString?: string;
  /** A host name, or a directory holding the server's Unix socket `.s.PGSQL.<port>`. */
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  max?: number;
  /** How long a query may wait for a free connection before the caller gets a 503. */
  connectionTimeoutMs?: number;
  statementTimeoutMs?: number;
  onError?: (err: Error) => void;
}

function wrapError(err: unknown): never {
  if (isUnavailable(err)) throw new DatabaseUnavailableError();
  throw err;
}

/** Opens a pool. Nothing is connected until the first query. */
export function openPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    ...(options.connectionString ? { connectionString: options.connectionString } : {}),
    // A Unix socket directory: no TLS there (PGlite's socket refuses it).
    ...(options.host ? { host: options.host, ...(options.host.startsWith('/') ? { ssl: false } : {}) } : {}),
    ...(options.port ? { port: options.port } : {}),
    ...(options.user ? { user: options.user } : {}),
    ...(options.database ? { database: options.database } : {}),
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 3000,
    idleTimeoutMillis: 30_000,
    // 0: none sent (the embedded database's socket: one session shared with the service).
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    types,
  });
  // An idle client losing its connection emits here; without a listener the process would crash.
  pool.on('error', (err) => options.onError?.(err));

  // Named prepared statements (`prepare: true`): one name per text, parsed once on each connection.
  const names = new Map<string, string>();
  const config = (sql: string, params: unknown[] | undefined, options: QueryOptions | undefined) => {
    if (!options?.prepare) return { text: sql, values: params as unknown[] };
    let name = names.get(sql);
    if (name === undefined && names.size < MAX_PREPARED) {
      name = `intake_${names.size}`;
      names.set(sql, name);
    }
    return name === undefined
      ? { text: sql, values: params as unknown[] }
      : { name, text: sql, values: params as unknown[] };
  };

  const query: Queryable['query'] = async (sql, params, options) => {
    try {
      const r = await pool.query(config(sql, params, options));
      return { rows: r.rows };
    } catch (err) {
      return wrapError(err);
    }
  };

  return {
    kind: 'postgres',
    query,
    async exec(sql) {
      await query(sql);
    },
    transaction(fn) {
      return run('BEGIN', (tx) => fn(tx));
    },
    transactionFrom(firstSql, fn) {
      return run(`BEGIN;\n${firstSql}`, fn);
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(query('SELECT 1'), timeoutMs);
    },
    async close() {
      await pool.end();
    },
  };

  /** Runs `begin` (BEGIN, maybe with a first statement) then `fn`, and commits; rolls back on a throw. */
  async function run<T>(
    begin: string,
    fn: (tx: Transaction, firstRows: Record<string, unknown>[]) => Promise<T>,
  ): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      return wrapError(err);
    }
    let broken = false;
    // A checked-out client whose connection dies emits 'error'; unhandled, that would kill the process.
    // The query in flight rejects anyway: mark the client broken so the pool discards it.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      // Several statements in one simple query answer an array of results: the last is the first statement's.
      const begun = (await client.query(begin)) as unknown as pg.QueryResult | pg.QueryResult[];
      const firstRows = Array.isArray(begun) ? (begun[begun.length - 1]?.rows ?? []) : [];
      const tx: Transaction = {
        query: async (sql, params, options) => {
          const r = await client.query(config(sql, params, options));
          return { rows: r.rows };
        },
        exec: async (sql) => {
          await client.query(sql);
        },
      };
      const result = await fn(tx, firstRows);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      return wrapError(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
