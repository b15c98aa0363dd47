// The person's answer with a receipt (issue 15, "Follow-up"): POST /api/v1/public/replies says where to
// seal it, POST /api/v1/public/followups takes it sealed. Real crypto, the embedded database and PostgreSQL
// when DATABASE_URL is set: bad bodies (400, nothing stored), oversize (413), stale keys or report id (409
// with a fresh target, then a retry succeeds), replays (409), floods per IP and in total (429), an unknown
// code answers like a known one from outside (and its message is discarded), the coordinator opens the
// message (unlock + openFollowUp, and through the inbox API), the queue flags it (closed cases included),
// the audit trail records it, and a canary typed in the message is in no table and no log line.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, grantAccess, showReport, unlock } from '../../src/coordinators/index.js';
import {
  generateReceipt,
  initCrypto,
  openDataKey,
  openFollowUp,
  ReportDecryptError,
  receiptLookupHash,
  resealDataKey,
  sealFollowUp,
} from '../../src/crypto/index.js';
import { purge } from '../../src/intake/retention.js';
import type { Database } from '../../src/store/index.js';
import { findReportByReference, markFollowUpsSeen } from '../../src/store/index.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { call, login } from '../inbox/support.js';
import { dumpDatabase, findMarkers } from '../support/canary.js';
import { backends } from '../support/databases.js';
import { fileFromChat } from '../support/replies.js';

const PASSPHRASE = 'brume matinale sur le canal 93';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Target {
  reportId: string;
  recipients: { coordinatorId: string; publicKey: string }[];
  recipientsTag: string;
}

let ipCounter = 0;
/** A fresh client address, so that the per-IP limits stay out of the way unless a test wants them. */
const nextIp = () => `198.51.${Math.floor(++ipCounter / 250)}.${(ipCounter % 250) + 1}`;

function inject(app: FastifyInstance, url: string, payload: unknown, remoteAddress = nextIp()) {
  return app.inject({
    method: 'POST',
    url: `/api/v1/public/${url}`,
    payload: payload as object,
    remoteAddress,
  });
}

/** What the page does after "Lire les réponses": the lookup hash only, and where to seal an answer. */
async function targetOf(app: FastifyInstance, receipt: string): Promise<Target> {
  const res = await inject(app, 'replies', { lookupHash: receiptLookupHash(receipt) });
  expect(res.statusCode).toBe(200);
  return (res.json() as { to: Target }).to;
}

/** The body the page sends: the message sealed in the page to the target. */
function followUpBody(receipt: string, to: Target, text: string, messageId = randomUUID()) {
  return {
    lookupHash: receiptLookupHash(receipt),
    reportId: to.reportId,
    messageId,
    recipientsTag: to.recipientsTag,
    envelope: sealFollowUp({
      reportId: to.reportId,
      messageId,
      payload: { text },
      recipients: to.recipients,
    }),
  };
}

async function count(db: Database, table: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return Number(r.rows[0]!.n);
}

async function stored(db: Database) {
  return {
    followups: await count(db, 'report_followups'),
    keys: await count(db, 'report_followup_keys'),
    discards: await count(db, 'followup_discards'),
  };
}

