/**
 * A chat's report is sealed to the inbox's members as they are when it is stored: the service keeps the
 * members it last sealed to (no read before each submit), and the write stores the report only if the inbox
 * still has exactly those. A coordinator added, disabled, or whose key changed since the last report, by
 * another process (the `intake` command, the inbox) or by hand, is taken into account by the next report.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import { encodeBytes, generateCoordinatorKeyPair, initCrypto } from '../../src/crypto/index.js';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { loggerOptions } from '../../src/logger.js';
import {
  type Database,
  findReportByReference,
  migrate,
  sealedTo,
  setCoordinatorDisabled,
  writeTurn,
} from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, LogCapture, testConfig, testKeyring } from '../helper.js';
import { backends } from '../support/databases.js';
import { runWalk, youthWalk } from '../support/walks.js';

const PASS = 'correct horse battery staple';

/** The statements sent through `db`, counted (the service's own, not the test's). */
function counting(db: Database): { db: Database; sent: string[] } {
  const sent: string[] = [];
  const wrapped = new Proxy(db, {
    get(target, key) {
      if (key === 'query') {
        return (sql: string, ...rest: unknown[]) => {
          sent.push(sql);
          return (target.query as (...a: unknown[]) => unknown)(sql, ...rest);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { db: wrapped, sent };
}

const READS_MEMBERS = /SELECT c\.id, c\.public_key, m\.mac FROM inbox_members/;

for (const backend of backends()) {
  describe(`report recipients [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let intake: Intake;
    let sent: string[];
    const logs = new LogCapture();

    beforeAll(async () => {
      await initCrypto();
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      const counted = counting(db);
      sent = counted.sent;
      intake = await createIntake({
        config: testConfig(),
        db: counted.db,
        masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
        logger: pino(loggerOptions('debug'), logs),
      });
    });
    afterAll(async () => {
      await cleanup?.();
    });

    async function add(login: string): Promise<string> {
      // As `intake coordinator add` would, from another process: the service is not told.
      return createCoordinator(
        db,
        await testKeyring(),
        { name: login, login, inbox: 'coordination', passphrase: PASS },
        ['coordination'],
      );
    }

    async function report(): Promise<{ to: string[]; membersRead: number }> {
      const before = sent.filter((q) => READS_MEMBERS.test(q)).length;
      const walk = await runWalk(intake.service, {
        user: `u-${randomUUID()}`,
        payload: 'jeune',
        lang: 'fr',
        actions: youthWalk((i) => `r${i}`),
      });
      expect(walk.reference).toMatch(/^R-/);
      const row = await findReportByReference(db, walk.reference!);
      const keys = await db.query<{ coordinator_id: string }>(
        'SELECT coordinator_id FROM report_keys WHERE report_id = $1 ORDER BY coordinator_id',
        [row!.id],
      );
      return {
        to: keys.rows.map((r) => r.coordinator_id),
        membersRead: sent.filter((q) => READS_MEMBERS.test(q)).length - before,
      };
    }

    it('reads the members for the first report only, while they do not change', async () => {
      const alice = await add('alice');
      expect(await report()).toEqual({ to: [alice], membersRead: 1 });
      expect(await report()).toEqual({ to: [alice], membersRead: 0 });
      expect(await report()).toEqual({ to: [alice], membersRead: 0 });
    });

    it('seals the next report to a coordinator added meanwhile by another process', async () => {
      const [alice] = (await report()).to;
      const bob = await add('bob');
      const next = await report();
      expect(next.to).toEqual([alice!, bob].sort());
      // The kept members failed the write's check: read again once, then kept again.
      expect(next.membersRead).toBe(1);
      expect(await report()).toEqual({ to: [alice!, bob].sort(), membersRead: 0 });
    });

    it('never seals the next report to a coordinator disabled meanwhile', async () => {
      const before = (await report()).to;
      expect(before.length).toBe(2);
      const [gone, stays] = before as [string, string];
      expect(await setCoordinatorDisabled(db, gone, true)).toBe(true);
      expect((await report()).to).toEqual([stays]);
      await setCoordinatorDisabled(db, gone, false);
      expect((await report()).to).toEqual(before);
    });

    it('never seals to a key swapped in the database meanwhile (its MAC fails: left out, and logged)', async () => {
      const before = (await report()).to;
      const [swapped, stays] = before as [string, string];
      const old = await db.query<{ public_key: string }>(
        'SELECT public_key FROM coordinators WHERE id = $1',
        [swapped],
      );
      await db.query('UPDATE coordinators SET public_key = $2 WHERE id = $1', [
        swapped,
        encodeBytes(generateCoordinatorKeyPair().publicKey),
      ]);
      expect((await report()).to).toEqual([stays]);
      expect(logs.text).toContain('inbox membership fails the integrity check: not sealed to it');
      await db.query('UPDATE coordinators SET public_key = $2 WHERE id = $1', [
        swapped,
        old.rows[0]!.public_key,
      ]);
      expect((await report()).to).toEqual(before);
    });

    it('writes nothing when the members are not the ones the report was sealed to', async () => {
      const members = await db.query<{ id: string; public_key: string; mac: string | null }>(
        `SELECT c.id, c.public_key, m.mac FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
          WHERE m.inbox_id = 'coordination' AND c.disabled_at IS NULL ORDER BY c.created_at, c.id`,
      );
      const current = sealedTo('coordination', members.rows);
      const stale = sealedTo('coordination', members.rows.slice(1));
      const userHash = `h-${randomUUID()}`;
      const reportOf = () => ({
        id: randomUUID(),
        reference: `R-${randomUUID().slice(0, 6).toUpperCase()}`,
        inboxId: 'coordination',
        flowKind: 'youth' as const,
        channel: 'cli',
        urgency: 'normal' as const,
        envelopeVersion: 1,
        nonce: 'n',
        ciphertext: 'c',
        receivedAt: new Date(),
        keys: members.rows.map((m) => ({ coordinatorId: m.id, sealedKey: 'k' })),
      });
      const write = {
        op: 'save' as const,
        row: {
          userHash,
          channel: 'cli',
          state: new Uint8Array([1, 2, 3]),
          keyFingerprint: 'f',
          expiresAt: new Date(Date.now() + 60_000),
          version: 2 ** 21,
        },
      };
      const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n;
      const reports = await count('SELECT count(*)::int AS n FROM reports');
      const event = { channel: 'cli', eventHash: `e-${randomUUID()}` };
      expect(await writeTurn(db, write, event, undefined, reportOf(), stale)).toBe('recipients_changed');
      expect(await count('SELECT count(*)::int AS n FROM reports')).toBe(reports);
      expect(
        await count(`SELECT count(*)::int AS n FROM conversations WHERE user_hash = '${userHash}'`),
      ).toBe(0);
      expect(
        await count(
          `SELECT count(*)::int AS n FROM processed_events WHERE event_hash = '${event.eventHash}'`,
        ),
      ).toBe(0);
      expect(await writeTurn(db, write, event, undefined, reportOf(), current)).toBe('ok');
      expect(await count('SELECT count(*)::int AS n FROM reports')).toBe(reports + 1);
    });
  });
}
