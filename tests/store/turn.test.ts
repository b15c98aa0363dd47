/**
 * The turn's statements (src/store/conversations.ts): BEGIN, lock and deduplication in one round trip, the read
 * after it, the outbox riding on the state's write, and channel updates appended without the lock but never
 * lost to a turn in progress.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendChannelUpdate,
  beginTurnFresh,
  beginTurnSql,
  type Database,
  findConversation,
  MAX_CHANNEL_UPDATES,
  migrate,
  saveConversation,
} from '../../src/store/index.js';
import { backends } from '../support/databases.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const row = (userHash: string, state: string) => ({
  userHash,
  channel: 'telegram',
  state: bytes(state),
  keyFingerprint: 'fp',
  expiresAt: new Date(Date.now() + 60_000),
});

for (const backend of backends()) {
  describe(`turn statements [${backend.name}]`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db);
    });
    afterAll(async () => {
      await cleanup?.();
    });

    it('records an event once with BEGIN and the lock: a redelivery is not fresh, a failed turn leaves it unrecorded; refuses a value that is not a plain literal', async () => {
      const event = { channel: 'telegram', eventHash: 'abc123' };
      const first = await db.transactionFrom(beginTurnSql('u9', event), async (_tx, rows) =>
        beginTurnFresh(rows),
      );
      expect(first).toBe(true);
      const again = await db.transactionFrom(beginTurnSql('u9', event), async (_tx, rows) =>
        beginTurnFresh(rows),
      );
      expect(again).toBe(false);
      // Rolled back with the turn: a failed turn leaves its event unrecorded.
      await expect(
        db.transactionFrom(
          beginTurnSql('u9', { channel: 'telegram', eventHash: 'def456' }),
          async (_tx, rows) => {
            expect(beginTurnFresh(rows)).toBe(true);
            throw new Error('turn failed');
          },
        ),
      ).rejects.toThrow('turn failed');
      expect(
        await db.transactionFrom(
          beginTurnSql('u9', { channel: 'telegram', eventHash: 'def456' }),
          async (_tx, rows) => beginTurnFresh(rows),
        ),
      ).toBe(true);
      // The transaction is a real one: what the function writes is committed with the first statement.
      await db.transactionFrom(beginTurnSql('u9'), async (tx, rows) => {
        expect(beginTurnFresh(rows)).toBe(true);
        await saveConversation(tx, row('u9', 'in-tx'));
      });
      expect(text((await findConversation(db, ['u9']))!.state)).toBe('in-tx');
      for (const bad of ["x'; DROP TABLE conversations; --", 'a\\b', '', 'é', 'x'.repeat(129)]) {
        expect(() => beginTurnSql(bad)).toThrow('not a plain literal');
        expect(() => beginTurnSql('u9', { channel: 'telegram', eventHash: bad })).toThrow(
          'not a plain literal',
        );
      }
    });

    it('writes the outbox entry with the state, and the write empties the recorded updates', async () => {
      await db.transaction((tx) =>
        saveConversation(tx, row('u2', 'state-1'), {
          channel: 'telegram',
          eventHash: 'ev-o',
          userHash: 'u2',
          sealed: bytes('pending'),
        }),
      );
      const pending = await db.query<{ sealed: Uint8Array }>(
        "SELECT sealed FROM pending_replies WHERE event_hash = 'ev-o'",
      );
      expect(text(new Uint8Array(pending.rows[0]!.sealed))).toBe('pending');
      await appendChannelUpdate(db, ['u2'], bytes('a'), { channel: 'telegram', eventHash: 'ev-o' });
      await appendChannelUpdate(db, ['u2'], bytes('b'));
      expect((await db.query("SELECT 1 FROM pending_replies WHERE event_hash = 'ev-o'")).rows).toEqual([]);
      const found = await findConversation(db, ['u2']);
      expect(found?.channel_updates.map(text)).toEqual(['a', 'b']);
      await db.transaction((tx) => saveConversation(tx, row('u2', 'state-2')));
      expect((await findConversation(db, ['u2']))?.channel_updates).toEqual([]);
      // Nothing is appended to a conversation that is gone, and a flood of updates is capped.
      await appendChannelUpdate(db, ['nobody'], bytes('x'));
      expect(await findConversation(db, ['nobody'])).toBeUndefined();
      for (let i = 0; i < MAX_CHANNEL_UPDATES + 5; i++)
        await appendChannelUpdate(db, ['u2'], bytes(String(i)));
      expect((await findConversation(db, ['u2']))?.channel_updates).toHaveLength(MAX_CHANNEL_UPDATES);
    });

    it('an update appended while a turn is in progress lands after the turn, never overwritten', async () => {
      await db.transaction((tx) => saveConversation(tx, row('u3', 'before')));
      let appended: Promise<void> | undefined;
      await db.transactionFrom(beginTurnSql('u3'), async (tx) => {
        const found = await findConversation(tx, ['u3'], true);
        expect(found?.channel_updates).toEqual([]);
        // The channel records the ids of messages sent for an earlier turn, from another connection.
        appended = appendChannelUpdate(db, ['u3'], bytes('sent-ids'));
        await new Promise((r) => setTimeout(r, 150));
        await saveConversation(tx, row('u3', 'after'));
      });
      await appended;
      const found = await findConversation(db, ['u3']);
      expect(text(found!.state)).toBe('after');
      expect(found?.channel_updates.map(text)).toEqual(['sent-ids']);
    });
  });
}