for (const backend of backends()) {
  describe(`web follow-up messages (${backend.name})`, () => {
    let t: TestApp;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      await initCrypto();
      const opened = await backend.open();
      cleanup = opened.cleanup;
      t = await buildTestApp({
        db: opened.db,
        config: testConfig({ web: { followUpsPerIpPerHour: 5, followUpBodyLimitBytes: 65_536 } }),
      });
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
    }, 120_000);
    afterAll(async () => {
      await t?.close();
      await cleanup?.();
    });

    it('seals to the report and its inbox; the coordinator opens it; the queue flags it until the case is opened', async () => {
      const { row, receipt } = await fileFromChat(t, 'tg-followup');
      const to = await targetOf(t.app, receipt);
      expect(to.reportId).toBe(row.id);
      const bob = await unlock(t.db, t.keyring, 'bob', PASSPHRASE);
      expect(to.recipients).toEqual([
        { coordinatorId: bob.coordinator.id, publicKey: expect.any(String) as unknown as string },
      ]);

      const text = 'Il est revenu hier soir. Je peux parler mardi.';
      const body = followUpBody(receipt, to, text);
      const res = await inject(t.app, 'followups', body);
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toEqual({ ok: true });
      expect(res.headers['cache-control']).toBe('no-store');

      // The coordinator's side (as the CLI's showReport does): their key pair opens it, bound to the report
      // and to the message id.
      const stored = await t.db.query<{ id: string; nonce: string; ciphertext: string; sealed_key: string }>(
        `SELECT f.id, f.nonce, f.ciphertext, k.sealed_key FROM report_followups f
           JOIN report_followup_keys k ON k.followup_id = f.id WHERE f.report_id = $1`,
        [row.id],
      );
      expect(stored.rows).toHaveLength(1);
      const m = stored.rows[0]!;
      expect(m.id).toBe(body.messageId);
      const message = { v: 1, reportId: row.id, messageId: m.id, ...m, sealedKey: m.sealed_key };
      expect(openFollowUp(message, bob.keyPair)).toEqual({ text });
      expect(() => openFollowUp({ ...message, messageId: randomUUID() }, bob.keyPair)).toThrow(
        ReportDecryptError,
      );
      expect(() => openFollowUp({ ...message, reportId: randomUUID() }, bob.keyPair)).toThrow(
        ReportDecryptError,
      );
      bob.keyPair.privateKey.fill(0);

      // The inbox: the queue flags the case, the case lists the message sealed with bob's key.
      const s = await login(t.app, 'bob', PASSPHRASE);
      const queue = await call(t.app, s, 'GET', '/api/v1/reports?newFollowUp=true');
      expect(queue.statusCode).toBe(200);
      const items = (queue.json() as { items: { reference: string; newFollowUp: boolean }[] }).items;
      expect(items.map((i) => i.reference)).toEqual([row.reference]);
      expect(items[0]!.newFollowUp).toBe(true);
      const detail = await call(t.app, s, 'GET', `/api/v1/reports/${row.reference}`);
      const followUps = (detail.json() as { followUps: { id: string; sealedKey: string }[] }).followUps;
      expect(followUps.map((f) => f.id)).toEqual([body.messageId]);
      expect(followUps[0]!.sealedKey).toBe(m.sealed_key);
      const after = await call(t.app, s, 'GET', '/api/v1/reports?newFollowUp=true');
      expect((after.json() as { items: unknown[] }).items).toEqual([]);

      // A closed case with a new message shows again.
      await t.db.query("UPDATE reports SET status = 'clos', closed_at = now() WHERE id = $1", [row.id]);
      const again = await inject(t.app, 'followups', followUpBody(receipt, to, 'Encore une chose.'));
      expect(again.statusCode).toBe(201);
      const reopened = await call(t.app, s, 'GET', '/api/v1/reports?newFollowUp=true');
      expect((reopened.json() as { items: { reference: string }[] }).items.map((i) => i.reference)).toEqual([
        row.reference,
      ]);
      // Seen by a member to whom the message was not sealed: still new for the others.
      await markFollowUpsSeen(t.db, row.id, randomUUID());
      const stillNew = await call(t.app, s, 'GET', '/api/v1/reports?newFollowUp=true');
      expect((stillNew.json() as { items: { reference: string }[] }).items.map((i) => i.reference)).toEqual([
        row.reference,
      ]);

      // The audit trail: who (nobody: the submitter), which case, nothing else.
      const audit = await t.db.query<{ actor_id: string | null; detail: string | null }>(
        "SELECT actor_id, detail FROM audit_log WHERE action = 'followup' AND report_reference = $1",
        [row.reference],
      );
      expect(audit.rows).toEqual([
        { actor_id: null, detail: null },
        { actor_id: null, detail: null },
      ]);

      // Retention counts from the last message: closed long ago but written to since, the case stays.
      await t.db.query("UPDATE reports SET closed_at = now() - interval '400 days' WHERE id = $1", [row.id]);
      await purge(t.db, t.config);
      expect(await findReportByReference(t.db, row.reference)).toBeDefined();
      await t.db.query("UPDATE reports SET last_followup_at = now() - interval '400 days' WHERE id = $1", [
        row.id,
      ]);
      await purge(t.db, t.config);
      expect(await findReportByReference(t.db, row.reference)).toBeUndefined();
      expect(
        (await t.db.query('SELECT id FROM report_followups WHERE report_id = $1', [row.id])).rows,
      ).toEqual([]);
    }, 120_000);

    it('answers an unknown code like a known one, and discards its message', async () => {
      const { receipt } = await fileFromChat(t, 'tg-known');
      const unknownCode = generateReceipt();
      const known = await inject(t.app, 'replies', { lookupHash: receiptLookupHash(receipt) });
      const unknown = await inject(t.app, 'replies', { lookupHash: receiptLookupHash(unknownCode) });
      expect(unknown.statusCode).toBe(known.statusCode);
      const k = known.json() as { replies: unknown[]; to: Target };
      const u = unknown.json() as { replies: unknown[]; to: Target };
      expect(Object.keys(u).sort()).toEqual(Object.keys(k).sort());
      expect(u.replies).toEqual(k.replies);
      // The same keys (the default youth inbox is the report's), a report id of the same shape, stable.
      expect(u.to.recipients).toEqual(k.to.recipients);
      expect(u.to.recipientsTag).toBe(k.to.recipientsTag);
      expect(k.to.reportId).toMatch(UUID_V4);
      expect(u.to.reportId).toMatch(UUID_V4);
      expect((await targetOf(t.app, unknownCode)).reportId).toBe(u.to.reportId);
      expect((await targetOf(t.app, generateReceipt())).reportId).not.toBe(u.to.reportId);

      const before = await stored(t.db);
      // Coordinators are nudged (queue metadata only) for the known code's message, not for the decoy's.
      const nudged: { reference: string; inbox: string }[] = [];
      t.app.intake.pipeline.service.onFollowUp((n) => nudged.push(n));
      const bodies = [followUpBody(receipt, k.to, 'connu'), followUpBody(unknownCode, u.to, 'inconnu')];
      const first = await Promise.all(bodies.map((b) => inject(t.app, 'followups', b)));
      expect(first.map((r) => [r.statusCode, r.body])).toEqual([
        [201, '{"ok":true}'],
        [201, '{"ok":true}'],
      ]);
      const after = await stored(t.db);
      expect(after.followups).toBe(before.followups + 1);
      expect(after.discards).toBe(before.discards + 1);
      await expect.poll(() => nudged.length).toBe(1);
      const knownRow = (
        await t.db.query<{ reference: string }>(
          'SELECT r.reference FROM reports r JOIN report_followups f ON f.report_id = r.id WHERE f.id = $1',
          [bodies[0]!.messageId],
        )
      ).rows[0]!;
      expect(nudged[0]).toEqual({
        reference: knownRow.reference,
        inbox: 'coordination',
        urgency: expect.any(String),
        kind: expect.any(String),
      });

      // A replay of the same message id: refused alike.
      const replays = await Promise.all(bodies.map((b) => inject(t.app, 'followups', b)));
      expect(replays.map((r) => [r.statusCode, r.body])).toEqual([
        [409, '{"error":"duplicate"}'],
        [409, '{"error":"duplicate"}'],
      ]);
      // The same id resealed for another report is refused too (ids are never reused).
      const reused = followUpBody(receipt, k.to, 'autre', bodies[1]!.messageId);
      expect((await inject(t.app, 'followups', reused)).statusCode).toBe(409);
      expect(await stored(t.db)).toEqual(after);
    }, 60_000);

    it('refuses stale keys or a wrong report id with a fresh target (409), then takes the resealed message', async () => {
      const { row, receipt } = await fileFromChat(t, 'tg-stale');
      const to = await targetOf(t.app, receipt);
      for (const code of [receipt, generateReceipt()]) {
        const real = await targetOf(t.app, code);
        const stale = [
          { ...real, recipientsTag: 'AAAA' },
          { ...real, reportId: randomUUID() },
        ];
        for (const wrong of stale) {
          const res = await inject(t.app, 'followups', followUpBody(code, wrong, 'message'));
          expect(res.statusCode).toBe(409);
          expect(res.json()).toEqual({ error: 'stale_recipients', to: real });
        }
      }
      // A message sealed to the report's keys but missing a recipient is stale too.
      const alice = await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Alice Coord', login: 'alice', inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
      const retry = await inject(t.app, 'followups', followUpBody(receipt, to, 'après un ajout'));
      expect(retry.statusCode).toBe(409);
      const fresh = (retry.json() as { to: Target }).to;
      expect(fresh.reportId).toBe(row.id);
      expect(fresh.recipients.map((r) => r.coordinatorId)).toContain(alice);
      expect((await inject(t.app, 'followups', followUpBody(receipt, fresh, 'resealed'))).statusCode).toBe(
        201,
      );
      await t.db.query('DELETE FROM inbox_members WHERE coordinator_id = $1', [alice]);
    }, 60_000);

    it('a coordinator given access later reads the earlier messages (grant, CLI and admin API)', async () => {
      const { row, receipt } = await fileFromChat(t, 'tg-grant');
      const body = followUpBody(receipt, await targetOf(t.app, receipt), 'Message avant ton arrivée.');
      expect((await inject(t.app, 'followups', body)).statusCode).toBe(201);
      // Carol joins afterwards: the message was not sealed to her.
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Carol Coord', login: 'carol', inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
      const carol = await unlock(t.db, t.keyring, 'carol', PASSPHRASE);
      await expect(showReport(t.db, carol, row.reference)).rejects.toThrow(/not sealed to you/);
      // Bob grants (intake coordinator grant): the reports' and the messages' data keys are re-sealed.
      const bob = await unlock(t.db, t.keyring, 'bob', PASSPHRASE);
      const granted = await grantAccess(t.db, bob, 'carol', 'coordination', t.keyring);
      expect(granted.messages).toBeGreaterThan(0);
      const shown = await showReport(t.db, carol, row.reference);
      expect(shown.followUps.map((f) => f.text)).toEqual(['Message avant ton arrivée.']);

      // The admin API does the same in the admin's browser: keys of the messages listed and re-sealed.
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Dana Admin', login: 'dana', inbox: 'coordination', passphrase: PASSPHRASE, role: 'admin' },
        ['coordination'],
      );
      const later = followUpBody(receipt, await targetOf(t.app, receipt), 'Un autre message.');
      expect((await inject(t.app, 'followups', later)).statusCode).toBe(201);
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Eli Coord', login: 'eli', inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
      const dana = await unlock(t.db, t.keyring, 'dana', PASSPHRASE);
      const eli = await unlock(t.db, t.keyring, 'eli', PASSPHRASE);
      const s = await login(t.app, 'dana', PASSPHRASE);
      const mine = (await call(t.app, s, 'GET', '/api/v1/admin/inboxes/coordination/keys')).json() as {
        items: { reportId: string; sealedKey: string | null }[];
        followUps: { followUpId: string; sealedKey: string | null }[];
      };
      const reseal = (sealedKey: string) => {
        const k = openDataKey(sealedKey, dana.keyPair);
        const out = resealDataKey(k, eli.keyPair.publicKey);
        k.fill(0);
        return out;
      };
      const followUpKeys = mine.followUps
        .filter((f) => f.sealedKey)
        .map((f) => ({ followUpId: f.followUpId, sealedKey: reseal(f.sealedKey!) }));
      expect(followUpKeys.map((k) => k.followUpId)).toContain(later.messageId);
      const stray = await call(t.app, s, 'POST', '/api/v1/admin/grants', {
        coordinatorId: eli.coordinator.id,
        inbox: 'coordination',
        keys: [],
        followUpKeys: [{ followUpId: randomUUID(), sealedKey: 'A'.repeat(80) }],
      });
      expect(stray.statusCode).toBe(400);
      const grant = await call(t.app, s, 'POST', '/api/v1/admin/grants', {
        coordinatorId: eli.coordinator.id,
        inbox: 'coordination',
        keys: mine.items
          .filter((k) => k.sealedKey)
          .map((k) => ({ reportId: k.reportId, sealedKey: reseal(k.sealedKey!) })),
        followUpKeys,
      });
      expect(grant.statusCode, grant.body).toBe(200);
      // Dana joined after the report (she has no key to it to hand on) but before this message: Eli opens
      // the message, as the case view does with the inbox API's followUps.
      const mineNow = await t.db.query<{ nonce: string; ciphertext: string; sealed_key: string }>(
        `SELECT f.nonce, f.ciphertext, k.sealed_key FROM report_followups f
           JOIN report_followup_keys k ON k.followup_id = f.id AND k.coordinator_id = $2 WHERE f.id = $1`,
        [later.messageId, eli.coordinator.id],
      );
      const m = mineNow.rows[0]!;
      expect(
        openFollowUp(
          { v: 1, reportId: row.id, messageId: later.messageId, ...m, sealedKey: m.sealed_key },
          eli.keyPair,
        ),
      ).toEqual({ text: 'Un autre message.' });
      for (const u of [carol, bob, dana, eli]) u.keyPair.privateKey.fill(0);
    }, 120_000);

    it('is documented in the OpenAPI document', async () => {
      const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
      const route = doc.paths['/api/v1/public/followups'];
      expect(route?.post?.description).toContain('never the code, never the text');
      expect(Object.keys(route.post.responses).sort()).toEqual(['201', '400', '409', '413', '429', '503']);
      expect(doc.paths['/api/v1/public/replies'].post.description).toContain('decoy');
    });

    it('refuses bad bodies (400) and oversize ones (413), storing nothing', async () => {
      const receipt = generateReceipt();
      const to = await targetOf(t.app, receipt);
      const good = followUpBody(receipt, to, 'valide');
      const before = await stored(t.db);
      const bad: unknown[] = [
        {},
        { ...good, lookupHash: 'ABCD' },
        { ...good, receipt },
        { ...good, text: 'en clair' },
        { ...good, reportId: 'R-ABCDEF' },
        { ...good, messageId: 'x' },
        { ...good, envelope: { ...good.envelope, v: 2 } },
        { ...good, envelope: { ...good.envelope, keys: [] } },
        { ...good, envelope: { ...good.envelope, ciphertext: 'pas base64!' } },
        { ...good, envelope: { ...good.envelope, nonce: 'AAAA' } },
        { ...good, envelope: { ...good.envelope, extra: 1 } },
        { ...good, envelope: { ...good.envelope, ciphertext: 'A'.repeat(30_001) } },
      ];
      for (const payload of bad) {
        const res = await inject(t.app, 'followups', payload);
        expect(res.statusCode, JSON.stringify(payload).slice(0, 120)).toBe(400);
      }
      const big = await inject(t.app, 'followups', { ...good, padding: 'x'.repeat(70_000) });
      expect(big.statusCode).toBe(413);
      expect(await stored(t.db)).toEqual(before);
    });

    it('limits messages per client IP (429)', async () => {
      const receipt = generateReceipt();
      const to = await targetOf(t.app, receipt);
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        codes.push(
          (await inject(t.app, 'followups', followUpBody(receipt, to, `m${i}`), '192.0.2.66')).statusCode,
        );
      }
      expect(codes).toEqual([201, 201, 201, 201, 201, 429]);
      expect(
        (await inject(t.app, 'followups', followUpBody(receipt, to, 'ok'), '192.0.2.67')).statusCode,
      ).toBe(201);
    });

    it('never stores or logs the text, the code or its lookup hash (canary)', async () => {
      const { receipt } = await fileFromChat(t, 'tg-canary');
      const marker = `CANARY-FOLLOWUP-${randomUUID()}`;
      const to = await targetOf(t.app, receipt);
      const body = followUpBody(receipt, to, `Le canari: ${marker}`);
      expect((await inject(t.app, 'followups', body)).statusCode).toBe(201);
      const unknownCode = generateReceipt();
      const decoy = await targetOf(t.app, unknownCode);
      const marker2 = `CANARY-DISCARDED-${randomUUID()}`;
      expect((await inject(t.app, 'followups', followUpBody(unknownCode, decoy, marker2))).statusCode).toBe(
        201,
      );
      const dump = (await dumpDatabase(t.db)).map((d) => ({ where: `${d.table}.${d.column}`, text: d.text }));
      const logs = t.logs.lines.map((line, i) => ({ where: `log line ${i}`, text: line }));
      const markers = [
        marker,
        marker2,
        receipt,
        unknownCode,
        body.lookupHash,
        receiptLookupHash(unknownCode),
      ];
      expect(findMarkers([...dump, ...logs], markers)).toEqual([]);
      expect(t.logs.text).toContain('sealed follow-up accepted');
    }, 60_000);
  });
}

describe('web follow-up messages in total', () => {
  it('limits messages from every address together (429)', async () => {
    await initCrypto();
    const t = await buildTestApp({ config: testConfig({ web: { followUpsPerMinute: 2 } }) });
    try {
      await createCoordinator(
        t.db,
        t.keyring,
        { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASSPHRASE },
        ['coordination'],
      );
      const receipt = generateReceipt();
      const to = await targetOf(t.app, receipt);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push(
          (await inject(t.app, 'followups', followUpBody(receipt, to, `m${i}`), `192.0.2.${i + 1}`))
            .statusCode,
        );
      }
      expect(codes).toEqual([201, 201, 429]);
    } finally {
      await t.close();
    }
  }, 60_000);
});
