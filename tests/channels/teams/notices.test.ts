/**
 * Coordinator links and contentless new-case notices: a one-time code links a coordinator's Teams chat;
 * a new case in their inbox reaches the fake connector through continueConversationAsync with the
 * reference, the inbox and the urgency only. Immediate danger goes at once; the rest is batched, stored in
 * `teams_notices` so a batch survives a restart and is sent once, also with two instances on one database.
 *
 * Cases are filed through a tiny fixture flow (tests/fixtures/flows/notices/) over real HTTP, so these
 * tests do not follow the wording of the production flows. On PostgreSQL when DATABASE_URL is set (two
 * pools for two instances), else on the embedded database.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkCode } from '../../../src/channels/teams/index.js';
import { TeamsNotifier } from '../../../src/channels/teams/notices.js';
import { createCoordinator } from '../../../src/coordinators/index.js';
import { sealContact } from '../../../src/crypto/index.js';
import { FlowRegistry } from '../../../src/flows/index.js';
import { createIntake, type Keyring, loadKeyring } from '../../../src/intake/index.js';
import { loggerOptions } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics.js';
import {
  type Database,
  insertReport,
  migrate,
  openEmbedded,
  openPostgres,
  saveTeamsLink,
} from '../../../src/store/index.js';
import {
  buildTestApp,
  DANGEROUS_TEST_ONLY_MASTER_KEY,
  LogCapture,
  type TestApp,
  testConfig,
} from '../../helper.js';
import { createPgDatabase, PG_ENABLED, type TestDatabase } from '../../support/databases.js';
import { type ConnectorCall, FakeConnector, listen, marker, newUser, TeamsClient } from './support.js';

const FLOWS = fileURLToPath(new URL('../../fixtures/flows/notices/', import.meta.url));
const ENV_BEFORE = process.env.TEAMS_NOTICE_BATCH_SECONDS;
/** Generous: the suite runs on a loaded 2-core machine. */
const WAIT_MS = 20_000;

let connector: FakeConnector;
let pgdb: TestDatabase | undefined;
let db: Database;
/** A second handle on the same database (a second pool on PostgreSQL), for a second instance. */
let db2: Database;
let keyring: Keyring;
let coordinatorId: string;
let coordinatorChat: TeamsClient;

interface Instance {
  t: TestApp;
  base: string;
  /** The pipeline's own log lines (the app's are in t.logs). */
  intakeLogs: LogCapture;
  close(): Promise<void>;
}

/** Builds and starts an app on `on` with the fixture flow; `batchSeconds` undefined = the default (300). */
async function instance(on: Database, batchSeconds?: number): Promise<Instance> {
  if (batchSeconds === undefined) delete process.env.TEAMS_NOTICE_BATCH_SECONDS;
  else process.env.TEAMS_NOTICE_BATCH_SECONDS = String(batchSeconds);
  const config = testConfig();
  const intakeLogs = new LogCapture();
  const intake = await createIntake({
    config,
    db: on,
    masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
    logger: pino(loggerOptions('debug'), intakeLogs),
    flows: FlowRegistry.load({ dir: FLOWS, defaultFlow: 'notice-case' }),
  });
  const t = await buildTestApp({ config, db: on, deps: { intake } });
  const base = await listen(t.app);
  return { t, base, intakeLogs, close: () => t.close() };
}

/** Files a case through the fixture flow; returns its reference and the markers it carried. */
async function fileCase(
  app: Instance,
  options: { danger?: boolean } = {},
): Promise<{ reference: string; markers: string[]; client: TeamsClient }> {
  const client = new TeamsClient(app.base, connector, newUser('PRO'));
  const story = marker('STORY');
  await client.say('/start cas');
  await client.press(options.danger ? 'yes' : 'no');
  await client.say(`Récit ${story}`);
  const reference = /R-[0-9A-Z]{6}/.exec(client.transcript())?.[0];
  if (!reference) throw new Error(`no reference:\n${client.transcript()}`);
  const u = client.user;
  return { reference, markers: [story, u.id, u.name, u.aadObjectId, client.conversationId], client };
}

/** Notices the coordinator received from call index `from` on (failed calls are recorded too: see below). */
function notices(from = 0): ConnectorCall[] {
  return connector.calls
    .slice(from)
    .filter((c) => c.body?.type === 'message' && c.conversationId === coordinatorChat.conversationId);
}

