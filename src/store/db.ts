/**
 * The database seam: one small interface served by PostgreSQL (`pg` Pool) in production and by an embedded
 * PostgreSQL (PGlite) when no DATABASE_URL is configured. Everything that speaks SQL lives in src/store/.
 */

/** How a query is sent. */
export interface QueryOptions {
  /**
   * A statement run on every turn: PostgreSQL parses and plans it once per connection (a named prepared
   * statement) instead of on every call. Only for a fixed text with explicit result columns (a prepared
   * statement must not outlive a change of its tables' columns). Ignored by the embedded database.
   */
  prepare?: boolean;
}

/** Anything that runs a parameterised query: the database itself or a transaction. */
export interface Queryable {
  query<T extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    options?: QueryOptions,
  ): Promise<{ rows: T[] }>;
}

/** A transaction: queries plus multi-statement `exec` (used by migrations). */
export interface Transaction extends Queryable {
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  /** Runs several statements at once (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /**
   * Like `transaction`, with a first statement that travels with `BEGIN` in one round trip (PostgreSQL: one
   * simple-protocol query); `fn` gets its rows. `firstSql` takes no parameters: every value in it must be a
   * literal the caller has checked (see `beginTurnSql`).
   */
  transactionFrom<T>(
    firstSql: string,
    fn: (tx: Transaction, firstRows: Record<string, unknown>[]) => Promise<T>,
  ): Promise<T>;
  /** Cheap reachability check; rejects when the database cannot answer within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The database cannot be reached or answered too late: callers answer 503 so platforms retry. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  readonly statusCode = 503;
  readonly safeMessage = true;
  constructor(message = 'database unavailable') {
    super(message);
  }
}

/** Rejects with DatabaseUnavailableError if `p` does not settle within `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DatabaseUnavailableError('database timeout')), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// Error codes that mean "the server is not there / not usable now", as opposed to a bad query.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '53300', // too_many_connections
]);

/** True when an error means the database is unreachable (so the right answer is 503, not 500). */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseUnavailableError) return true;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: string; message?: string };
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  const m = e.message ?? '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed/i.test(
    m,
  );
}
