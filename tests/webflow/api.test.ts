// The web flow's public API (/api/v1/public/): the configuration and flows the page runs, the recipients'
// keys, and sealed reports: validation (400), oversize bodies (413), unknown inbox or flow (404), stale
// recipients (409 with fresh keys, then a retry succeeds), replays (409), floods per IP and in total (429).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator } from '../../src/coordinators/index.js';
import {
  encodeBytes,
  generateCoordinatorKeyPair,
  generateReceipt,
  initCrypto,
  newPwhashSalt,
  receiptKeyPair,
  receiptLookupHash,
  sealReport,
} from '../../src/crypto/index.js';
import { newReference } from '../../src/intake/index.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { followUp } from '../inbox/support.js';
import { insertSignedReply } from '../support/replies.js';

const PASSPHRASE = 'brume matinale sur le canal 93';

interface Keys {
  recipients: { coordinatorId: string; publicKey: string }[];
  recipientsTag: string;
}

/** What the page sends, sealed here the same way (src/crypto), to the given keys. */
function sealedBody(app: FastifyInstance, keys: Keys, secret = 'réponse secrète') {
  const id = randomUUID();
  const reference = newReference();
  const flow = app.intake.pipeline.flows.latest('youth')!;
  const envelope = sealReport({
    reportId: id,
    payload: {
      v: 1,
      reference,
      flow: { id: flow.id, version: flow.version },
      kind: 'youth',
      lang: 'fr',
      channel: 'web',
      urgency: 'normal',
      submittedAt: new Date().toISOString(),
      answers: { story: secret },
    },
    recipients: keys.recipients,
  });
  const receipt = generateReceipt();
  const salt = newPwhashSalt();
  return {
    receipt,
    body: {
      id,
      reference,
      inbox: 'coordination',
      kind: 'youth',
      urgency: 'normal',
      flow: { id: flow.id, version: flow.version },
      recipientsTag: keys.recipientsTag,
      envelope,
      receipt: {
        lookupHash: receiptLookupHash(receipt),
        salt: encodeBytes(salt),
        publicKey: encodeBytes(receiptKeyPair(receipt, salt).publicKey),
      },
    },
  };
}

/** Keys of nobody the service knows (the limits answer before the recipients are compared). */
let FAKE_KEYS: Keys;

function post(app: FastifyInstance, payload: unknown, remoteAddress = '203.0.113.7') {
  return app.inject({
    method: 'POST',
    url: '/api/v1/public/reports',
    payload: payload as object,
    remoteAddress,
  });
}

