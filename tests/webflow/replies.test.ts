// "J'ai déjà un code" on the web flow's public API (POST /api/v1/public/replies): the page sends the
// receipt's lookup hash only and gets back the salt and the sealed replies the server verified; an unknown
// code and a code without replies get the same answer; a code from a chat works too (also one filed before
// chats stored the web form of the tag, once /suivi has moved it); per-IP and total limits (429).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import {
  decodeBytes,
  generateReceipt,
  initCrypto,
  openReply,
  receiptKeyPair,
  receiptLookupHash,
  receiptLookupTag,
  sealReply,
} from '../../src/crypto/index.js';
import { createIntake } from '../../src/intake/index.js';
import { openEmbedded } from '../../src/store/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp, testConfig } from '../helper.js';
import { followUp } from '../inbox/support.js';
import { fileFromChat, insertSignedReply } from '../support/replies.js';

const PASSPHRASE = 'brume matinale sur le canal 93';

function lookup(app: FastifyInstance, payload: unknown, remoteAddress = '203.0.113.50') {
  return app.inject({
    method: 'POST',
    url: '/api/v1/public/replies',
    payload: payload as object,
    remoteAddress,
  });
}

describe('web follow-up: POST /api/v1/public/replies', () => {
  let t: TestApp;
  let ip = 0;
  /** A fresh client address per request, so that the per-IP limit stays out of the way. */
  const nextIp = () => `198.51.100.${++ip}`;

  beforeAll(async () => {
    await initCrypto();
    t = await buildTestApp({ config: testConfig() });
    await createCoordinator(
      t.db,
      t.keyring,
      { name: 'Bob Coord', login: 'bob', inbox: 'coordination', passphrase: PASSPHRASE },
      ['coordination'],
    );
  }, 120_000);
  afterAll(async () => t?.close());

  it('answers an unknown code and a code without replies the same way', async () => {
    const unknown = await lookup(t.app, { lookupHash: receiptLookupHash(generateReceipt()) }, nextIp());
    expect(unknown.statusCode).toBe(200);
    expect(unknown.headers['cache-control']).toBe('no-store');
    const { receipt } = await fileFromChat(t, 'tg-none');
    const none = await lookup(t.app, { lookupHash: receiptLookupHash(receipt) }, nextIp());
    expect(none.statusCode).toBe(200);
    // The same answer but for the report id an answer would be sealed to (the unknown code's is a stable
    // keyed decoy of the same shape: tests/webflow/followups.test.ts).
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const withoutId = (body: string) => body.replace(/"reportId":"[0-9a-f-]{36}"/, '"reportId":"…"');
    expect(withoutId(none.body)).toBe(withoutId(unknown.body));
    expect(unknown.json()).toEqual({
      replies: [],
      to: {
        reportId: expect.stringMatching(uuid),
        recipients: [expect.any(Object)],
        recipientsTag: expect.any(String),
      },
    });
    expect(none.json().to.reportId).toMatch(uuid);
  }, 60_000);

  it('refuses anything but a lookup hash (400), in particular a receipt', async () => {
    const receipt = generateReceipt();
    for (const payload of [
      {},
      { lookupHash: 'ABCD' },
      { receipt },
      { lookupHash: receiptLookupHash(receipt), receipt },
    ]) {
      expect((await lookup(t.app, payload, nextIp())).statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('returns the salt and the signed replies of a chat receipt; the page opens them; forgeries are left out', async () => {
    const { row, receipt } = await fileFromChat(t, 'tg-reply');
    // The chat stored the web form of the tag: the lookup hash alone finds the report.
    await insertSignedReply(t.db, {
      reportId: row.id,
      receiptPublicKey: row.receipt_public_key!,
      text: 'Bonjour, ici la coordination. On peut en parler.',
      login: 'bob',
      passphrase: PASSPHRASE,
    });
    // A reply written into the database without a valid signature is never handed out.
    const bob = (await t.db.query<{ id: string }>("SELECT id FROM coordinators WHERE login = 'bob'"))
      .rows[0]!;
    await t.db.query(
      'INSERT INTO report_replies (id, report_id, sealed, author_id, signature) VALUES ($1, $2, $3, $4, $5)',
      [randomUUID(), row.id, sealReply(row.receipt_public_key!, 'faux message'), bob.id, 'AAAA'],
    );
    const res = await lookup(t.app, { lookupHash: receiptLookupHash(receipt) }, nextIp());
    expect(res.statusCode).toBe(200);
    const body = res.json() as { salt: string; replies: { sealed: string; sentAt: string }[] };
    expect(Object.keys(body).sort()).toEqual(['replies', 'salt', 'to']);
    expect(body.salt).toBe(row.receipt_salt);
    expect(body.replies).toHaveLength(1);
    expect(body.replies[0]!.sentAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const kp = receiptKeyPair(receipt, decodeBytes(body.salt));
    expect(openReply(kp, body.replies[0]!.sealed)).toBe('Bonjour, ici la coordination. On peut en parler.');
    expect(t.logs.text).toContain('reply fails signature verification');
    expect(t.logs.text).not.toContain(receipt);
  }, 60_000);

  it('finds a chat report stored with the older chat form of the tag once /suivi has moved it', async () => {
    const { row, receipt } = await fileFromChat(t, 'tg-legacy');
    await insertSignedReply(t.db, {
      reportId: row.id,
      receiptPublicKey: row.receipt_public_key!,
      text: 'Réponse à un ancien signalement.',
      login: 'bob',
      passphrase: PASSPHRASE,
    });
    // Before the web lookup, chats stored the keyed hash of the receipt itself: the server cannot compute
    // it from a lookup hash, so the web cannot find such a report yet.
    await t.db.query('UPDATE reports SET receipt_tag = $2 WHERE id = $1', [
      row.id,
      receiptLookupTag(t.keyring.current, receipt),
    ]);
    const before = await lookup(t.app, { lookupHash: receiptLookupHash(receipt) }, nextIp());
    expect(before.json().replies).toEqual([]);
    // /suivi in the chat still reads it (both forms), and moves the tag to the web form.
    expect(await followUp(t.app, 'tg-legacy-reader', receipt)).toContain('Réponse à un ancien signalement.');
    const after = await lookup(t.app, { lookupHash: receiptLookupHash(receipt) }, nextIp());
    expect((after.json() as { replies: unknown[] }).replies).toHaveLength(1);
  }, 60_000);

  it('limits lookups per client IP (429), with the same answer for every code until then', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      codes.push(
        (await lookup(t.app, { lookupHash: receiptLookupHash(generateReceipt()) }, '192.0.2.77')).statusCode,
      );
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
    expect(
      (await lookup(t.app, { lookupHash: receiptLookupHash(generateReceipt()) }, '192.0.2.78')).statusCode,
    ).toBe(200);
  });
});

describe('web follow-up limits in total', () => {
  it('limits lookups from every address together, shared with /suivi (429)', async () => {
    await initCrypto();
    const config = testConfig();
    const db = await openEmbedded();
    const t = await buildTestApp({
      config,
      db,
      deps: {
        intake: await createIntake({
          config,
          db,
          masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
          logger: pino({ level: 'silent' }),
          receiptLimits: { global: { max: 3, windowMs: 60_000 } },
        }),
      },
    });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const hash = receiptLookupHash(generateReceipt());
        codes.push((await lookup(t.app, { lookupHash: hash }, `192.0.2.${i + 1}`)).statusCode);
      }
      // A /suivi in a chat takes from the same total.
      expect(codes).toEqual([200, 200, 200]);
      expect(await followUp(t.app, 'tg-flood', generateReceipt())).toMatch(/essai|réessaie|plus tard/i);
      expect(
        (await lookup(t.app, { lookupHash: receiptLookupHash(generateReceipt()) }, '192.0.2.99')).statusCode,
      ).toBe(429);
    } finally {
      await t.close();
      await db.close();
    }
  }, 60_000);
});
