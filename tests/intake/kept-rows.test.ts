/**
 * Rows kept in memory (issue 16, `src/intake/turn-cache.ts`): the next turn of a user on the instance that
 * wrote the conversation last skips the read, and a copy that is no longer the row (another instance wrote,
 * the conversation ended and started again elsewhere) is never written over it.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto/index.js';
import type { Capabilities, Reply, Turn } from '../../src/engine/index.js';
import { createIntake, type Intake } from '../../src/intake/index.js';
import { type Database, migrate } from '../../src/store/index.js';
import { DANGEROUS_TEST_ONLY_MASTER_KEY, testConfig } from '../helper.js';
import { backends } from '../support/databases.js';

const CAPS: Capabilities = { buttons: true, deleteMessages: false };
type Choices = Extract<Reply, { type: 'choices' }>;
const lastChoices = (replies: Reply[]) => replies.filter((r): r is Choices => r.type === 'choices').at(-1);

for (const backend of backends()) {
  describe(`conversation rows kept by the instance that wrote them [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    /** Statements each instance sent (every query, in or out of a transaction). */
    const counts = [0, 0];
    const instances: Intake[] = [];

    beforeAll(async () => {
      await initCrypto();
      ({ db, cleanup } = await backend.open());
      await migrate(db);
      for (let i = 0; i < 2; i++) {
        const counted: Database = {
          ...db,
          query: (sql, params, options) => {
            counts[i]! += 1;
            return db.query(sql, params, options);
          },
          transaction: (fn) =>
            db.transaction((tx) =>
              fn({
                ...tx,
                query: (sql, params, options) => {
                  counts[i]! += 1;
                  return tx.query(sql, params, options);
                },
              }),
            ),
        };
        instances.push(
          await createIntake({
            config: testConfig(),
            db: counted,
            masterKey: DANGEROUS_TEST_ONLY_MASTER_KEY,
            logger: pino({ level: 'silent' }),
            // One `/suivi` attempt per user and window: a second count shows as "throttled".
            receiptLimits: { perUser: { max: 1, windowMs: 60_000 } },
          }),
        );
      }
    });
    afterAll(async () => {
      await cleanup?.();
    });

    /** A turn of `user` on instance `i`, with the statements it sent. */
    async function turn(
      i: number,
      user: string,
      t: Turn,
      extra: { eventId?: string; channel?: string } = {},
    ) {
      const before = counts[i]!;
      const outcome = await instances[i]!.service.handleTurn({
        channel: extra.channel ?? 'cli',
        platformUserId: user,
        turn: t,
        ...(extra.eventId ? { eventId: extra.eventId, outbox: true } : {}),
      });
      return { outcome, statements: counts[i]! - before };
    }

    const start = (now: number, payload = 'jeune'): Turn => ({
      kind: 'start',
      now,
      payload,
      locale: 'fr',
      capabilities: CAPS,
    });
    const choose = (now: number, stepId: string, optionId: string): Turn => ({
      kind: 'choice',
      now,
      stepId,
      optionId,
      capabilities: CAPS,
    });

    it('the next turn on the same instance is one statement; the first, and one after another instance wrote, read the row', async () => {
      const user = `u-${randomUUID()}`;
      const now = Date.now();
      // A /start of a new user: no read either (the write inserts the row, there was none).
      const first = await turn(0, user, start(now));
      expect(first.statements).toBe(1);
      let choices = lastChoices(first.outcome.replies)!;
      const second = await turn(0, user, choose(now + 1, choices.stepId, 'unsafe'));
      expect(second.statements).toBe(1);
      choices = lastChoices(second.outcome.replies)!;
      // Another instance writes: the first one's copy is stale, its next turn reads the row again (a lost
      // compare-and-set, then the read and the write) and goes on from the other instance's answer.
      const other = await turn(1, user, choose(now + 2, choices.stepId, 'continue'));
      choices = lastChoices(other.outcome.replies)!;
      const back = await turn(0, user, choose(now + 3, choices.stepId, 'me'));
      expect(back.statements).toBe(3);
      // The step after "me" (the age question), not a re-prompt of the step the copy was at.
      expect(lastChoices(back.outcome.replies)!.options.map((o) => o.id)).toContain('age_15_16');
    });

    it('the work after sending keeps the copy exact: channel updates and the confirmed outbox are followed', async () => {
      const user = `u-${randomUUID()}`;
      const now = Date.now();
      const service = instances[0]!.service;
      const a = await turn(0, user, start(now), { channel: 'telegram', eventId: '1' });
      await service.recordChannelData('telegram', user, { ids: [10, 11] }, '1', [10, 11]);
      const choices = lastChoices(a.outcome.replies)!;
      const b = await turn(0, user, choose(now + 1, choices.stepId, 'unsafe'), {
        channel: 'telegram',
        eventId: '2',
      });
      expect(b.statements).toBe(1);
      // The update recorded after sending was folded in by that turn.
      expect(b.outcome.previousChannelData).toEqual({ ids: [10, 11] });
      // A change recorded by another instance is not in this one's copy: the write sees it and reads again.
      await instances[1]!.service.recordChannelData('telegram', user, { ids: [12] }, '2', [12]);
      const c = await turn(0, user, choose(now + 2, lastChoices(b.outcome.replies)!.stepId, 'continue'), {
        channel: 'telegram',
        eventId: '3',
      });
      expect(c.statements).toBe(3);
      expect(c.outcome.previousChannelData).toEqual({ ids: [12] });
    });

    it('a /start of a user with a conversation this instance does not know: nothing written over it, answered as after a read', async () => {
      const user = `u-${randomUUID()}`;
      const control = `u-${randomUUID()}`;
      const now = Date.now();
      // The same conversation twice on instance 1: one user then sends /start to instance 0, the other to 1.
      for (const u of [user, control]) {
        const a = await turn(1, u, start(now));
        await turn(1, u, choose(now + 1, lastChoices(a.outcome.replies)!.stepId, 'unsafe'));
      }
      const row = async (u: string) =>
        (
          await db.query<{ state: Uint8Array }>('SELECT state FROM conversations WHERE user_hash = $1', [
            instances[0]!.service.userHash('cli', u),
          ])
        ).rows;
      const again = await turn(0, user, start(now + 2), { eventId: `e-${randomUUID()}` });
      // The insert found the row (nothing written), then the read and the write: three statements.
      expect(again.statements).toBe(3);
      const expected = await turn(1, control, start(now + 2), { eventId: `e-${randomUUID()}` });
      expect(again.outcome.replies).toEqual(expected.outcome.replies);
      expect(again.outcome.started).toEqual(expected.outcome.started);
      expect(await row(user)).toHaveLength(1);
      // A /start redelivered to the other instance (the first delivery was processed): a duplicate there too.
      const eventId = `e-${randomUUID()}`;
      const fresh = `u-${randomUUID()}`;
      await turn(1, fresh, start(now), { eventId });
      const redelivered = await turn(0, fresh, start(now), { eventId });
      expect(redelivered.outcome.duplicate).toBe(true);
      // Even once the conversation is gone (/stop on instance 1): the insert succeeds alone, the event does not.
      await turn(1, fresh, { kind: 'text', now: now + 1, text: '/stop', locale: 'fr', capabilities: CAPS });
      expect(await row(fresh)).toHaveLength(0);
      const late = await turn(0, fresh, start(now), { eventId });
      expect(late.outcome.duplicate).toBe(true);
      expect(await row(fresh)).toHaveLength(0);
    });

    it('a row an earlier version of the service inserted (version 1, counting up) is never kept', async () => {
      const user = `u-${randomUUID()}`;
      const now = Date.now();
      const first = await turn(0, user, start(now));
      // As an older instance leaves it: its rows start at 1 (a successor row could reach a kept version).
      await db.query('UPDATE conversations SET version = 1 WHERE user_hash = $1', [
        instances[0]!.service.userHash('cli', user),
      ]);
      const choices = lastChoices(first.outcome.replies)!;
      const a = await turn(0, user, choose(now + 1, choices.stepId, 'unsafe'));
      expect(a.statements).toBe(3);
      const b = await turn(0, user, choose(now + 2, lastChoices(a.outcome.replies)!.stepId, 'continue'));
      // Written at version 2 by this turn: not kept, so the next turn reads.
      expect(b.statements).toBe(2);
    });

    it('/suivi never starts from a copy: a receipt attempt is counted once, by the turn that is written', async () => {
      const user = `u-${randomUUID()}`;
      const now = Date.now();
      const first = await turn(0, user, start(now));
      // The other instance answers: this one's copy is stale (its write would lose and the turn run again).
      await turn(1, user, choose(now + 1, lastChoices(first.outcome.replies)!.stepId, 'unsafe'));
      const suivi = await turn(0, user, {
        kind: 'text',
        now: now + 2,
        text: '/suivi ABCD-EFGH-JKLM',
        locale: 'fr',
        capabilities: CAPS,
      });
      const said = suivi.outcome.replies.map((r) => ('text' in r ? r.text : '')).join(' ');
      // The one allowed attempt, answered as an unknown code, not refused as too many attempts.
      expect(said).toContain('Aucune réponse pour ce code');
    });

    it('a conversation ended and started again on another instance: the old copy is never written over the new one', async () => {
      const user = `u-${randomUUID()}`;
      const now = Date.now();
      await turn(0, user, start(now));
      // On the other instance: the youth conversation stopped, a professional one started (a new row).
      await turn(1, user, { kind: 'text', now: now + 1, text: '/stop', locale: 'fr', capabilities: CAPS });
      const pro = await turn(1, user, start(now + 2, 'pro'));
      const proChoices = lastChoices(pro.outcome.replies)!;
      // The first instance still holds its copy of the youth row: its next turn must run on the professional one.
      const next = await turn(0, user, choose(now + 3, proChoices.stepId, proChoices.options[0]!.id));
      expect(next.statements).toBe(3);
      // The same press on a new professional conversation: the same next step.
      const control = `u-${randomUUID()}`;
      await turn(1, control, start(now, 'pro'));
      const expected = await turn(1, control, choose(now + 3, proChoices.stepId, proChoices.options[0]!.id));
      expect(next.outcome.replies).toEqual(expected.outcome.replies);
    });
  });
}
