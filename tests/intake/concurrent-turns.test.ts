/**
 * Turns without a lock (issue 16): a turn reads the conversation and its version in one statement and writes
 * with a compare-and-set. Two service instances on one database racing on one conversation: a lost race runs
 * the turn again on the new state, so no answer is lost and none is applied twice; the same update delivered
 * twice at once is processed exactly once.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto/index.js';
import type { Capabilities, Reply } from '../../src/engine/index.js';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { type Database, migrate } from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, testConfig } from '../helper.js';
import { backends } from '../support/databases.js';

const CAPS: Capabilities = { buttons: true, deleteMessages: false };
type Choices = Extract<Reply, { type: 'choices' }>;

const lastChoices = (replies: Reply[]) => replies.filter((r): r is Choices => r.type === 'choices').at(-1);

async function conflicts(metrics: Metrics): Promise<number> {
  const values = (await metrics.errors.get()).values;
  return values.filter((v) => v.labels.kind === 'turn_conflict').reduce((n, v) => n + v.value, 0);
}

for (const backend of backends()) {
  describe(`turns racing on one conversation [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    // Two instances of the service on one database, each with its own metrics.
    const instances: { intake: Intake; metrics: Metrics }[] = [];

    beforeAll(async () => {
      await initCrypto();
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      for (let i = 0; i < 2; i++) {
        const metrics = createMetrics({ defaultMetrics: false });
        const intake = await createIntake({
          config: testConfig(),
          db,
          masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
          logger: pino({ level: 'silent' }),
          metrics,
        });
        instances.push({ intake, metrics });
      }
    });
    afterAll(async () => {
      await cleanup?.();
    });

    /** Walks a new youth conversation to its multiple choice (`what_me`); returns its step and options. */
    async function toMultiChoice(user: string, channel = 'cli') {
      const service = instances[0]!.intake.service;
      let now = Date.now();
      let choices: Choices | undefined;
      const send = async (turn: Parameters<typeof service.handleTurn>[0]['turn']) => {
        const o = await service.handleTurn({ channel, platformUserId: user, turn });
        choices = lastChoices(o.replies) ?? choices;
        now += 1000;
        return o;
      };
      await send({ kind: 'start', now, payload: 'jeune', locale: 'fr', capabilities: CAPS });
      for (const optionId of ['unsafe', 'continue', 'me', 'age_15_16']) {
        await send({ kind: 'choice', now, stepId: choices!.stepId, optionId, capabilities: CAPS });
      }
      expect(choices?.multi).toBe(true);
      return { choices: choices!, now };
    }

    it('a compare-and-set that loses runs the turn again: every toggle of a multiple choice sent at once, on two instances, is applied once', async () => {
      const user = `u-${randomUUID()}`;
      const { choices, now } = await toMultiChoice(user);
      const options = choices.options.filter((o) => !o.id.startsWith('$')).map((o) => o.id);
      expect(options.length).toBeGreaterThanOrEqual(5);
      const before = (await conflicts(instances[0]!.metrics)) + (await conflicts(instances[1]!.metrics));
      // Each toggle reads the selection and writes it back: a lost update would drop an option.
      const outcomes = await Promise.all(
        options.map((optionId, i) =>
          instances[i % 2]!.intake.service.handleTurn({
            channel: 'cli',
            platformUserId: user,
            turn: { kind: 'choice', now: now + i, stepId: choices.stepId, optionId, capabilities: CAPS },
          }),
        ),
      );
      expect(outcomes.every((o) => !o.duplicate)).toBe(true);
      const after = (await conflicts(instances[0]!.metrics)) + (await conflicts(instances[1]!.metrics));
      // The race was real: some writes lost and were run again.
      expect(after).toBeGreaterThan(before);
      // One more turn shows the selection: every option ticked once (a toggle applied twice would untick it).
      const shown = await instances[0]!.intake.service.handleTurn({
        channel: 'cli',
        platformUserId: user,
        turn: { kind: 'text', now: now + 100, text: '?', locale: 'fr', capabilities: CAPS },
      });
      const selected = lastChoices(shown.replies)!
        .options.filter((o) => o.selected)
        .map((o) => o.id);
      expect(selected.sort()).toEqual([...options].sort());
    });

    it('the same update delivered twice at once, to two instances: processed once, the other is a duplicate', async () => {
      for (let round = 0; round < 5; round++) {
        const user = `u-${randomUUID()}`;
        const { choices, now } = await toMultiChoice(user, 'telegram');
        const option = choices.options.find((o) => !o.id.startsWith('$'))!.id;
        const eventId = String(900_000 + round);
        const deliver = (i: number) =>
          instances[i]!.intake.service.handleTurn({
            channel: 'telegram',
            platformUserId: user,
            eventId,
            outbox: true,
            turn: { kind: 'choice', now, stepId: choices.stepId, optionId: option, capabilities: CAPS },
          });
        const [a, b] = await Promise.all([deliver(0), deliver(1)]);
        expect([a.duplicate ?? false, b.duplicate ?? false].sort()).toEqual([false, true]);
        // The duplicate hands back the first delivery's replies (not yet confirmed sent): the same ones.
        const first = a.duplicate ? b : a;
        const second = a.duplicate ? a : b;
        expect(second.replies).toEqual(first.replies);
        // Applied once: the option is ticked (twice would have unticked it).
        const shown = await instances[0]!.intake.service.handleTurn({
          channel: 'telegram',
          platformUserId: user,
          turn: { kind: 'text', now: now + 100, text: '?', locale: 'fr', capabilities: CAPS },
        });
        expect(
          lastChoices(shown.replies)!
            .options.filter((o) => o.selected)
            .map((o) => o.id),
        ).toEqual([option]);
        const events = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM processed_events WHERE channel = 'telegram'",
        );
        expect(events.rows[0]!.n).toBeGreaterThan(0);
      }
    });
  });
}
