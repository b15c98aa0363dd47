// The /suivi receipt limits (per user hash, and in total) shared through Redis when REDIS_URL is set: two
// instances sharing one Redis share the counts; a failing Redis degrades to per-instance counts, never none.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createIntake, type ReceiptLimits } from '../../src/intake/index.js';
import { SharedWindowLimiter } from '../../src/intake/limiter.js';
import { type Database, migrate, openEmbedded } from '../../src/store/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp, testConfig } from '../helper.js';
import { followUp } from '../inbox/support.js';

const THROTTLED = 'Trop d’essais';
const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function requireRedis() {
  const probe = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await probe.connect();
  } catch {
    // Redis runs on every machine of this kind; if it is down, say so loudly rather than skip silently.
    throw new Error(`Redis at ${URL} is unreachable: the shared /suivi limit test needs it`);
  } finally {
    probe.disconnect();
  }
}

/** One service instance on the shared database `db`, sharing `redis`. */
async function instance(db: Database, redis: Redis, receiptLimits: ReceiptLimits): Promise<TestApp> {
  const config = testConfig();
  const intake = await createIntake({
    config,
    db,
    masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
    logger: pino({ level: 'silent' }),
    redis,
    receiptLimits,
  });
  return buildTestApp({ config, db, deps: { intake, redis } });
}

describe('/suivi limits shared through Redis (REDIS_URL)', () => {
  it('counts per-user and global attempts across two instances', async () => {
    await requireRedis();
    // A prefix per run so parallel runs on the same Redis do not share a counter.
    const limits: ReceiptLimits = {
      perUser: { max: 3, windowMs: 60_000 },
      global: { max: 5, windowMs: 60_000 },
      redisPrefix: `intake-suivi-test-${randomBytes(6).toString('hex')}:`,
    };
    const r1 = new Redis(URL);
    const r2 = new Redis(URL);
    // Two instances as in production: one database, one Redis, each with its own client.
    const db = await openEmbedded();
    await migrate(db);
    const a = await instance(db, r1, limits);
    const b = await instance(db, r2, limits);
    const guess = (i: number) => `ABCD-EFGH-JKMN-PQ${String(i).padStart(2, '0')}`;
    const throttled = async (t: TestApp, user: string, i: number) =>
      (await followUp(t.app, user, guess(i))).includes(THROTTLED);
    try {
      // One user alternating between the instances: 3 attempts in all, not 3 on each.
      const perUser: boolean[] = [];
      for (const [i, t] of [a, b, a, b].entries()) perUser.push(await throttled(t, 'guesser', i));
      expect(perUser).toEqual([false, false, false, true]);
      // Three attempts counted so far (the refused one is not); two more users reach the total of 5.
      expect(await throttled(b, 'second', 10)).toBe(false);
      expect(await throttled(a, 'third', 11)).toBe(false);
      expect(await throttled(b, 'fourth', 12)).toBe(true);
      expect(await throttled(a, 'fifth', 13)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await db.close();
      r1.disconnect();
      r2.disconnect();
    }
  });

  it('keeps counting on the instance when Redis fails', async () => {
    const errors: unknown[] = [];
    const broken = { eval: async () => Promise.reject(new Error('redis down')) };
    const limiter = new SharedWindowLimiter(broken, 'x:', 2, 60_000, (err) => errors.push(err));
    const now = Date.now();
    expect([
      await limiter.take('u', now),
      await limiter.take('u', now + 1),
      await limiter.take('u', now + 2),
    ]).toEqual([true, true, false]);
    expect(errors).toHaveLength(3);
  });
});
