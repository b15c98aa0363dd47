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
import {
  encodeBytes,
  generateCoordinatorKeyPair,
  initCrypto,
  type SealReportInput,
  sealReport,
} from '../../src/crypto/index.js';
import { type AcceptSealedResult, createIntake, type Intake, recipientsTag } from '../../src/intake/index.js';
import { loggerOptions } from '../../src/logger.js';
import {
  type ConversationWrite,
  type Database,
  findReportById,
  findReportByReference,
  migrate,
  type NewReport,
  type PendingRow,
  type SealedTo,
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

    /** The inbox's members as `inboxRecipients` reads them: the current set, and one missing its first. */
    async function memberSets(): Promise<{ current: SealedTo; stale: SealedTo; ids: string[] }> {
      const members = await db.query<{ id: string; public_key: string; mac: string | null }>(
        `SELECT c.id, c.public_key, m.mac FROM inbox_members m JOIN coordinators c ON c.id = m.coordinator_id
          WHERE m.inbox_id = 'coordination' AND c.disabled_at IS NULL ORDER BY c.created_at, c.id`,
      );
      return {
        current: sealedTo('coordination', members.rows),
        stale: sealedTo('coordination', members.rows.slice(1)),
        ids: members.rows.map((m) => m.id),
      };
    }

    const newReport = (ids: string[]): NewReport => ({
      id: randomUUID(),
      reference: `R-${randomUUID().slice(0, 6).toUpperCase()}`,
      inboxId: 'coordination',
      flowKind: 'youth',
      channel: 'cli',
      urgency: 'normal',
      envelopeVersion: 1,
      nonce: 'n',
      ciphertext: 'c',
      receivedAt: new Date(),
      keys: ids.map((id) => ({ coordinatorId: id, sealedKey: 'k' })),
    });

    /** Everything a turn's write may change, for one user and one event. */
    async function snapshot(userHash: string, eventHash: string) {
      const one = async (sql: string, params: unknown[] = []) =>
        (await db.query<{ v: unknown }>(sql, params)).rows[0]?.v ?? null;
      return {
        reports: await one('SELECT count(*)::int AS v FROM reports'),
        row: await one(
          "SELECT version::text || ':' || encode(state, 'hex') || ':' || coalesce(outbox_event, '-') AS v FROM conversations WHERE user_hash = $1",
          [userHash],
        ),
        event: await one('SELECT count(*)::int AS v FROM processed_events WHERE event_hash = $1', [
          eventHash,
        ]),
        pending: await one('SELECT count(*)::int AS v FROM pending_replies WHERE user_hash = $1', [userHash]),
      };
    }

    it('writes nothing, in every form of the write, when the members are not the ones the report was sealed to', async () => {
      const { current, stale, ids } = await memberSets();
      const userHash = `h-${randomUUID()}`;
      const version = 2 ** 21;
      const row = (state: number) => ({
        userHash,
        channel: 'cli',
        state: new Uint8Array([state]),
        keyFingerprint: 'f',
        expiresAt: new Date(Date.now() + 60_000),
      });
      const outbox = (eventHash: string): PendingRow => ({
        channel: 'cli',
        eventHash,
        userHash,
        sealed: new Uint8Array([9]),
      });
      const forms: { name: string; write: () => ConversationWrite; pending?: boolean }[] = [
        // A new conversation (the row is inserted), with its outbox entry in the row.
        { name: 'insert', write: () => ({ op: 'save', row: { ...row(1), version } }), pending: true },
        // The row updated from its version (its outbox entry confirmed meanwhile: none left).
        {
          name: 'update',
          write: () => ({ op: 'save', row: row(2), from: { userHash, version, folded: 0 } }),
        },
        // Updated while the row holds an unconfirmed outbox entry (kept in pending_replies by the same write).
        {
          name: 'update keeping an unsent entry',
          write: () => ({
            op: 'save',
            row: row(3),
            from: { userHash, version: version + 1, folded: 0, unsent: true },
          }),
          pending: true,
        },
        // The conversation deleted (the usual submit: the flow ends), its unsent entry kept.
        { name: 'delete', write: () => ({ op: 'delete', userHash, version: version + 2, unsent: true }) },
        // No row, none written.
        { name: 'none', write: () => ({ op: 'none' }) },
      ];
      for (const form of forms) {
        const event = { channel: 'cli', eventHash: `e-${randomUUID()}` };
        const pending = form.pending ? outbox(event.eventHash) : undefined;
        const before = await snapshot(userHash, event.eventHash);
        expect(await writeTurn(db, form.write(), event, pending, newReport(ids), stale), form.name).toBe(
          'recipients_changed',
        );
        expect(await snapshot(userHash, event.eventHash), form.name).toEqual(before);
        expect(await writeTurn(db, form.write(), event, pending, newReport(ids), current), form.name).toBe(
          'ok',
        );
        const after = await snapshot(userHash, event.eventHash);
        expect(after.reports, form.name).toBe(Number(before.reports) + 1);
        expect(after.event, form.name).toBe(1);
      }
    });

    if (backend.name === 'postgres') {
      // Two connections at once: PGlite has one, so the race below cannot happen there.
      it('a coordinator disabled while the report is being written gets nothing: the write waits and sees it', async () => {
        const { current, ids } = await memberSets();
        const userHash = `h-${randomUUID()}`;
        const write: ConversationWrite = {
          op: 'save',
          row: {
            userHash,
            channel: 'cli',
            state: new Uint8Array([1]),
            keyFingerprint: 'f',
            expiresAt: new Date(Date.now() + 60_000),
            version: 2 ** 21,
          },
        };
        const event = { channel: 'cli', eventHash: `e-${randomUUID()}` };
        let written: Promise<string> | undefined;
        let settled = false;
        await db.transaction(async (tx) => {
          // The disable is made, not yet committed, when the report's write starts on another connection.
          await tx.query('UPDATE coordinators SET disabled_at = now() WHERE id = $1', [ids[0]]);
          written = writeTurn(db, write, event, undefined, newReport(ids), current);
          written.then(() => {
            settled = true;
          });
          await new Promise((r) => setTimeout(r, 300));
          // Still waiting for the disable to commit or roll back (a write that went on would be done by now).
          expect(settled).toBe(false);
        });
        expect(await written).toBe('recipients_changed');
        await db.query('UPDATE coordinators SET disabled_at = NULL WHERE id = $1', [ids[0]]);
      });

      it('the same for a report sealed in the browser: the disable is seen, the page is told to seal again', async () => {
        const { ids } = await memberSets();
        const recipients = await intake.service.trustedRecipients(db, 'coordination');
        const reportId = randomUUID();
        const envelope = sealReport({
          reportId,
          payload: { v: 1, answers: { story: 'x' } } as unknown as SealReportInput['payload'],
          recipients,
        });
        let stored: Promise<AcceptSealedResult> | undefined;
        let settled = false;
        await db.transaction(async (tx) => {
          await tx.query('UPDATE coordinators SET disabled_at = now() WHERE id = $1', [ids[0]]);
          stored = intake.service.acceptSealedReport({
            id: reportId,
            reference: `R-${randomUUID().slice(0, 6).toUpperCase()}`,
            inbox: 'coordination',
            kind: 'youth',
            urgency: 'normal',
            recipientsTag: recipientsTag(recipients),
            envelope,
            now: Date.now(),
          });
          stored.then(() => {
            settled = true;
          });
          await new Promise((r) => setTimeout(r, 300));
          expect(settled).toBe(false);
        });
        expect(await stored).toMatchObject({ ok: false, reason: 'stale_recipients' });
        expect((await findReportById(db, reportId)) ?? null).toBeNull();
        await db.query('UPDATE coordinators SET disabled_at = NULL WHERE id = $1', [ids[0]]);
      });
    }
  });
}