async function pending(): Promise<Record<string, unknown>[]> {
  return (await db.query('SELECT * FROM teams_notices ORDER BY id')).rows;
}

/**
 * The stored notices once there are `count` of them (or after 5 s): a case's notice is stored by a listener
 * that runs after the turn has answered, so it may land a moment after `fileCase` returns.
 */
async function pendingOnce(count: number): Promise<Record<string, unknown>[]> {
  let rows = await pending();
  for (let i = 0; i < 100 && rows.length < count; i++) {
    await sleep(50);
    rows = await pending();
  }
  return rows;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  connector = await new FakeConnector().start();
  if (PG_ENABLED) {
    pgdb = await createPgDatabase();
    db = openPostgres({ connectionString: pgdb.url });
    db2 = openPostgres({ connectionString: pgdb.url });
  } else {
    db = await openEmbedded();
    db2 = db;
  }
  await migrate(db);
  keyring = await loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
  coordinatorId = await createCoordinator(
    db,
    keyring,
    {
      name: 'Coord Notices',
      login: 'coord.notices',
      inbox: 'coordination',
      passphrase: 'notices passphrase 2024',
    },
    ['coordination'],
  );
});

afterAll(async () => {
  if (ENV_BEFORE === undefined) delete process.env.TEAMS_NOTICE_BATCH_SECONDS;
  else process.env.TEAMS_NOTICE_BATCH_SECONDS = ENV_BEFORE;
  if (db2 !== db) await db2?.close();
  await db?.close();
  await pgdb?.drop();
  await connector?.stop();
});

async function code(now?: number) {
  return (await createLinkCode(db, keyring, coordinatorId, now)).code;
}

async function links(): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM teams_links');
  return r.rows[0]!.n;
}

