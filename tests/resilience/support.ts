/**
 * Support for the resilience suite: a fresh PostgreSQL database with the schema and a coordinator, the lean
 * fake Bot API (bench/fake-telegram.ts, keeping texts), service processes (`src/server.ts` as `npm run dev`)
 * pointed at them, and simulated Telegram users that redeliver an update until it is answered 200, the way
 * Telegram does after a 5xx or a dropped connection.
 */
import { randomBytes } from 'node:crypto';
import { BENCH_SECRET, Poster, postUpdate, SimUser } from '../../bench/driver.js';
import { type LeanFakeBotApi, startLeanFakeBotApi } from '../../bench/fake-telegram.js';
import { type Child, startChild } from '../../bench/processes.js';
import { createCoordinator } from '../../src/coordinators/index.js';
import { loadKeyring } from '../../src/intake/index.js';
import { type Database, migrate, openPostgres } from '../../src/store/index.js';
import { createPgDatabase, type TestDatabase } from '../support/databases.js';

export const MASTER_KEY = randomBytes(32).toString('base64');

export interface World {
  tdb: TestDatabase;
  db: Database;
  fake: LeanFakeBotApi;
  poster: Poster;
  children: Child[];
  start(opts?: { databaseUrl?: string; port?: number }): Promise<Child>;
  close(): Promise<void>;
}

export async function world(): Promise<World> {
  const tdb = await createPgDatabase();
  const db = openPostgres({ connectionString: tdb.url });
  await migrate(db);
  await createCoordinator(
    db,
    { name: 'Resilience', login: 'res1', inbox: 'coordination', passphrase: 'resilience only passphrase' },
    ['coordination'],
    await loadKeyring(MASTER_KEY),
  );
  const fake = await startLeanFakeBotApi({ keepTexts: true });
  const poster = new Poster(512);
  const children: Child[] = [];
  return {
    tdb,
    db,
    fake,
    poster,
    children,
    async start(opts = {}) {
      const c = await startChild({
        script: 'src/server.ts',
        env: {
          NODE_ENV: 'development',
          LOG_LEVEL: 'warn',
          DATABASE_URL: opts.databaseUrl ?? tdb.url,
          INTAKE_MASTER_KEY: MASTER_KEY,
          TELEGRAM_BOT_TOKEN: fake.token,
          TELEGRAM_WEBHOOK_SECRET: BENCH_SECRET,
          TELEGRAM_API_ROOT: fake.root,
        },
        ...(opts.port ? { port: opts.port } : {}),
      });
      children.push(c);
      return c;
    },
    async close() {
      for (const c of children) await c.stop('SIGKILL').catch(() => undefined);
      poster.close();
      await fake.close();
      await db.close().catch(() => undefined);
      await tdb.drop();
    },
  };
}

export interface Delivery {
  status: number;
  retryAfter?: string;
  ms: number;
}

/**
 * Delivers `update` to `bases[i % n]`, i = attempt: on a 5xx or a network error it waits and redelivers (to
 * the next base), like Telegram. Returns every attempt.
 */
export async function deliver(
  poster: Poster,
  bases: () => string[],
  update: unknown,
  opts: { retryMs?: number; maxAttempts?: number; first?: number } = {},
): Promise<Delivery[]> {
  const attempts: Delivery[] = [];
  const max = opts.maxAttempts ?? 200;
  for (let i = 0; i < max; i++) {
    const list = bases();
    const base = list[((opts.first ?? 0) + i) % list.length]!;
    const t0 = performance.now();
    try {
      const r = await postUpdate(poster, base, update);
      const retryAfter = r.headers['retry-after'];
      attempts.push({
        status: r.status,
        ms: performance.now() - t0,
        ...(retryAfter ? { retryAfter: String(retryAfter) } : {}),
      });
      if (r.status === 200) return attempts;
      if (r.status < 500) throw new Error(`update refused with ${r.status}: ${r.body}`);
    } catch (err) {
      if ((err as Error).message.startsWith('update refused')) throw err;
      attempts.push({ status: 0, ms: performance.now() - t0 });
    }
    await new Promise((resolve) => setTimeout(resolve, opts.retryMs ?? 100));
  }
  throw new Error(`update not accepted after ${max} attempts`);
}

/** Runs `user` to the end, step i delivered first to bases[(offset + i) % n]. */
export async function runUser(
  poster: Poster,
  bases: () => string[],
  user: SimUser,
  opts: {
    offset?: number;
    untilStep?: number;
    onStep?: (i: number) => Promise<void> | void;
    redeliverTo?: () => string | undefined;
  } = {},
): Promise<Delivery[]> {
  const all: Delivery[] = [];
  const until = opts.untilStep ?? user.steps.length;
  while (user.step < until) {
    const update = user.nextUpdate();
    all.push(...(await deliver(poster, bases, update, { first: (opts.offset ?? 0) + user.step })));
    // Telegram may deliver an update twice (our 200 lost): the second delivery must change nothing.
    const again = opts.redeliverTo?.();
    if (again) {
      const r = await postUpdate(poster, again, update);
      if (r.status !== 200) throw new Error(`redelivery answered ${r.status}`);
    }
    user.step += 1;
    await opts.onStep?.(user.step);
  }
  return all;
}

/** A transcript with per-user details (references, receipts, numbers) blanked, to compare conversations. */
export function normalized(texts: string[]): string[] {
  return texts.map((t) =>
    t
      .replace(/R-[A-Z0-9]{6}/g, 'R-XXXXXX')
      .replace(/[A-Z0-9]{4}(?:-[A-Z0-9]{4}){2,}/g, 'RECEIPT')
      .replace(/\d+/g, 'N'),
  );
}

export async function reportCount(db: Database): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM reports');
  return r.rows[0]!.n;
}

export { SimUser };
