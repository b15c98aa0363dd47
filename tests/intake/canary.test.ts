// The canary test: complete conversations of both flows carry unique markers in every free-text answer and
// in the platform ids; afterwards no form of any marker may appear in any column of any table or in the logs.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, showReport, unlock } from '../../src/coordinators/index.js';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { loggerOptions } from '../../src/logger.js';
import { type Database, migrate } from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, LogCapture, testConfig, testKeyring } from '../helper.js';
import { dumpDatabase, findMarkers, markerForms } from '../support/canary.js';
import { backends } from '../support/databases.js';
import { professionalWalk, runWalk, youthWalk } from '../support/walks.js';

const marker = () => `CANARY${randomBytes(6).toString('hex').toUpperCase()}`;

for (const backend of backends()) {
  describe(`canary: nothing readable at rest [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let intake: Intake;
    const logs = new LogCapture();
    const markers: string[] = [];
    const m = () => {
      const x = marker();
      markers.push(x);
      return x;
    };

    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      intake = await createIntake({
        config: testConfig(),
        db,
        masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
        logger: pino(loggerOptions('trace'), logs),
      });
      await createCoordinator(
        db,
        {
          name: 'Camille',
          login: 'camille',
          inbox: 'coordination',
          passphrase: 'correct horse battery staple',
        },
        ['coordination'],
        await testKeyring(),
      );
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('keeps answers and platform ids out of every column and every log line', async () => {
      const references: string[] = [];
      for (const lang of ['fr', 'en'] as const) {
        const youth = await runWalk(intake.service, {
          user: `user-${m()}`,
          payload: 'youth',
          lang,
          actions: youthWalk(() => `texte ${m()} fin`),
        });
        const pro = await runWalk(intake.service, {
          user: `user-${m()}`,
          payload: 'pro',
          lang,
          actions: professionalWalk(() => `pro ${m()}`),
        });
        references.push(youth.reference!, pro.reference!);
      }
      // A conversation still in progress (its encrypted state is in the table).
      await runWalk(intake.service, {
        user: `user-${m()}`,
        payload: 'pro',
        lang: 'fr',
        actions: professionalWalk(() => `pending ${m()}`).slice(0, 3),
      });
      expect(references.every(Boolean)).toBe(true);
      expect(markers.length).toBeGreaterThan(20);
      expect(markerForms(markers[0]!).length).toBeGreaterThan(6);

      const dump = await dumpDatabase(db);
      expect(dump.some((d) => d.table === 'conversations')).toBe(true);
      expect(dump.some((d) => d.table === 'reports')).toBe(true);
      const hits = findMarkers(
        [
          ...dump.map((d) => ({ where: `${d.table}.${d.column}`, text: d.text })),
          { where: 'logs', text: logs.text },
        ],
        markers,
      );
      expect(hits).toEqual([]);

      // The scan can fail: the coordinator, and only the coordinator, reads the markers back.
      const me = await unlock(db, 'camille', 'correct horse battery staple');
      const opened = JSON.stringify(await showReport(db, me, references[0]!));
      expect(findMarkers([{ where: 'opened', text: opened }], markers).length).toBeGreaterThan(0);
    });
  });
}