describe('web flow public API', () => {
  let t: TestApp;

  beforeAll(async () => {
    await initCrypto();
    t = await buildTestApp({ config: testConfig({ web: { exitUrl: 'https://meteo.example/' } }) });
  }, 120_000);
  afterAll(async () => t?.close());

  it('serves the public configuration and the flows, never cached', async () => {
    const cfg = await t.app.inject({ method: 'GET', url: '/api/v1/public/config' });
    expect(cfg.statusCode).toBe(200);
    expect(cfg.headers['cache-control']).toBe('no-store');
    expect(cfg.json()).toMatchObject({
      defaultFlow: 'youth',
      inboxes: ['coordination'],
      routing: { rules: t.config.routing.rules },
      exitUrl: 'https://meteo.example/',
    });
    const flow = await t.app.inject({ method: 'GET', url: '/api/v1/public/flows/jeune' });
    expect(flow.json()).toMatchObject({
      id: 'youth',
      version: t.app.intake.pipeline.flows.latest('youth')!.version,
    });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/public/flows/nope' })).statusCode).toBe(404);
  });

  it('documents the public routes in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json();
    for (const path of [
      '/api/v1/public/config',
      '/api/v1/public/inboxes/{inbox}/recipients',
      '/api/v1/public/reports',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(
      doc.paths['/api/v1/public/reports'].post.requestBody.content['application/json'].schema.required,
    ).toContain('envelope');
  });

  it('answers 404 for an unknown inbox and 503 while an inbox has no coordinator', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/api/v1/public/inboxes/nowhere/recipients' });
    expect(unknown.statusCode).toBe(404);
    const empty = await t.app.inject({
      method: 'GET',
      url: '/api/v1/public/inboxes/coordination/recipients',
    });
    expect(empty.statusCode).toBe(503);
    expect(empty.json()).toEqual({ error: 'no_recipient' });
  });

  describe('with coordinators', () => {
    let keys: Keys;

    beforeAll(async () => {
      await createCoordinator(
        t.db,
        t.keyring,
        {
          name: 'Bob Coord',
          login: 'bob',
          inbox: 'coordination',
          passphrase: PASSPHRASE,
        },
        ['coordination'],
      );
      const res = await t.app.inject({
        method: 'GET',
        url: '/api/v1/public/inboxes/coordination/recipients',
      });
      expect(res.statusCode).toBe(200);
      keys = res.json();
    }, 120_000);

    it('stores a sealed report with its queue metadata and refuses a replay', async () => {
      expect(keys.recipients).toHaveLength(1);
      const { body, receipt } = sealedBody(t.app, keys);
      const res = await post(t.app, body);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toEqual({ reference: body.reference });
      const row = (
        await t.db.query<Record<string, unknown>>('SELECT * FROM reports WHERE id = $1', [body.id])
      ).rows[0]!;
      expect(row).toMatchObject({
        channel: 'web',
        inbox_id: 'coordination',
        flow_kind: 'youth',
        urgency: 'normal',
      });
      expect(JSON.stringify(row)).not.toContain(receipt.replace(/-/g, ''));
      expect(row.receipt_tag).not.toBe(body.receipt.lookupHash);
      expect(t.logs.text).not.toContain('réponse secrète');

      const again = await post(t.app, body);
      expect(again.statusCode).toBe(409);
      expect(again.json()).toEqual({ error: 'duplicate' });

      // A receipt made in the browser works with /suivi in a chat: the coordinator's reply opens with it.
      await insertSignedReply(t.db, {
        reportId: body.id,
        receiptPublicKey: body.receipt.publicKey,
        text: 'Merci, on te répond ici.',
        login: 'bob',
        passphrase: PASSPHRASE,
      });
      expect(await followUp(t.app, 'tg-web-1', receipt)).toContain('Merci, on te répond ici.');
    }, 60_000);

    it('refuses bad bodies with 400 and changes nothing', async () => {
      const { body } = sealedBody(t.app, keys);
      const before = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reports')).rows[0]!.n;
      const bad: unknown[] = [
        {},
        { ...body, envelope: undefined },
        { ...body, extra: 'answers in clear' },
        { ...body, id: 'not-a-uuid' },
        { ...body, reference: 'R-000000' },
        { ...body, kind: 'adult' },
        { ...body, envelope: { ...body.envelope, nonce: 'short' } },
        { ...body, envelope: { ...body.envelope, keys: [] } },
        { ...body, envelope: { ...body.envelope, v: 99 } },
        { ...body, receipt: { ...body.receipt, receipt: 'ABCD-EFGH-JKMN-PQRS' } },
        { ...body, receipt: { ...body.receipt, lookupHash: 'ABCD' } },
      ];
      for (const payload of bad) {
        const res = await post(t.app, payload);
        expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      }
      const text = await t.app.inject({
        method: 'POST',
        url: '/api/v1/public/reports',
        headers: { 'content-type': 'application/json' },
        payload: '{not json',
      });
      expect(text.statusCode).toBe(400);
      const after = (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM reports')).rows[0]!.n;
      expect(after).toBe(before);
    });

    it('answers 404 for an unknown inbox or flow version', async () => {
      const { body } = sealedBody(t.app, keys);
      expect((await post(t.app, { ...body, inbox: 'nowhere' })).statusCode).toBe(404);
      expect((await post(t.app, { ...body, flow: { id: 'youth', version: 999 } })).statusCode).toBe(404);
      expect((await post(t.app, { ...body, kind: 'professional' })).statusCode).toBe(404);
    });

    it('answers 413 to an oversize body', async () => {
      const { body } = sealedBody(t.app, keys);
      const huge = { ...body, envelope: { ...body.envelope, ciphertext: 'A'.repeat(300_000) } };
      expect((await post(t.app, huge)).statusCode).toBe(413);
    });

    it('answers 409 with fresh keys when the recipients changed; sealing again succeeds', async () => {
      await createCoordinator(
        t.db,
        t.keyring,
        {
          name: 'Carole Coord',
          login: 'carole',
          inbox: 'coordination',
          passphrase: 'carole garde la clef du 12',
        },
        ['coordination'],
      );
      const stale = sealedBody(t.app, keys);
      const res = await post(t.app, stale.body);
      expect(res.statusCode).toBe(409);
      const fresh = res.json() as Keys & { error: string };
      expect(fresh.error).toBe('stale_recipients');
      expect(fresh.recipients).toHaveLength(2);
      expect(fresh.recipientsTag).not.toBe(keys.recipientsTag);
      // The same ids with an old tag (a key changed) is stale too.
      const tagOnly = sealedBody(t.app, { recipients: fresh.recipients, recipientsTag: keys.recipientsTag });
      expect((await post(t.app, tagOnly.body)).statusCode).toBe(409);
      const retry = sealedBody(t.app, fresh);
      expect((await post(t.app, retry.body)).statusCode).toBe(201);
      keys = fresh;
    }, 120_000);
  });
});

describe('web flow public API limits', () => {
  beforeAll(async () => {
    await initCrypto();
    const kp = generateCoordinatorKeyPair();
    FAKE_KEYS = {
      recipients: [{ coordinatorId: randomUUID(), publicKey: encodeBytes(kp.publicKey) }],
      recipientsTag: 'x',
    };
  });

  it('limits reports per client IP (429)', async () => {
    const t = await buildTestApp({ config: testConfig({ web: { reportsPerIpPerHour: 2 } }) });
    try {
      await initCrypto();
      const codes: number[] = [];
      for (let i = 0; i < 3; i++)
        codes.push((await post(t.app, sealedBody(t.app, FAKE_KEYS).body)).statusCode);
      expect(codes).toEqual([503, 503, 429]);
      // Another address is not affected.
      expect((await post(t.app, sealedBody(t.app, FAKE_KEYS).body, '198.51.100.9')).statusCode).toBe(503);
    } finally {
      await t.close();
    }
  }, 60_000);

  it('limits reports in total, from every address together (429)', async () => {
    const t = await buildTestApp({ config: testConfig({ web: { reportsPerMinute: 2 } }) });
    try {
      await initCrypto();
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push((await post(t.app, sealedBody(t.app, FAKE_KEYS).body, `192.0.2.${i + 1}`)).statusCode);
      }
      expect(codes).toEqual([503, 503, 429]);
    } finally {
      await t.close();
    }
  }, 60_000);
});
