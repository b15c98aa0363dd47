import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { purge } from '../../src/intake/retention.js';
import { loggerOptions } from '../../src/logger.js';
import { type Database, migrate } from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, LogCapture, testConfig } from '../helper.js';
import { backends } from '../support/databases.js';
import { runWalk } from '../support/walks.js';

const DAY = 86_400_000;

for (const backend of backends()) {
  describe(`retention purge [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let intake: Intake;
    const config = testConfig();
    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      intake = await createIntake({
        config,
        db,
        masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
        logger: pino(loggerOptions('warn'), new LogCapture()),
      });
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('deletes expired conversations, old dedup entries and reports closed past retention, and keeps the rest', async () => {
      const now = Date.now();
      await runWalk(intake.service, {
        user: 'old',
        payload: 'jeune',
        lang: 'fr',
        actions: [{ press: 'safe' }],
        now: now - 2 * DAY,
      });
      await runWalk(intake.service, {
        user: 'fresh',
        payload: 'jeune',
        lang: 'fr',
        actions: [{ press: 'safe' }],
        now,
      });
      await db.query(
        `INSERT INTO processed_events (channel, event_hash, processed_at) VALUES ('t', 'old', $1), ('t', 'new', $2)`,
        [new Date(now - 3 * DAY), new Date(now)],
      );
      const insert = (ref: string, closedAt: Date | null) =>
        db.query(
          `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, status, envelope_version, nonce, ciphertext, closed_at)
           VALUES ($1, $2, 'coordination', 'youth', 'cli', 'normal', 'clos', 1, 'n', 'c', $3)`,
          [randomUUID(), ref, closedAt],
        );
      await insert('R-OLD001', new Date(now - 400 * DAY));
      await insert('R-NEW001', new Date(now - 10 * DAY));
      await insert('R-OPEN01', null);

      await db.query(
        `INSERT INTO inbox_login_failures (login_hash, failures, last_failure_at) VALUES ('old', 3, $1), ('new', 1, $2)`,
        [new Date(now - 3 * DAY), new Date(now)],
      );
      const r = await purge(db, config, new Date(now));
      expect((await db.query('SELECT login_hash FROM inbox_login_failures')).rows).toEqual([
        { login_hash: 'new' },
      ]);
      expect(r).toEqual({ conversations: 1, events: 1, reports: 1 });
      expect((await db.query('SELECT count(*)::int AS n FROM conversations')).rows[0]).toEqual({ n: 1 });
      expect((await db.query(`SELECT event_hash FROM processed_events WHERE channel = 't'`)).rows).toEqual([
        { event_hash: 'new' },
      ]);
      expect((await db.query('SELECT reference FROM reports ORDER BY reference')).rows).toEqual([
        { reference: 'R-NEW001' },
        { reference: 'R-OPEN01' },
      ]);
      const audit = await db.query(
        'SELECT action, report_reference, detail FROM audit_log WHERE action = $1 ORDER BY id',
        ['retention_purge'],
      );
      expect(audit.rows).toEqual([
        { action: 'retention_purge', report_reference: 'R-OLD001', detail: 'report' },
        { action: 'retention_purge', report_reference: null, detail: 'conversations=1 events=1' },
      ]);
      expect(await purge(db, config, new Date(now))).toEqual({ conversations: 0, events: 0, reports: 0 });
    });

    it('drops Teams notices that nobody sent a day after they were due', async () => {
      const now = Date.now();
      await db.query(
        `INSERT INTO reports (id, reference, inbox_id, flow_kind, channel, urgency, envelope_version, nonce, ciphertext)
         VALUES ($1, 'R-NTC001', 'coordination', 'youth', 'teams', 'normal', 1, 'n', 'c')`,
        [randomUUID()],
      );
      await db.query(
        `INSERT INTO teams_notices (reference, inbox_id, urgency, flow_kind, due_at)
         VALUES ('R-NTC001', 'coordination', 'normal', 'youth', $1), ('R-NTC001', 'coordination', 'normal', 'youth', $2)`,
        [new Date(now - 2 * DAY), new Date(now - 3_600_000)],
      );
      await purge(db, config, new Date(now));
      const left = await db.query<{ due_at: Date }>('SELECT due_at FROM teams_notices');
      expect(left.rows.map((r) => new Date(r.due_at).getTime())).toEqual([now - 3_600_000]);
    });
  });
}
