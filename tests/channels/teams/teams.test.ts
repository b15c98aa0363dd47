/**
 * The Teams channel end to end: the real botbuilder CloudAdapter inside the app on a real port, Teams-shaped
 * activities over HTTP, and a fake Bot Connector on 127.0.0.1 recording what the bot sends.
 */

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { createCoordinator, showReport, unlock } from '../../../src/coordinators/index.js';
import { createMetrics } from '../../../src/metrics.js';
import { type Database, DatabaseUnavailableError } from '../../../src/store/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp, testConfig } from '../../helper.js';
import {
  cardOf,
  FakeConnector,
  listen,
  marker,
  professionalByCards,
  submitsOf,
  TeamsClient,
} from './support.js';

const PASSPHRASE = 'correct horse battery staple teams';

let connector: FakeConnector;
let t: TestApp;
let base: string;

beforeAll(async () => {
  connector = await new FakeConnector().start();
  t = await buildTestApp();
  await createCoordinator(
    t.db,
    t.keyring,
    { name: 'Coord Teams', login: 'coord.teams', inbox: 'coordination', passphrase: PASSPHRASE },
    ['coordination'],
  );
  base = await listen(t.app);
});

afterAll(async () => {
  await t?.close();
  await connector?.stop();
});

const client = (options?: ConstructorParameters<typeof TeamsClient>[3]) =>
  new TeamsClient(base, connector, undefined, options);

async function count(db: Database, table: string): Promise<number> {
  const r = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0]!.n;
}