describe('Teams coordinator links and new-case notices', () => {
  let main: Instance;

  beforeAll(async () => {
    main = await instance(db); // default batch interval: 300 s
    coordinatorChat = new TeamsClient(main.base, connector, newUser('COORD'));
  });
  afterAll(async () => {
    await main?.close();
  });

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
    const other = new TeamsClient(main.base, connector, newUser('OTHER'));
    await other.say(`/link ${valid}`);
    expect(other.received().at(-1)!.body.text).toMatch(/Code invalide ou expiré/);
    // The stored reference is sealed: no conversation id, no user id in clear; the code is not stored.
    const row = await db.query<{ reference_sealed: string }>('SELECT reference_sealed FROM teams_links');
    expect(row.rows[0]!.reference_sealed).not.toContain(coordinatorChat.conversationId);
    const codes = await db.query('SELECT * FROM teams_link_codes');
    expect(JSON.stringify(codes.rows)).not.toContain(valid.replace('-', ''));
    // Linking did not start a conversation.
    const conv = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM conversations');
    expect(conv.rows[0]!.n).toBe(0);
  });

  it('throttles code guessing', async () => {
    const guesser = new TeamsClient(main.base, connector, newUser('GUESS'));
    for (let i = 0; i < 5; i++) await guesser.say(`/lier AAAAA-AAAA${i + 2}`);
    await guesser.say('/lier AAAAA-AAAAA');
    expect(guesser.received().at(-1)!.body.text).toMatch(/Trop de tentatives/);
  });

  it('sends an immediate-danger case at once, without any answer', async () => {
    const from = connector.calls.length;
    const { reference, markers } = await fileCase(main, { danger: true });
    await connector.waitFor(() => notices(from).length > 0, WAIT_MS);
    const sent = notices(from);
    expect(sent).toHaveLength(1);
    const notice = sent[0]!;
    expect(notice.body.text).toBe(
      `Nouveau cas ${reference} dans la boîte Coordination 93, urgence : immédiate`,
    );
    expect(notice.body.attachments).toBeUndefined();
    const raw = JSON.stringify(notice.body);
    for (const m of markers) expect(raw).not.toContain(m);
    // Sent: nothing stays stored.
    for (let i = 0; i < 100 && (await pending()).length > 0; i++) await sleep(50);
    expect(await pending()).toEqual([]);
  });

  it('stores batched notices (metadata only) and sends them once after a restart', async () => {
    const from = connector.calls.length;
    const a = await fileCase(main);
    const b = await fileCase(main);
    // Stored, not sent: one batch for the inbox, queue metadata only.
    const rows = await pendingOnce(2);
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0]!).sort()).toEqual([
      'attempts',
      'claimed_until',
      'created_at',
      'due_at',
      'flow_kind',
      'id',
      'inbox_id',
      'reference',
      'urgency',
      'what',
    ]);
    expect(rows.map((r) => r.what)).toEqual(['case', 'case']);
    expect(rows.map((r) => r.reference)).toEqual([a.reference, b.reference]);
    expect(rows.map((r) => [r.inbox_id, r.urgency, r.flow_kind])).toEqual([
      ['coordination', 'normal', 'professional'],
      ['coordination', 'normal', 'professional'],
    ]);
    expect(new Date(rows[1]!.due_at as Date).getTime()).toBe(new Date(rows[0]!.due_at as Date).getTime());
    const dumped = JSON.stringify(rows);
    for (const m of [...a.markers, ...b.markers]) expect(dumped).not.toContain(m);
    await sleep(300);
    expect(notices(from)).toEqual([]);

    // Stopped before the batch was due: closing sends nothing and keeps the batch.
    await main.close();
    expect(notices(from)).toEqual([]);
    expect(await pending()).toHaveLength(2);

    // The batch interval runs out while the service is down (due a second after the next start, so the
    // restarted instance's timer sends it, not only its sweep at start).
    await db.query(`UPDATE teams_notices SET due_at = now() + interval '1 second'`);
    main = await instance(db, 1);
    await connector.waitFor(() => notices(from).length > 0, WAIT_MS);
    await sleep(2500); // a few polls of the restarted instance: nothing is sent twice
    const sent = notices(from);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.text).toBe(
      `2 nouveaux cas dans la boîte Coordination 93 : ${a.reference} (urgence : normale), ${b.reference} (urgence : normale)`,
    );
    for (const m of [...a.markers, ...b.markers]) expect(sent[0]!.body.text).not.toContain(m);
    expect(await pending()).toEqual([]);
    // No log line of either process carries an answer or a Teams id.
    const logs = main.t.logs.text + main.intakeLogs.text;
    for (const m of [...a.markers, ...b.markers]) expect(logs).not.toContain(m);
  });

  it('sends an overdue batch at start', async () => {
    await main.close();
    main = await instance(db, 300);
    const from = connector.calls.length;
    const c = await fileCase(main);
    expect(await pendingOnce(1)).toHaveLength(1);
    await main.close();
    await db.query(`UPDATE teams_notices SET due_at = now() - interval '1 minute'`);
    main = await instance(db, 300);
    await connector.waitFor(() => notices(from).length > 0, WAIT_MS);
    await sleep(1000);
    const sent = notices(from);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.text).toBe(
      `Nouveau cas ${c.reference} dans la boîte Coordination 93, urgence : normale`,
    );
    expect(await pending()).toEqual([]);
  });

  it('sends each notice once with two instances on one database', async () => {
    await main.close();
    const from = connector.calls.length;
    const one = await instance(db, 1);
    const two = await instance(db2, 1);
    try {
      const filed = [await fileCase(one), await fileCase(two), await fileCase(one)];
      const references = filed.map((f) => f.reference);
      const seen = () => notices(from).map((n) => String(n.body.text));
      await connector.waitFor(
        () => references.every((r) => seen().some((text) => text.includes(r))),
        WAIT_MS,
      );
      await sleep(2500); // a few polls of both: nothing is sent twice
      for (const r of references) {
        expect(
          seen().filter((text) => text.includes(r)),
          r,
        ).toHaveLength(1);
      }
      expect(await pending()).toEqual([]);
    } finally {
      await one.close();
      await two.close();
    }
    main = await instance(db);
  });
});

