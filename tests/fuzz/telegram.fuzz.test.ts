// Fuzzing POST /telegram/webhook with generated updates (random JSON, Telegram-shaped updates with random
// fields, commands, presses with forged callback data, broken JSON): never a 5xx, never a crash, a 4xx
// always says why; the app still answers afterwards. 4,000 cases.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DANGEROUS_TEST_ONLY_SECRET, type Harness, startHarness } from '../channels/telegram/harness.js';
import { expectClear4xxOr2xx, fuzzSeed } from './support.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.coordinator();
});
afterAll(async () => {
  await h?.close();
});

const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '/start',
    '/start jeune',
    '/start pro',
    '/effacer',
    '/suivi',
    '/aide',
    '/passer',
    'Oui',
    '1, 2',
  ),
  fc.string({ maxLength: 20 }).map((s) => `/start ${s}`),
  fc.string({ maxLength: 30 }).map((s) => `/suivi ${s}`),
  fc.string({ minLength: 4000, maxLength: 5000 }),
);
const anyId = fc.oneof(
  fc.integer({ min: 1, max: 2 ** 40 }),
  fc.integer(),
  fc.double(),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
);
// Small id space for users so some updates land in existing conversations.
const userId = fc.oneof(fc.integer({ min: 9_300_000_001, max: 9_300_000_040 }), anyId);
const chatType = fc.oneof(
  fc.constantFrom('private', 'private', 'private', 'group', 'supergroup', 'channel'),
  fc.string({ maxLength: 10 }),
);
const user = fc.record(
  {
    id: userId,
    is_bot: fc.oneof(fc.boolean(), fc.constant('no')),
    first_name: fc.string({ maxLength: 30 }),
    username: fc.string({ maxLength: 30 }),
    language_code: fc.oneof(fc.constantFrom('fr', 'en', 'de', 'en-GB'), fc.string({ maxLength: 12 })),
  },
  { requiredKeys: ['id', 'is_bot', 'first_name'] },
);
const message = fc.tuple(user, chatType, anyText, anyId).map(([from, type, text, mid]) => ({
  message_id: mid,
  date: 1_700_000_000,
  chat: { id: from.id, type },
  from,
  text,
}));
const messageVariants = fc.oneof(
  message,
  message.map(({ text: _t, ...m }) => ({ ...m, photo: [{ file_id: 'x', width: 1, height: 1 }] })),
  message.map(({ from: _f, ...m }) => m),
  fc.jsonValue({ maxDepth: 3 }),
);
const callbackData = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([s, o]) => `s:${s}:${o}`),
  fc.constantFrom(
    's:safety:safe',
    's:safety:unsafe',
    's:for_whom:me',
    's:confirm:$confirm',
    'x:zz',
    'x:',
    's::',
  ),
);
const press = fc.tuple(user, callbackData, anyId, chatType).map(([from, data, mid, type]) => ({
  id: `cq-${String(mid)}`,
  from,
  chat_instance: 'fuzz',
  data,
  message: { message_id: mid, date: 1_700_000_000, chat: { id: from.id, type }, text: 'x' },
}));
const update = fc.oneof(
  fc.record({ update_id: anyId, message: messageVariants }),
  fc.record({ update_id: anyId, edited_message: messageVariants }),
  fc.record({ update_id: anyId, callback_query: fc.oneof(press, fc.jsonValue({ maxDepth: 2 })) }),
  fc.record({
    update_id: anyId,
    my_chat_member: fc.record({
      chat: fc.record({ id: userId, type: chatType }),
      from: user,
      date: fc.integer(),
      old_chat_member: fc.record({ status: fc.string({ maxLength: 10 }), user }),
      new_chat_member: fc.record({ status: fc.constantFrom('kicked', 'member', 'left'), user }),
    }),
  }),
  fc.record({ update_id: anyId, inline_query: fc.jsonValue({ maxDepth: 2 }) }),
  fc.dictionary(fc.string({ maxLength: 15 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
);
// Well-formed private messages and presses from a few users, so many updates run real turns.
const goodUser = fc.record({
  id: fc.integer({ min: 9_300_000_001, max: 9_300_000_040 }),
  is_bot: fc.constant(false),
  first_name: fc.string({ minLength: 1, maxLength: 20 }),
  language_code: fc.constantFrom('fr', 'en'),
});
const goodUpdate = fc.oneof(
  fc.tuple(goodUser, anyText, fc.integer({ min: 1, max: 2 ** 31 })).map(([from, text, id]) => ({
    update_id: id,
    message: {
      message_id: id % 100_000,
      date: 1_700_000_000,
      chat: { id: from.id, type: 'private' },
      from,
      text,
    },
  })),
  fc.tuple(goodUser, callbackData, fc.integer({ min: 1, max: 2 ** 31 })).map(([from, data, id]) => ({
    update_id: id,
    callback_query: {
      id: `cq${id}`,
      from,
      chat_instance: 'fuzz',
      data,
      message: {
        message_id: id % 100_000,
        date: 1_700_000_000,
        chat: { id: from.id, type: 'private' },
        text: 'x',
      },
    },
  })),
);
const body = fc.oneof(
  { weight: 5, arbitrary: goodUpdate.map((u) => JSON.stringify(u)) },
  { weight: 8, arbitrary: update.map((u) => JSON.stringify(u)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: update.map((u) => JSON.stringify(u).slice(0, -1)) },
);

describe('fuzz: POST /telegram/webhook', () => {
  it('3,600 generated updates: never a 5xx, a 4xx says why', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const res = await h.t.app.inject({
          method: 'POST',
          url: '/telegram/webhook',
          headers: {
            'content-type': 'application/json',
            'x-telegram-bot-api-secret-token': DANGEROUS_TEST_ONLY_SECRET,
          },
          payload,
        });
        expectClear4xxOr2xx(res, 'webhook');
      }),
      { numRuns: 3600, seed: fuzzSeed },
    );
    // Not everything was refused at the door: many updates ran real turns and got answers.
    expect(h.fake.callsOf('sendMessage').length).toBeGreaterThan(100);
  });

  it('400 odd requests (headers, content types, secrets): never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constant(DANGEROUS_TEST_ONLY_SECRET),
          fc.string({ maxLength: 60 }),
          fc.constant(undefined),
        ),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          '',
        ),
        fc.oneof(
          update.map((u) => JSON.stringify(u)),
          fc.string({ maxLength: 100 }),
        ),
        async (secret, type, payload) => {
          const res = await h.t.app.inject({
            method: 'POST',
            url: '/telegram/webhook',
            headers: {
              ...(type ? { 'content-type': type } : {}),
              ...(secret !== undefined ? { 'x-telegram-bot-api-secret-token': secret } : {}),
            },
            payload,
          });
          expectClear4xxOr2xx(res, `webhook (${type})`);
        },
      ),
      { numRuns: 400, seed: fuzzSeed },
    );
    const alive = await h.t.app.inject({ method: 'GET', url: '/healthz' });
    expect(alive.statusCode).toBe(200);
  });
});