describe('Teams channel', () => {
  it('welcomes on conversationUpdate with the choice of flow, professionals first', async () => {
    const c = client();
    await c.install();
    const messages = c.received();
    expect(messages).toHaveLength(2);
    expect(messages[0]!.body.text).toMatch(/Bonjour/);
    const card = cardOf(messages[1]!);
    expect(card.version).toBe('1.4');
    const buttons = submitsOf(card);
    expect(buttons.map((b) => b.data.optionId)).toEqual(['professional', 'youth']);
    expect(buttons[0]!.data).toEqual({ intake: 1, stepId: '$flow', optionId: 'professional' });
    // The text fallback says how to start without cards.
    expect(messages[1]!.body.text).toContain('/start professional');
    // Replies go to the conversation, in reply to the activity.
    expect(messages[0]!.path).toMatch(/^\/v3\/conversations\/[^/]+\/activities\/[^/]+$/);
    // Nothing stored for a welcome.
    expect(await count(t.db, 'conversations')).toBe(0);
  });

  it('runs the professional flow through cards to a sealed report the coordinator opens', async () => {
    const c = client();
    const { reference, markers } = await professionalByCards(c);
    const [structure, commune, description] = markers;
    // Cards: the multi choice was an Input.ChoiceSet with isMultiSelect.
    const multi = c
      .received()
      .map(cardOf)
      .find((card) => card?.body?.some((b: { type: string; isMultiSelect?: boolean }) => b.isMultiSelect));
    expect(multi).toBeDefined();
    // A typing indicator was sent while turns were processed.
    expect(connector.typing(c.conversationId).length).toBeGreaterThan(5);
    // Every message has a plain-text fallback.
    for (const m of c.received()) expect(typeof m.body.text).toBe('string');

    const me = await unlock(t.db, t.keyring, 'coord.teams', PASSPHRASE);
    const report = await showReport(t.db, me, reference);
    expect(report.kind).toBe('professional');
    expect(report.channel).toBe('teams');
    const answers = report.payload.answers as Record<string, unknown>;
    expect(answers.structure).toBe(`Collège ${structure}`);
    expect(answers.signs).toEqual(['money_gifts', 'networks', 'school']);
    expect(answers.actions).toEqual(['nothing']);
    expect(answers.description).toContain(description);
    expect(answers.danger).toBe(false);
    expect(answers.commune).toBe(commune);
    // The conversation was forgotten at completion.
    expect(await count(t.db, 'conversations')).toBe(0);
  });

  it('runs the youth flow by typed text, in English from the activity locale', async () => {
    const c = client({ locale: 'en-US' });
    const more = marker('MORE');
    for (const line of [
      '/start youth',
      "I don't know",
      '1',
      'me',
      '2',
      '1, 5',
      `He has my pictures ${more}`,
      '1',
      '1',
      'no',
      'yes',
    ]) {
      await c.say(line);
    }
    const texts = c.received().map((m) => m.body.text as string);
    expect(
      texts.some((x) => /In case of danger/.test(x)),
      c.transcript(),
    ).toBe(true);
    const receipt = texts.find((x) => /Reference : R-/.test(x));
    expect(receipt, c.transcript()).toBeDefined();
    expect(receipt).toMatch(/Secret code \(receipt\) : /);
    const reference = /Reference : (R-[0-9A-Z]+)/.exec(receipt!)![1]!;
    const me = await unlock(t.db, t.keyring, 'coord.teams', PASSPHRASE);
    const report = await showReport(t.db, me, reference);
    expect(report.kind).toBe('youth');
    expect(report.urgency).toBe('high');
    const answers = report.payload.answers as Record<string, unknown>;
    expect(answers.what_me).toEqual(['asked', 'pictures']);
    expect(answers.more).toBe(`He has my pictures ${more}`);
  });

  it('runs the youth flow through cards too', async () => {
    const c = client();
    await c.install();
    await c.press('youth');
    await c.press('safe');
    await c.press('me');
    await c.press('age_15_16');
    await c.choose(['exchange', 'partner']);
    await c.say('Il a 22 ans.');
    await c.choose(['talk', 'health']);
    await c.press('receipt');
    await c.press('no');
    await c.press('$confirm');
    const texts = c.received().map((m) => m.body.text as string);
    const receipt = texts.find((x) => /Référence : R-/.test(x));
    expect(receipt, c.transcript()).toBeDefined();
    const reference = /Référence : (R-[0-9A-Z]+)/.exec(receipt!)![1]!;
    const me = await unlock(t.db, t.keyring, 'coord.teams', PASSPHRASE);
    const answers = (await showReport(t.db, me, reference)).payload.answers as Record<string, unknown>;
    expect(answers.what_me).toEqual(['exchange', 'partner']);
    expect(answers.help).toEqual(['talk', 'health']);
  });

  it('sends the replies of a turn whose delivery failed when the activity is redelivered (outbox)', async () => {
    const c = client();
    await c.install();
    const activity = c.activity({ type: 'message', text: '/start pro' });
    connector.failWith = 502; // Teams unreachable while the bot answers
    const first = await c.post(activity);
    connector.failWith = undefined;
    expect(first.status).toBe(200); // the turn itself committed
    const before = c.received().length;
    const again = await c.post(activity); // Bot Framework redelivers
    expect(again.status).toBe(200);
    const resent = c.received().slice(before);
    expect(resent.length).toBeGreaterThan(0);
    expect(JSON.stringify(resent.map((m) => m.body.text))).toMatch(/danger immédiat|immediate danger/i);
    // Delivered now: a third delivery sends nothing.
    const after = c.received().length;
    expect((await c.post(activity)).status).toBe(200);
    expect(c.received().length).toBe(after);
  });

  it('answers a redelivered activity once', async () => {
    const c = client();
    await c.install();
    const activity = c.activity({ type: 'message', text: '/start pro' });
    const before = c.received().length;
    const first = await c.post(activity);
    expect(first.status).toBe(200);
    const afterFirst = c.received().length;
    expect(afterFirst).toBeGreaterThan(before);
    const second = await c.post(activity);
    expect(second.status).toBe(200);
    expect(c.received().length).toBe(afterFirst);
    // A redelivered card submission (a multi-select replayed as toggles) is also answered once.
    await c.press('no'); // immediate danger
    await c.press('school');
    await c.say('Structure');
    await c.press('$skip'); // callback
    await c.press('$skip'); // the young person's first name
    const n = c.received().length;
    const card = c.lastCard();
    const age = submitsOf(card).find((s) => s.data.optionId === 'age_14');
    expect(age).toBeDefined();
    const submit = c.activity({ type: 'message', value: age!.data });
    await c.post(submit);
    const m = c.received().length;
    expect(m).toBeGreaterThan(n);
    await c.press('elsewhere');
    const multiCard = c.lastCard();
    const done = submitsOf(multiCard).find((s) => s.data.optionId === '$done')!;
    const multiSubmit = c.activity({
      type: 'message',
      value: { ...done.data, selection: 'money_gifts,marks' },
    });
    expect((await c.post(multiSubmit)).status).toBe(200);
    const k = c.received().length;
    expect((await c.post(multiSubmit)).status).toBe(200);
    expect(c.received().length).toBe(k);
    expect(c.received()[k - 1]!.body.text).toMatch(/Décrivez ce qui vous inquiète/);
  });

  it('refuses a submit from an old card politely and keeps the current question', async () => {
    const c = client();
    await c.install();
    await c.press('professional');
    await c.press('no'); // immediate danger
    const roleCard = c.lastCard();
    await c.press('police', roleCard);
    const before = c.received().length;
    await c.press('school', roleCard); // the role question was already answered
    const replies = c.received().slice(before);
    expect(replies[0]!.body.text).toMatch(/appartient à une question précédente/);
    // The current question (structure, free text) is shown again; the old answer stands.
    expect(replies[replies.length - 1]!.body.text).toMatch(/structure/i);
  });

  it('explains once in a group chat and stores nothing', async () => {
    const events = await count(t.db, 'processed_events');
    const conversations = await count(t.db, 'conversations');
    const c = client({ conversationType: 'groupChat' });
    await c.install();
    await c.say('bonjour');
    await c.say('/start pro');
    const messages = c.received();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.body.text).toMatch(/conversation privée/);
    expect(await count(t.db, 'processed_events')).toBe(events);
    expect(await count(t.db, 'conversations')).toBe(conversations);
    // A channel conversation is refused the same way.
    const channel = client({ conversationType: 'channel' });
    await channel.say('hello');
    expect(channel.received()).toHaveLength(1);
  });

  it('answers 400 with a reason to malformed activities, sends nothing and keeps running', async () => {
    const c = client();
    const calls = connector.calls.length;
    const cases: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      [[], /must be object/],
      [{}, /missing type/],
      [c.activity({ type: 'message', text: 'x', id: undefined }), /missing id/],
      [c.activity({ type: 'message' }), /text or value/],
      [c.activity({ type: 'message', text: 'x', serviceUrl: 'file:///etc/passwd' }), /serviceUrl/],
      [c.activity({ type: 'message', text: 'x', from: { name: 'n' } }), /from: missing id/],
      [c.activity({ type: 'message', text: 'x', conversation: 'a:1' }), /conversation/],
      [c.activity({ type: 'message', text: 42 }), /text/],
      [c.activity({ type: 'message', value: { intake: 2, stepId: 'a', optionId: 'b' } }), /activity\.value/],
      [c.activity({ type: 'message', value: { intake: 1, stepId: 'a' } }), /missing optionId/],
      [c.activity({ type: 'message', value: { intake: 1, stepId: 'a', optionId: 'b', extra: 1 } }), /extra/],
      [c.activity({ type: 'message', value: 'text' }), /activity\.value/],
      [c.activity({ type: 'message', text: 'x'.repeat(20_001) }), /text/],
    ];
    for (const [body, reason] of cases) {
      const r = await c.post(body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.message).toMatch(reason);
      // Never an echo of the value.
      expect(JSON.stringify(r.body)).not.toContain('passwd');
    }
    expect(connector.calls.length).toBe(calls);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    // Types the bot does not handle are accepted and ignored.
    const reaction = await c.post(c.activity({ type: 'messageReaction' }));
    expect(reaction.status).toBe(200);
    expect(connector.calls.length).toBe(calls);
  });

  it('answers an empty aadObjectId like a missing one (a fuzzer find: it was a 500)', async () => {
    const c = client();
    const body = c.activity({ type: 'message', text: '' });
    (body.from as { aadObjectId: string }).aadObjectId = '';
    const r = await c.post(body);
    expect(r.status).toBe(200);
  });

  it('keeps logs free of content and of botbuilder console output', async () => {
    const c = client();
    const secret = marker('LOGTEXT');
    await c.say(`/start pro`);
    await c.say(secret);
    expect(t.logs.text).not.toContain(secret);
    expect(t.logs.text).not.toContain(c.user.id);
    expect(t.logs.text).not.toContain(c.user.name);
    expect(t.logs.text).not.toContain(c.user.aadObjectId);
    expect(t.logs.text).not.toContain(c.conversationId);
  });
});

describe('Teams channel with the database down', () => {
  it('answers 503 with Retry-After and sends no reply', async () => {
    const failing: Database = {
      kind: 'postgres',
      query: () => Promise.reject(new DatabaseUnavailableError()),
      exec: () => Promise.reject(new DatabaseUnavailableError()),
      transaction: () => Promise.reject(new DatabaseUnavailableError()),
      transactionFrom: () => Promise.reject(new DatabaseUnavailableError()),
      ping: () => Promise.reject(new DatabaseUnavailableError()),
      close: () => Promise.resolve(),
    };
    const broken = await buildApp(testConfig(), {
      db: failing,
      masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
      logger: pino({ level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
    });
    const url = await listen(broken);
    try {
      const c = new TeamsClient(url, connector);
      const r = await c.post(c.activity({ type: 'message', text: '/start pro' }));
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(connector.messages(c.conversationId)).toHaveLength(0);
    } finally {
      await broken.close();
    }
  });
});
