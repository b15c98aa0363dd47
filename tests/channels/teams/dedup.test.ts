/**
 * Deduplication on (conversation, activity id): Teams activity ids are unique only within a conversation,
 * so two users whose activities share an id are both answered, while a true redelivery (same conversation,
 * same id) is still processed once. Real HTTP against the app, fake Bot Connector.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityEventId } from '../../../src/channels/teams/bot.js';
import { createLinkCode } from '../../../src/channels/teams/index.js';
import { createCoordinator } from '../../../src/coordinators/index.js';
import { hashUserId } from '../../../src/crypto/index.js';
import { loadKeyring } from '../../../src/intake/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp } from '../../helper.js';
import { FakeConnector, listen, newUser, submitsOf, TeamsClient } from './support.js';

let connector: FakeConnector;
let t: TestApp;
let base: string;

beforeAll(async () => {
  connector = await new FakeConnector().start();
  t = await buildTestApp();
  base = await listen(t.app);
});

afterAll(async () => {
  await t?.close();
  await connector?.stop();
});

async function processedEvents(): Promise<number> {
  const r = await t.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM processed_events WHERE channel = 'teams'`,
  );
  return r.rows[0]!.n;
}

describe('Teams deduplication on (conversation, activity id)', () => {
  it('answers two users whose messages share an activity id, and a redelivery once', async () => {
    const a = new TeamsClient(base, connector, newUser('A'));
    const b = new TeamsClient(base, connector, newUser('B'));
    await a.install();
    await b.install();
    const id = `1:${randomUUID()}`;
    const fromA = a.activity({ type: 'message', text: '/start pro', id });
    const fromB = b.activity({ type: 'message', text: '/start pro', id });
    const events = await processedEvents();

    const beforeA = a.received().length;
    expect((await a.post(fromA)).status).toBe(200);
    const afterA = a.received().length;
    expect(afterA).toBeGreaterThan(beforeA);

    const beforeB = b.received().length;
    expect((await b.post(fromB)).status).toBe(200);
    const afterB = b.received().length;
    expect(afterB).toBeGreaterThan(beforeB);
    // Same question for both: each got the start of the professional flow.
    expect(a.received().at(-1)!.body.text).toBe(b.received().at(-1)!.body.text);
    expect(await processedEvents()).toBe(events + 2);

    // True redeliveries (same conversation, same id): nothing more, for either.
    expect((await a.post(fromA)).status).toBe(200);
    expect((await b.post(fromB)).status).toBe(200);
    expect(a.received().length).toBe(afterA);
    expect(b.received().length).toBe(afterB);
    expect(await processedEvents()).toBe(events + 2);
  });

  it('answers two card submissions that share an activity id', async () => {
    const a = new TeamsClient(base, connector, newUser('CA'));
    const b = new TeamsClient(base, connector, newUser('CB'));
    await a.install();
    await b.install();
    const id = `1:${randomUUID()}`;
    const press = (c: TeamsClient) => {
      const action = submitsOf(c.lastCard()).find((s) => s.data?.optionId === 'professional')!;
      return c.activity({ type: 'message', value: { ...action.data }, id });
    };
    const fromA = press(a);
    const fromB = press(b);
    const beforeA = a.received().length;
    const beforeB = b.received().length;
    expect((await a.post(fromA)).status).toBe(200);
    expect((await b.post(fromB)).status).toBe(200);
    expect(a.received().length).toBeGreaterThan(beforeA);
    expect(b.received().length).toBeGreaterThan(beforeB);
    const afterA = a.received().length;
    const afterB = b.received().length;
    expect((await a.post(fromA)).status).toBe(200);
    expect((await b.post(fromB)).status).toBe(200);
    expect(a.received().length).toBe(afterA);
    expect(b.received().length).toBe(afterB);
  });

  it('answers a message that shares its id with a coordinator’s /lier', async () => {
    const coordinatorId = await createCoordinator(
      t.db,
      t.keyring,
      {
        name: 'Coord Dedup',
        login: 'coord.dedup',
        inbox: 'coordination',
        passphrase: 'dedup passphrase 2024',
      },
      ['coordination'],
    );
    const keyring = await loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
    const { code } = await createLinkCode(t.db, keyring, coordinatorId);
    const coordinator = new TeamsClient(base, connector, newUser('COORD'));
    const user = new TeamsClient(base, connector, newUser('U'));
    await user.install();
    const id = `1:${randomUUID()}`;
    const link = coordinator.activity({ type: 'message', text: `/lier ${code}`, id });
    expect((await coordinator.post(link)).status).toBe(200);
    expect(coordinator.received().at(-1)!.body.text).toMatch(/^Compte lié/);
    const before = user.received().length;
    expect((await user.post(user.activity({ type: 'message', text: '/start pro', id }))).status).toBe(200);
    expect(user.received().length).toBeGreaterThan(before);
    // The /lier redelivered: no second answer (not even "code invalide").
    const linked = coordinator.received().length;
    expect((await coordinator.post(link)).status).toBe(200);
    expect(coordinator.received().length).toBe(linked);
  });

  it('keys events by a fixed-length, unambiguous digest that the keyed hash accepts', async () => {
    const long = (c: string) => c.repeat(256); // the schema's longest ids, 512 bytes together
    const key = activityEventId({ conversation: { id: long('c') }, id: long('i') });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const keyring = await loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
    expect(hashUserId(keyring.current, 'teams:event', `${key}#63`)).toMatch(/^[0-9a-f]{64}$/);
    // The boundary between conversation and activity id matters.
    expect(activityEventId({ conversation: { id: 'a:1' }, id: '23' })).not.toBe(
      activityEventId({ conversation: { id: 'a:12' }, id: '3' }),
    );
  });
});
