/**
 * Canary scan over a Teams conversation: unique markers in the answers, in the Teams ids (from.id,
 * from.name, aadObjectId) and in a linked coordinator's chat must appear nowhere in the database (every
 * column of every table, read as text, hex and base64) nor in the logs. Runs on PostgreSQL when
 * DATABASE_URL is set, else on the embedded database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkCode } from '../../../src/channels/teams/index.js';
import { createCoordinator } from '../../../src/coordinators/index.js';
import { loadKeyring } from '../../../src/intake/index.js';
import { type Database, openEmbedded, openPostgres } from '../../../src/store/index.js';
import { buildTestApp, DANGEROUS_TEST_ONLY_MASTER_KEY, type TestApp, testKeyring } from '../../helper.js';
import { createPgDatabase, PG_ENABLED, type TestDatabase } from '../../support/databases.js';
import { FakeConnector, listen, marker, newUser, professionalByCards, TeamsClient } from './support.js';

/** The ways a marker could hide in a column: as is, hex of its UTF-8, base64 / base64url at each alignment. */
function encodings(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const out = [text, text.toLowerCase(), bytes.toString('hex')];
  for (let pad = 0; pad < 3; pad++) {
    const shifted = Buffer.concat([Buffer.alloc(pad), bytes]);
    for (const enc of ['base64', 'base64url'] as const) {
      const s = shifted.toString(enc);
      // Skip the characters that mix padding bytes or the tail with the marker.
      out.push(s.slice(Math.ceil((pad * 4) / 3) + (pad ? 1 : 0), s.length - 4));
    }
  }
  return out.filter((s) => s.length >= 12);
}

function asTexts(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  if (value instanceof Uint8Array) {
    const b = Buffer.from(value);
    return [b.toString('hex'), b.toString('base64'), b.toString('utf8'), b.toString('latin1')];
  }
  if (value instanceof Date) return [value.toISOString()];
  if (typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

async function dump(db: Database): Promise<{ table: string; text: string }[]> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out: { table: string; text: string }[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await db.query<Record<string, unknown>>(`SELECT * FROM "${table_name}"`);
    for (const row of rows.rows) {
      for (const value of Object.values(row)) {
        for (const text of asTexts(value)) out.push({ table: table_name, text });
      }
    }
  }
  return out;
}

describe(`canary scan over a Teams conversation (${PG_ENABLED ? 'postgres' : 'embedded'})`, () => {
  let pgdb: TestDatabase | undefined;
  let db: Database;
  let t: TestApp;
  let connector: FakeConnector;
  let base: string;

  beforeAll(async () => {
    process.env.TEAMS_NOTICE_BATCH_SECONDS = '0';
    if (PG_ENABLED) {
      pgdb = await createPgDatabase();
      db = openPostgres({ connectionString: pgdb.url });
    } else {
      db = await openEmbedded();
    }
    connector = await new FakeConnector().start();
    t = await buildTestApp({ db });
    base = await listen(t.app);
  });

  afterAll(async () => {
    await t?.close();
    await db?.close();
    await pgdb?.drop();
    await connector?.stop();
  });

  it('finds no marker in any column of any table nor in the logs', async () => {
    const coordinatorId = await createCoordinator(
      db,
      {
        name: 'Coord Canary',
        login: 'coord.canary',
        inbox: 'coordination',
        passphrase: 'canary passphrase 2024',
      },
      ['coordination'],
      await testKeyring(),
    );
    const keyring = await loadKeyring(DANGEROUS_TEST_ONLY_MASTER_KEY);
    const { code } = await createLinkCode(db, keyring, coordinatorId);
    const coordinator = new TeamsClient(base, connector, newUser('COORD'));
    await coordinator.say(`/lier ${code}`);
    expect(coordinator.received().at(-1)!.body.text).toMatch(/^Compte lié/);

    // A full professional report by cards, and an unfinished youth conversation by text.
    const pro = new TeamsClient(base, connector, newUser('PRO'));
    const { markers: answers } = await professionalByCards(pro, { danger: true });
    const youth = new TeamsClient(base, connector, newUser('YOUTH'));
    const typed = marker('TYPED');
    await youth.say('/start jeune');
    await youth.say('oui');
    await youth.say('1');
    await youth.say('2');
    await youth.say(typed); // an answer that does not fit: still never stored in clear
    await connector.waitFor(() => coordinator.received().length >= 2);
    const notice = coordinator.received().at(-1)!.body.text as string;
    expect(notice).toMatch(/^Nouveau cas R-/);

    const markers = [
      ...answers,
      typed,
      code.replace('-', ''),
      ...[pro, youth, coordinator].flatMap((c) => [
        c.user.id,
        c.user.name,
        c.user.aadObjectId,
        c.conversationId,
      ]),
    ];
    const cells = await dump(db);
    expect(cells.length).toBeGreaterThan(20);
    // The scan can fail: a known value is found when it is there.
    const reference = /R-[0-9A-Z]+/.exec(notice)![0];
    expect(cells.some((c) => c.text.includes(reference))).toBe(true);

    const logs = t.logs.text;
    expect(logs.length).toBeGreaterThan(1000);
    const found: string[] = [];
    for (const m of markers) {
      for (const needle of encodings(m)) {
        for (const cell of cells) if (cell.text.includes(needle)) found.push(`${cell.table}: ${m}`);
        if (logs.includes(needle)) found.push(`logs: ${m}`);
      }
    }
    expect(found).toEqual([]);
  });
});
