/**
 * The stored queue of Teams new-case notices (migration 0008): batching on enqueue, claims that hand each
 * row to one claimer even when two instances (two pools on PostgreSQL) claim at once, leases, retries, the
 * purge, and rows that go with their report.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimTeamsNotices,
  type Database,
  deleteTeamsNotices,
  enqueueTeamsNotice,
  insertReport,
  migrate,
  nextTeamsNoticeWait,
  openEmbedded,
  openPostgres,
  purgeTeamsNotices,
  retryTeamsNotices,
  type TeamsNoticeInput,
} from '../../src/store/index.js';
import { createPgDatabase, PG_ENABLED } from '../support/databases.js';

interface Instances {
  name: string;
  /** Two handles on one database: two pools on PostgreSQL, the same PGlite when embedded. */
  a: Database;
  b: Database;
  cleanup(): Promise<void>;
}

async function embedded(): Promise<Instances> {
  const db = await openEmbedded();
  return { name: 'embedded', a: db, b: db, cleanup: () => db.close() };
}

async function postgres(): Promise<Instances> {
  const tdb = await createPgDatabase();
  const a = openPostgres({ connectionString: tdb.url });
  const b = openPostgres({ connectionString: tdb.url });
  return {
    name: 'postgres',
    a,
    b,
    async cleanup() {
      await a.close();
      await b.close();
      await tdb.drop();
    },
  };
}

const openers = [embedded, ...(PG_ENABLED ? [postgres] : [])];

for (const open of openers) {
  describe(`teams notices queue [${open.name}]`, () => {
    let x: Instances;
    let counter = 0;

    beforeAll(async () => {
      x = await open();
      await migrate(x.a);
    });
    afterAll(async () => {
      await x?.cleanup();
    });

    /** A report row (the notice references it) and its notice input. */
    async function report(
      inbox = 'coordination',
      urgency: TeamsNoticeInput['urgency'] = 'normal',
    ): Promise<TeamsNoticeInput> {
      counter += 1;
      const reference = `R-T${String(counter).padStart(5, '0')}`;
      await insertReport(x.a, {
        id: randomUUID(),
        reference,
        inboxId: inbox,
        flowKind: 'professional',
        channel: 'teams',
        urgency,
        envelopeVersion: 1,
        nonce: 'n',
        ciphertext: 'c',
        receivedAt: new Date(),
        keys: [],
      });
      return { reference, inbox, urgency, kind: 'professional' };
    }

    async function clear() {
      await x.a.query('DELETE FROM teams_notices');
    }

    it('groups non-immediate notices of an inbox into one batch, and makes immediate ones due now', async () => {
      await clear();
      const first = await enqueueTeamsNotice(x.a, await report('coordination'), 300);
      expect(first).toBeGreaterThan(290_000);
      expect(first).toBeLessThanOrEqual(300_000);
      await enqueueTeamsNotice(x.b, await report('coordination'), 300);
      await enqueueTeamsNotice(x.a, await report('other'), 600);
      expect(await enqueueTeamsNotice(x.a, await report('coordination', 'immediate'), 0)).toBe(0);
      const rows = await x.a.query<{ inbox_id: string; urgency: string; due_at: Date }>(
        'SELECT inbox_id, urgency, due_at FROM teams_notices ORDER BY id',
      );
      const due = rows.rows.map((r) => new Date(r.due_at).getTime());
      expect(due[1]).toBe(due[0]); // joined the open batch of its inbox
      expect(due[2]! - due[0]!).toBeGreaterThan(200_000); // another inbox, its own batch
      expect(due[3]!).toBeLessThan(due[0]!); // immediate
      expect(await nextTeamsNoticeWait(x.a)).toBe(0);
      // Only the immediate one is due.
      const claimed = await claimTeamsNotices(x.a, 60, 100);
      expect(claimed.map((r) => r.urgency)).toEqual(['immediate']);
      expect(claimed[0]!.attempts).toBe(1);
      // While claimed, it is not due again before its lease ends.
      const leased = await nextTeamsNoticeWait(x.a);
      expect(leased).toBeGreaterThan(30_000);
      expect(leased).toBeLessThanOrEqual(60_000);
      // Sent: the next wake-up is the first batch.
      await deleteTeamsNotices(x.a, [claimed[0]!.id]);
      const wait = await nextTeamsNoticeWait(x.a);
      expect(wait).toBeGreaterThan(200_000);
    });

    it('hands each due notice to one claimer when two claim at once', async () => {
      await clear();
      const total = 60;
      for (let i = 0; i < total; i++) await enqueueTeamsNotice(x.a, await report(`inbox-${i % 3}`), 0);
      const claimers = [x.a, x.b, x.a, x.b].map(async (db) => {
        const got: number[] = [];
        for (;;) {
          const rows = await claimTeamsNotices(db, 60, 7);
          if (rows.length === 0) return got;
          got.push(...rows.map((r) => r.id));
        }
      });
      const ids = (await Promise.all(claimers)).flat();
      expect(ids).toHaveLength(total);
      expect(new Set(ids).size).toBe(total);
      // Claimed (leased): nobody else gets them, and nothing is due until the lease ends.
      expect(await claimTeamsNotices(x.b, 60, 100)).toEqual([]);
      expect(await nextTeamsNoticeWait(x.a)).toBeGreaterThan(30_000);
    });

    it('gives a notice back after a failed attempt, and again once a claim expires', async () => {
      await clear();
      await enqueueTeamsNotice(x.a, await report(), 0);
      const [first] = await claimTeamsNotices(x.a, 60, 10);
      expect(first).toBeDefined();
      await retryTeamsNotices(x.a, [first!.id], 0);
      const [second] = await claimTeamsNotices(x.b, 0, 10); // a claim that expires at once
      expect(second?.id).toBe(first!.id);
      expect(second?.attempts).toBe(2);
      const [third] = await claimTeamsNotices(x.a, 60, 10); // the claimer "died": claimed again
      expect(third?.id).toBe(first!.id);
      expect(third?.attempts).toBe(3);
      await deleteTeamsNotices(x.a, [first!.id]);
      const left = await x.a.query('SELECT id, due_at, claimed_until FROM teams_notices');
      expect(left.rows).toEqual([]);
      expect(await nextTeamsNoticeWait(x.a)).toBeUndefined();
    });

    it('goes with its report, and the purge drops notices long overdue', async () => {
      await clear();
      const gone = await report();
      await enqueueTeamsNotice(x.a, gone, 300);
      await x.a.query('DELETE FROM reports WHERE reference = $1', [gone.reference]);
      await enqueueTeamsNotice(x.a, await report(), 0);
      const r = await x.a.query<{ n: number }>('SELECT count(*)::int AS n FROM teams_notices');
      expect(r.rows[0]!.n).toBe(1);
      expect(await purgeTeamsNotices(x.a, new Date(Date.now() - 3_600_000))).toBe(0);
      expect(await purgeTeamsNotices(x.a, new Date(Date.now() + 60_000))).toBe(1);
    });

    it('holds only queue metadata', async () => {
      const columns = await x.a.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'teams_notices' ORDER BY column_name`,
      );
      expect(columns.rows.map((c) => c.column_name)).toEqual([
        'attempts',
        'claimed_until',
        'created_at',
        'due_at',
        'flow_kind',
        'id',
        'inbox_id',
        'reference',
        'urgency',
        'what',
      ]);
    });
  });
}
