// Restarting PostgreSQL (the machine's cluster, `pg_ctlcluster ... restart`) while 30 conversations run on
// two instances: during the outage the webhook answers 503 with Retry-After; the updates Telegram then
// redelivers are processed exactly once (same transcript as an undisturbed conversation, one report each).
// This suite restarts the shared server: it runs alone, after the main suite.
import { exec } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Child } from '../../bench/processes.js';
import { PG_ENABLED } from '../support/databases.js';
import { type Delivery, normalized, reportCount, runUser, SimUser, type World, world } from './support.js';

/** Restarts the cluster without blocking this process (the simulated users keep sending meanwhile). */
async function restartPostgres() {
  const version = readdirSync('/etc/postgresql')[0];
  await promisify(exec)(`pg_ctlcluster --skip-systemctl-redirect ${version} main restart`);
}

describe.runIf(PG_ENABLED)('database restart under load', () => {
  let w: World;
  let a: Child;
  let b: Child;
  let baseline: string[];
  let nextId = 9_700_000_000 + Math.floor(Math.random() * 1_000_000) * 100;
  beforeAll(async () => {
    w = await world();
    [a, b] = await Promise.all([w.start(), w.start()]);
    const u = new SimUser(++nextId, w.fake);
    await runUser(w.poster, () => [a.base], u);
    baseline = normalized(w.fake.chat(u.id).texts);
  });
  afterAll(async () => {
    await w?.close();
  });

  it('503 during the outage, then every redelivered update processed exactly once', async () => {
    const before = await reportCount(w.db);
    const users = Array.from({ length: 30 }, () => new SimUser(++nextId, w.fake));
    const deliveries: Delivery[] = [];
    const running = Promise.all(
      users.map((u, i) =>
        runUser(w.poster, () => [a.base, b.base], u, {
          offset: i,
          // Slow the conversations down a little so the restart lands in the middle of them.
          onStep: () => new Promise((resolve) => setTimeout(resolve, 40)),
        }).then((d) => deliveries.push(...d)),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 700));
    await restartPostgres();
    await running;
    const refused = deliveries.filter((d) => d.status === 503);
    expect(refused.length, 'some updates were refused during the outage').toBeGreaterThan(0);
    for (const d of refused) expect(Number(d.retryAfter)).toBeGreaterThan(0);
    // Only 200 and 503 (and no dropped connection: both processes stayed up).
    // (0 is a dropped connection.) The message lists what came back, to tell a 500 from a reset.
    const statuses = [...new Set(deliveries.map((d) => d.status))].sort();
    expect(
      deliveries.every((d) => d.status === 200 || d.status === 503),
      `statuses seen: ${statuses.join(', ')}`,
    ).toBe(true);
    expect(a.proc.exitCode).toBeNull();
    expect(b.proc.exitCode).toBeNull();
    for (const u of users) {
      expect(u.reference, `user ${u.id} got a receipt`).toMatch(/^R-/);
      expect(normalized(w.fake.chat(u.id).texts)).toEqual(baseline);
    }
    expect(await reportCount(w.db)).toBe(before + users.length);
  });
});
