// Telegram on real PostgreSQL: a database outage answers 503 (Telegram redelivers) and the redelivered
// update is then processed exactly once; and the canary scan: after a Telegram conversation carrying unique
// markers (answers, first name, username, ids), no column of any table and no log line holds any of them,
// in clear, hex or base64.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../../src/store/index.js';
import { createPgDatabase, PG_ENABLED, type TestDatabase } from '../../support/databases.js';
import { startTcpProxy, type TcpProxy, viaProxy } from '../../support/tcp-proxy.js';
import { type Harness, referenceIn, startHarness } from './harness.js';

describe.runIf(PG_ENABLED)('telegram on PostgreSQL', () => {
  let tdb: TestDatabase;
  let proxy: TcpProxy;
  let h: Harness;
  beforeAll(async () => {
    tdb = await createPgDatabase();
    const url = new URL(tdb.url);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    const db = openPostgres({ connectionString: viaProxy(tdb.url, proxy.port), connectionTimeoutMs: 1000 });
    h = await startHarness({ db });
    await h.coordinator();
  });
  afterAll(async () => {
    await h?.close();
    await h?.t.db.close().catch(() => undefined);
    await proxy?.close();
    await tdb?.drop();
  });

  it('database cut: 503 with Retry-After and nothing sent; the redelivery is processed once', async () => {
    const user = h.user();
    await user.say('/start jeune');
    const { message, data } = user.findButton('safe');
    const press = user.pressUpdate(message, data);
    h.fake.reset();
    proxy.cut();
    // Let the pool see its idle connections die while idle. (A pooled client checked out at the very moment
    // its socket dies emits an unhandled 'error' in src/store/postgres.ts: reported to the lead.)
    await new Promise((resolve) => setTimeout(resolve, 200));
    const down = await h.t.app.inject({
      method: 'POST',
      url: '/telegram/webhook',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': 'test-only-webhook-secret-0123456789abcdefXYZ',
      },
      payload: JSON.stringify(press),
    });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBeDefined();
    expect(h.fake.callsOf('sendMessage')).toEqual([]);
    const typed = user.textUpdate('Oui');
    expect((await h.post(typed)).statusCode).toBe(503);
    proxy.restore();
    // Telegram redelivers both, in order; then redelivers again (as if our 200 was lost).
    expect((await h.post(press)).statusCode).toBe(200);
    const afterPress = h.fake.callsOf('sendMessage').length;
    expect(afterPress).toBe(1);
    expect(String(h.fake.callsOf('sendMessage')[0]!.params.text)).toMatch(/pour toi ou pour quelqu/);
    expect((await h.post(press)).statusCode).toBe(200);
    expect(h.fake.callsOf('sendMessage')).toHaveLength(afterPress);
    // The typed "Oui" now arrives on the next question (for whom), which has no "Oui": the engine says so.
    expect((await h.post(typed)).statusCode).toBe(200);
    expect((await h.post(typed)).statusCode).toBe(200);
    expect(h.fake.callsOf('sendMessage').length).toBeGreaterThan(afterPress);
    const once = h.fake.callsOf('sendMessage').length;
    expect((await h.post(typed)).statusCode).toBe(200);
    expect(h.fake.callsOf('sendMessage')).toHaveLength(once);
  });

  it('canary: no marker in any column of any table nor in the logs (clear, hex, base64)', async () => {
    const id = 7_391_846_205;
    const markers = [
      'CanaryFirstQZX81',
      'canary_user_qzx82',
      String(id),
      'CANARY-QZX-structure-4471',
      'CANARY-QZX-name-4472',
      'CANARY-QZX-commune-4473',
      'CANARY-QZX-details-4474',
    ];
    const user = h.user({ id, firstName: markers[0]!, username: markers[1]!, lang: 'fr' });
    await user.say('/start pro');
    await user.press('no');
    await user.press('school');
    await user.say(markers[3]!);
    await user.say('01 23 45 67 89'); // the contact must be a phone number or an e-mail address
    await user.say(markers[4]!);
    await user.press('$skip');
    await user.press('age_15');
    await user.press('seine_saint_denis');
    await user.say(markers[5]!);
    await user.tick(['money_gifts']);
    await user.say(markers[6]!);
    for (let i = 0; i < 10; i += 1) await user.press('$skip');
    await user.press('$confirm');
    expect(referenceIn(user.botMessages())).toBeDefined();
    // A second conversation left in progress (state at rest), with a marker as its only answer.
    const other = h.user({ id: id + 1, firstName: markers[0]!, username: markers[1]!, lang: 'fr' });
    await other.say('/start pro');
    await other.press('no');
    await other.press('school');
    await other.say(markers[3]!);
    expect(await h.hasConversation(other)).toBe(true);

    const forms = markers.flatMap((m) => [
      m.toLowerCase(),
      Buffer.from(m).toString('hex'),
      Buffer.from(m).toString('base64').replace(/=+$/, ''),
      Buffer.from(m).toString('base64url').replace(/=+$/, ''),
    ]);
    const db = h.t.db;
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['conversations', 'reports']),
    );
    const dump: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await db.query<{ j: string }>(`SELECT row_to_json(t)::text AS j FROM "${table_name}" t`);
      dump.push(...rows.rows.map((r) => r.j));
      const bytea = await db.query<{ column_name: string }>(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND data_type = 'bytea'",
        [table_name],
      );
      for (const { column_name } of bytea.rows) {
        const enc = await db.query<{ b: string; e: string }>(
          `SELECT encode("${column_name}", 'base64') AS b, encode("${column_name}", 'escape') AS e FROM "${table_name}"
            WHERE "${column_name}" IS NOT NULL`,
        );
        dump.push(...enc.rows.flatMap((r) => [r.b.replace(/\n/g, ''), r.e]));
      }
    }
    const haystack = dump.join('\n').toLowerCase();
    const logs = h.t.logs.text.toLowerCase();
    expect(logs.length).toBeGreaterThan(0);
    for (const f of forms) {
      expect(haystack.includes(f.toLowerCase()), `database holds ${f}`).toBe(false);
      expect(logs.includes(f.toLowerCase()), `logs hold ${f}`).toBe(false);
    }
  });
});
