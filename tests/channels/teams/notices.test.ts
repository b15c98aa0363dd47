/**
 * Coordinator links and contentless new-case notices: a one-time code links a coordinator's Teams chat;
 * a new case in their inbox reaches the fake connector through continueConversationAsync with the
 * reference, the inbox and the urgency only. Immediate danger goes at once; the rest is batched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkCode } from '../../../src/channels/teams/index.js';
import { createCoordinator } from '../../../src/coordinators/index.js';
import { loadKeyring } from '../../../src/intake/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp } from '../../helper.js';
import { FakeConnector, listen, newUser, professionalByCards, TeamsClient } from './support.js';

let connector: FakeConnector;
let t: TestApp;
let base: string;
let coordinatorId: string;
let coordinatorChat: TeamsClient;

beforeAll(async () => {
  delete process.env.TEAMS_NOTICE_BATCH_SECONDS; // default: 300 s batches for non-immediate cases
  connector = await new FakeConnector().start();
  t = await buildTestApp();
  coordinatorId = await createCoordinator(
    t.db,
    t.keyring,
    {
      name: 'Coord Notices',
      login: 'coord.notices',
      inbox: 'coordination',
      passphrase: 'notices passphrase 2024',
    },
    ['coordination'],
  );
  base = await listen(t.app);
  coordinatorChat = new TeamsClient(base, connector, newUser('COORD'));
});

afterAll(async () => {
  await t?.close();
  await connector?.stop();
});

async function code(now?: number) {
  const keyring = await loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
  return (await createLinkCode(t.db, keyring, coordinatorId, now)).code;
}

async function links(): Promise<number> {
  const r = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM teams_links');
  return r.rows[0]!.n;
}

describe('Teams coordinator links', () => {
  it('refuses a wrong or expired code, links with a valid one, once', async () => {
    await coordinatorChat.say('/lier ABCDE-FGHJK');
    expect(coordinatorChat.received().at(-1)!.body.text).toMatch(/Code invalide ou expiré/);
    const expired = await code(Date.now() - 16 * 60_000);
    await coordinatorChat.say(`/lier ${expired}`);
    expect(coordinatorChat.received().at(-1)!.body.text).toMatch(/Code invalide ou expiré/);
    expect(await links()).toBe(0);

    const valid = await code();
    await coordinatorChat.say(`/lier ${valid.toLowerCase()}`);
    expect(coordinatorChat.received().at(-1)!.body.text).toMatch(/^Compte lié/);
    expect(await links()).toBe(1);
    // The code works once.
    const other = new TeamsClient(base, connector, newUser('OTHER'));
    await other.say(`/link ${valid}`);
    expect(other.received().at(-1)!.body.text).toMatch(/Code invalide ou expiré/);
    // The stored reference is sealed: no conversation id, no user id in clear; the code is not stored.
    const row = await t.db.query<{ reference_sealed: string }>('SELECT reference_sealed FROM teams_links');
    expect(row.rows[0]!.reference_sealed).not.toContain(coordinatorChat.conversationId);
    const codes = await t.db.query('SELECT * FROM teams_link_codes');
    expect(JSON.stringify(codes.rows)).not.toContain(valid.replace('-', ''));
    // Linking did not start a conversation.
    const conv = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
    expect(conv.rows[0]!.n).toBe(0);
  });

  it('throttles code guessing', async () => {
    const guesser = new TeamsClient(base, connector, newUser('GUESS'));
    for (let i = 0; i < 5; i++) await guesser.say(`/lier AAAAA-AAAA${i + 2}`);
    await guesser.say('/lier AAAAA-AAAAA');
    expect(guesser.received().at(-1)!.body.text).toMatch(/Trop de tentatives/);
  });
});

describe('Teams new-case notices', () => {
  it('sends an immediate-danger case at once, without any answer', async () => {
    const before = coordinatorChat.received().length;
    const pro = new TeamsClient(base, connector);
    const { reference, markers } = await professionalByCards(pro, { danger: true });
    await connector.waitFor(() => coordinatorChat.received().length > before);
    const notices = coordinatorChat.received().slice(before);
    expect(notices).toHaveLength(1);
    const notice = notices[0]!;
    expect(notice.body.text).toBe(
      `Nouveau cas ${reference} dans la boîte Coordination 93, urgence : immédiate`,
    );
    expect(notice.body.attachments).toBeUndefined();
    const raw = JSON.stringify(notice.body);
    for (const m of markers) expect(raw).not.toContain(m);
    for (const id of [pro.user.id, pro.user.name, pro.user.aadObjectId, pro.conversationId]) {
      expect(raw).not.toContain(id);
    }
    expect(notice.conversationId).toBe(coordinatorChat.conversationId);
  });

  it('batches the other cases and sends them when the batch closes', async () => {
    const before = coordinatorChat.received().length;
    const a = await professionalByCards(new TeamsClient(base, connector));
    const b = await professionalByCards(new TeamsClient(base, connector));
    await new Promise((r) => setTimeout(r, 200));
    expect(coordinatorChat.received().length).toBe(before); // not yet: batched
    await t.app.close(); // closing flushes the pending batch
    const notices = coordinatorChat.received().slice(before);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.body.text).toBe(
      `2 nouveaux cas dans la boîte Coordination 93 : ${a.reference} (urgence : normale), ${b.reference} (urgence : normale)`,
    );
    for (const m of [...a.markers, ...b.markers]) expect(notices[0]!.body.text).not.toContain(m);
  });
});
