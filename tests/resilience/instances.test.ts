// Two service processes on one PostgreSQL database: 50 conversations whose updates go alternately to both
// (and are sometimes delivered twice, to the other instance): every conversation completes, answers come in
// order, one report each, no reply twice. Then kill -9 of one instance mid-conversation: the conversations
// go on on the other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Child } from '../../bench/processes.js';
import { PG_ENABLED } from '../support/databases.js';
import { normalized, reportCount, runUser, SimUser, type World, world } from './support.js';

/** Whether `needle` appears in `hay` in order (other items may be interleaved). */
function isSubsequence(needle: string[], hay: string[]): boolean {
  let i = 0;
  for (const h of hay) if (i < needle.length && h === needle[i]) i++;
  return i === needle.length;
}

describe.runIf(PG_ENABLED)('two instances on one database', () => {
  let w: World;
  let a: Child;
  let b: Child;
  let baseline: string[];
  let nextId = 9_400_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  beforeAll(async () => {
    w = await world();
    [a, b] = await Promise.all([w.start(), w.start()]);
    // One conversation on one instance: the transcript every other conversation must match.
    const u = new SimUser(++nextId, w.fake);
    await runUser(w.poster, () => [a.base], u);
    baseline = normalized(w.fake.chat(u.id).texts);
    expect(u.reference).toMatch(/^R-/);
  });
  afterAll(async () => {
    await w?.close();
  });

  it('50 concurrent conversations alternately on both: complete, in order, one report each, nothing twice', async () => {
    const before = await reportCount(w.db);
    const users = Array.from({ length: 50 }, () => new SimUser(++nextId, w.fake));
    let n = 0;
    await Promise.all(
      users.map((u, i) =>
        runUser(w.poster, () => [a.base, b.base], u, {
          offset: i,
          // Every third update is delivered a second time, to the other instance.
          redeliverTo: () => (++n % 3 === 0 ? (n % 2 ? a.base : b.base) : undefined),
        }),
      ),
    );
    for (const u of users) {
      expect(u.reference, `user ${u.id} got a receipt`).toMatch(/^R-/);
      expect(normalized(w.fake.chat(u.id).texts)).toEqual(baseline);
    }
    expect(await reportCount(w.db)).toBe(before + 50);
    const refs = new Set(users.map((u) => u.reference));
    expect(refs.size).toBe(50);
    const live = await w.db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
    expect(live.rows[0]!.n).toBe(0);
  });

  it('kill -9 of an instance mid-conversation: the conversations continue on the other', async () => {
    const before = await reportCount(w.db);
    const users = Array.from({ length: 10 }, () => new SimUser(++nextId, w.fake));
    // First half of each conversation on A.
    await Promise.all(users.map((u) => runUser(w.poster, () => [a.base], u, { untilStep: 7 })));
    // The second half goes to both, alternately; A is killed while updates are in flight to it. Telegram
    // redelivers an update that got no answer (here to the other instance, behind the load balancer).
    let aAlive = true;
    const rest = Promise.all(
      users.map((u, i) => runUser(w.poster, () => (aAlive ? [a.base, b.base] : [b.base]), u, { offset: i })),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    a.proc.kill('SIGKILL');
    await a.exited;
    aAlive = false;
    await rest;
    for (const u of users) {
      expect(u.reference, `user ${u.id} got a receipt`).toMatch(/^R-/);
      // Replies committed on the killed instance but not confirmed sent come again with the redelivery
      // (outbox): nothing is missing, and a message may come twice, never a message that should not.
      const texts = normalized(w.fake.chat(u.id).texts);
      expect(isSubsequence(baseline, texts), `user ${u.id}: every expected message, in order`).toBe(true);
      expect(texts.every((t) => baseline.includes(t))).toBe(true);
    }
    expect(await reportCount(w.db)).toBe(before + 10);
    // B is healthy.
    const ready = await fetch(`${b.base}/readyz`);
    expect(ready.status).toBe(200);
  });
});