describe('Teams notices: retries', () => {
  let qdb: Database;
  let logs: LogCapture;
  let reportCounter = 0;

  beforeAll(async () => {
    qdb = await openEmbedded();
    await migrate(qdb);
    const id = await createCoordinator(
      qdb,
      keyring,
      {
        name: 'Coord Retry',
        login: 'coord.retry',
        inbox: 'coordination',
        passphrase: 'retry passphrase 2024',
      },
      ['coordination'],
    );
    const reference = { conversation: { id: 'a:retry' }, serviceUrl: 'http://127.0.0.1:9/' };
    await saveTeamsLink(qdb, {
      coordinatorId: id,
      referenceSealed: sealContact(keyring.current, JSON.stringify(reference)),
    });
  });
  afterAll(async () => {
    await qdb?.close();
  });

  async function report(): Promise<string> {
    reportCounter += 1;
    const reference = `R-Q${String(reportCounter).padStart(5, '0')}`;
    await insertReport(qdb, {
      id: randomUUID(),
      reference,
      inboxId: 'coordination',
      flowKind: 'youth',
      channel: 'teams',
      urgency: 'high',
      envelopeVersion: 1,
      nonce: 'n',
      ciphertext: 'c',
      receivedAt: new Date(),
      keys: [],
    });
    return reference;
  }

  function notifier(send: () => Promise<void>, batchSeconds = 0) {
    logs = new LogCapture();
    return new TeamsNotifier({
      db: qdb,
      keyring,
      logger: pino(loggerOptions('debug'), logs),
      metrics: createMetrics({ defaultMetrics: false }),
      send,
      inboxName: () => 'Coordination 93',
      batchSeconds,
      pollMs: 50,
      maxAttempts: 3,
    });
  }

  async function stored(): Promise<number> {
    const r = await qdb.query<{ n: number }>('SELECT count(*)::int AS n FROM teams_notices');
    return r.rows[0]!.n;
  }

  async function until(predicate: () => Promise<boolean> | boolean) {
    const end = Date.now() + WAIT_MS;
    while (!(await predicate())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await sleep(20);
    }
  }

  it('keeps a notice that reached nobody and sends it at a later attempt', async () => {
    let calls = 0;
    const n = notifier(async () => {
      calls += 1;
      if (calls < 3) throw new Error('Teams unreachable');
    });
    n.start();
    const reference = await report();
    n.notify({ reference, inbox: 'coordination', urgency: 'high', kind: 'youth' });
    await until(async () => calls >= 3 && (await stored()) === 0);
    await n.idle();
    await sleep(200);
    expect(calls).toBe(3);
    await n.close();
    expect(logs.text).toContain('teams notice sent');
    expect(logs.text).not.toContain(reference);
  });

  it("announces a message sent with a person's code at once, even with batches, as a message", async () => {
    const texts: string[] = [];
    logs = new LogCapture();
    const n = new TeamsNotifier({
      db: qdb,
      keyring,
      logger: pino(loggerOptions('debug'), logs),
      metrics: createMetrics({ defaultMetrics: false }),
      send: async (_reference, text) => {
        texts.push(text);
      },
      inboxName: () => 'Coordination 93',
      batchSeconds: 300,
      pollMs: 50,
      maxAttempts: 3,
    });
    n.start();
    const reference = await report();
    n.notify({ reference, inbox: 'coordination', urgency: 'normal', kind: 'youth', what: 'message' });
    await until(async () => texts.length > 0 && (await stored()) === 0);
    await n.close();
    expect(texts).toEqual([
      `Nouveau message de la personne sur le cas ${reference} (boîte Coordination 93), à lire dans la boîte`,
    ]);
  });

  it('drops a notice after the last attempt, with a log line without content', async () => {
    let calls = 0;
    const n = notifier(async () => {
      calls += 1;
      throw new Error('Teams unreachable');
    });
    n.start();
    const reference = await report();
    n.notify({ reference, inbox: 'coordination', urgency: 'high', kind: 'youth' });
    await until(async () => calls >= 3 && (await stored()) === 0);
    await sleep(200);
    expect(calls).toBe(3);
    await n.close();
    const dropped = logs.lines.map((l) => JSON.parse(l)).find((l) => /dropped/.test(l.msg));
    expect(dropped).toMatchObject({ inbox: 'coordination', count: 1, attempts: 3 });
    expect(logs.text).not.toContain(reference);
  });

  it('keeps a batch of a stopped notifier for the next start, which sends it once', async () => {
    let calls = 0;
    const send = async () => {
      calls += 1;
    };
    const first = notifier(send, 300);
    first.start();
    const reference = await report();
    first.notify({ reference, inbox: 'coordination', urgency: 'high', kind: 'youth' });
    await until(async () => (await stored()) === 1);
    await first.close(); // stopped before the batch was due: nothing sent, nothing lost
    expect(calls).toBe(0);
    expect(await stored()).toBe(1);
    await qdb.query(`UPDATE teams_notices SET due_at = now() - interval '1 second'`);
    const second = notifier(send, 300);
    second.start();
    await until(async () => calls >= 1 && (await stored()) === 0);
    await sleep(200);
    await second.close();
    expect(calls).toBe(1);
  });
});
