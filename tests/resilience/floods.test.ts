// Floods on a service process: one user sending 100 messages per second is slowed down (per user hash) with
// one notice, while the other users' turns keep their latency; receipt guessing through /suivi is throttled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postUpdate, summarize } from '../../bench/driver.js';
import type { Child } from '../../bench/processes.js';
import { PG_ENABLED } from '../support/databases.js';
import { runUser, SimUser, type World, world } from './support.js';

const FLOOD_NOTICE = 'Trop de messages d’un coup';
const THROTTLED = 'Trop d’essais';

describe.runIf(PG_ENABLED)('floods', () => {
  let w: World;
  let svc: Child;
  let nextId = 9_500_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  beforeAll(async () => {
    w = await world();
    svc = await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  /** 20 users running their flows; the latency of each of their turns. */
  async function others(): Promise<number[]> {
    const users = Array.from({ length: 20 }, () => new SimUser(++nextId, w.fake));
    const runs = await Promise.all(users.map((u) => runUser(w.poster, () => [svc.base], u)));
    for (const u of users) expect(u.reference).toMatch(/^R-/);
    return runs.flat().map((d) => d.ms);
  }

  it('one user at 100 msg/s: slowed with one notice; the others keep their latency', async () => {
    await others(); // warm-up
    const quiet = summarize(await others());
    const flooder = new SimUser(++nextId, w.fake);
    const floodStatuses: number[] = [];
    const flood = (async () => {
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 300; i++) {
        const update = i === 0 ? flooder.text('/start jeune') : flooder.text(`message ${i}`);
        sends.push(
          postUpdate(w.poster, svc.base, update).then((r) => {
            floodStatuses.push(r.status);
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await Promise.all(sends);
    })();
    const loud = summarize(await others());
    await flood;
    // Every update is acknowledged (Telegram must not redeliver them), none crashed anything.
    expect(floodStatuses.every((s) => s === 200)).toBe(true);
    const texts = w.fake.chat(flooder.id).texts;
    expect(texts.filter((t) => t.includes(FLOOD_NOTICE))).toHaveLength(1);
    // At most 30 updates in 10 s got a turn: the flood costs the service little.
    const answered = texts.filter((t) => !t.includes(FLOOD_NOTICE)).length;
    expect(answered).toBeLessThanOrEqual(30 * 3);
    expect(answered).toBeGreaterThan(0);
    // The others: p95 within 3x the quiet p95 (+20 ms of noise on a shared 2-core machine).
    expect(
      loud.p95,
      `quiet p95 ${quiet.p95.toFixed(1)} ms, during the flood ${loud.p95.toFixed(1)} ms`,
    ).toBeLessThan(quiet.p95 * 3 + 20);
  });

  it('receipt guessing through /suivi is throttled per user', async () => {
    const guesser = new SimUser(++nextId, w.fake, [
      { say: '/start jeune' },
      ...Array.from({ length: 8 }, (_, i) => ({
        say: `/suivi ABCD-EFGH-JKMN-PQ${String(i).padStart(2, '0')}`,
      })),
    ]);
    await runUser(w.poster, () => [svc.base], guesser);
    const texts = w.fake.chat(guesser.id).texts;
    const throttled = texts.filter((t) => t.includes(THROTTLED)).length;
    // 5 tries per 15 minutes, then "too many attempts" without looking the receipt up.
    expect(throttled).toBe(3);
  });
});
