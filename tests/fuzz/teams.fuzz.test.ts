// Fuzzing POST /api/messages (Teams, authentication off as in tests) with generated activities: random
// types, texts, card submits (value), conversation kinds, members; the serviceUrl is always the fake
// connector on 127.0.0.1 or something that is not a URL (nothing may leave the machine). Never a 5xx,
// never a crash, a 4xx says why. 2,000 cases.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeConnector } from '../channels/teams/support.js';
import { buildTestApp, type TestApp, testConfig } from '../helper.js';
import { expectClear4xxOr2xx, fuzzSeed } from './support.js';

let t: TestApp;
let connector: FakeConnector;
beforeAll(async () => {
  connector = await new FakeConnector().start();
  t = await buildTestApp({ config: testConfig({ rateLimit: { max: 1_000_000, windowMs: 60_000 } }) });
});
afterAll(async () => {
  await t?.close();
  await connector?.stop();
});

const str = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 40 }));
const text = fc.oneof(
  str,
  fc.constantFrom(
    '/start',
    'start jeune',
    'effacer',
    '/effacer',
    'aide',
    'suivi',
    'suivi ABCD-EFGH',
    'pro',
    'jeune',
  ),
  fc.string({ minLength: 3000, maxLength: 4500 }),
);
const userIds = fc.oneof(fc.constantFrom('29:fuzz-a', '29:fuzz-b', '29:fuzz-c'), str);
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record({ step: str, option: str }),
  fc.record({
    s: fc.constantFrom('safety', 'for_whom', 'confirm'),
    o: fc.constantFrom('safe', 'me', '$confirm', '$done'),
  }),
);

describe('fuzz: POST /api/messages', () => {
  it('2,000 generated activities: never a 5xx, a 4xx says why', async () => {
    const activity = fc.record(
      {
        type: fc.oneof(
          fc.constantFrom(
            'message',
            'message',
            'conversationUpdate',
            'installationUpdate',
            'invoke',
            'messageReaction',
            'typing',
          ),
          str,
        ),
        id: str,
        channelId: fc.oneof(fc.constant('msteams'), str),
        serviceUrl: fc.oneof(
          fc.constant(connector.serviceUrl),
          fc.constantFrom('', 'not a url', 'javascript:1'),
          fc.integer(),
        ),
        timestamp: fc.oneof(fc.constant(new Date().toISOString()), str),
        locale: fc.oneof(fc.constantFrom('fr-FR', 'en-US', 'de'), str),
        from: fc.oneof(
          fc.record({ id: userIds, name: str, aadObjectId: str }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        recipient: fc.record({ id: fc.constant('28:bot'), name: str }),
        conversation: fc.oneof(
          fc.record({
            id: fc.oneof(fc.constantFrom('a:fuzz-1', 'a:fuzz-2'), str),
            conversationType: fc.oneof(fc.constantFrom('personal', 'personal', 'groupChat', 'channel'), str),
            tenantId: fc.constant('00000000-0000-4000-8000-000000000001'),
          }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        text,
        value,
        name: fc.oneof(fc.constantFrom('adaptiveCard/action', 'task/fetch'), str),
        action: fc.constantFrom('add', 'remove', 'x'),
        membersAdded: fc.array(fc.record({ id: userIds }), { maxLength: 2 }),
        channelData: fc.jsonValue({ maxDepth: 2 }),
        replyToId: str,
      },
      { requiredKeys: ['type'] },
    );
    const body = fc.oneof(
      { weight: 9, arbitrary: activity.map((a) => JSON.stringify(a)) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
      },
    );
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/messages',
          headers: { 'content-type': 'application/json' },
          payload,
        });
        expectClear4xxOr2xx(res, 'teams');
      }),
      { numRuns: 2000, seed: fuzzSeed },
    );
    const alive = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(alive.statusCode).toBe(200);
  });
});
