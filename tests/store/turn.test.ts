/**
 * The turn's statements (src/store/conversations.ts): BEGIN, lock and deduplication in one round trip, the read
 * after it, the outbox riding on the state's write, and channel updates appended without the lock but never
 * lost to a turn in progress.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendChannelUpdate,
  beginTurnFresh,
  beginTurnSql,
  confirmPendingReplies,
  type Database,
  findConversation,
  MAX_CHANNEL_UPDATES,
  migrate,
  readTurn,
  recordAfterSend,
  saveConversation,
  writeTurn,
} from '../../src/store/index.js';
import { backends } from '../support/databases.js';
import { bytes, row, text } from '../support/turn-rows.js';

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

    it('readTurn and writeTurn: a compare-and-set on the version; a lost one writes nothing, not even the event or the outbox entry', async () => {
      const event = { channel: 'telegram', eventHash: 'cas-1' };
      const fresh = await readTurn(db, ['c1'], event);
      expect(fresh).toEqual({ seen: false });
      const outbox = { channel: 'telegram', eventHash: 'cas-1', userHash: 'c1', sealed: bytes('replies-1') };
      expect(await writeTurn(db, { op: 'save', row: row('c1', 'v1') }, event, outbox)).toBe('ok');
      const read = await readTurn(db, ['c1'], { channel: 'telegram', eventHash: 'cas-2' });
      expect(read.seen).toBe(false);
      expect(read.row?.version).toBe(1);
      expect(text(read.row!.state)).toBe('v1');
      // A redelivery of the first event: seen, with its outbox entry, in the same statement.
      const again = await readTurn(db, ['c1'], event);
      expect(again.seen).toBe(true);
      expect(text(again.pending!)).toBe('replies-1');
      // Two turns read version 1; the first write wins, the second finds the version changed.
      const from = { userHash: 'c1', version: 1, folded: 0 };
      expect(
        await writeTurn(
          db,
          { op: 'save', row: row('c1', 'v2'), from },
          { channel: 'telegram', eventHash: 'cas-2' },
        ),
      ).toBe('ok');
      const lost = await writeTurn(
        db,
        { op: 'save', row: row('c1', 'v2-bis'), from },
        { channel: 'telegram', eventHash: 'cas-3' },
        { channel: 'telegram', eventHash: 'cas-3', userHash: 'c1', sealed: bytes('replies-3') },
      );
      expect(lost).toBe('conflict');
      const after = await readTurn(db, ['c1'], { channel: 'telegram', eventHash: 'cas-3' });
      expect(after.seen).toBe(false);
      expect(after.pending).toBeUndefined();
      expect(text(after.row!.state)).toBe('v2');
      expect(after.row!.version).toBe(2);
      // A new row where one appeared meanwhile, and a delete of a version that is gone, lose too.
      expect(await writeTurn(db, { op: 'save', row: row('c1', 'new') })).toBe('conflict');
      expect(await writeTurn(db, { op: 'delete', userHash: 'c1', version: 1 })).toBe('conflict');
      // The event recorded meanwhile (the same update delivered twice at once): nothing written.
      const dup = await writeTurn(
        db,
        { op: 'save', row: row('c1', 'v3'), from: { userHash: 'c1', version: 2, folded: 0 } },
        { channel: 'telegram', eventHash: 'cas-2' },
      );
      expect(dup).toBe('duplicate');
      expect(text((await readTurn(db, ['c1'])).row!.state)).toBe('v2');
      // A turn without a conversation and without a new state still records its event (and outbox entry).
      expect(await writeTurn(db, { op: 'none' }, { channel: 'telegram', eventHash: 'cas-4' })).toBe('ok');
      expect((await readTurn(db, ['nobody'], { channel: 'telegram', eventHash: 'cas-4' })).seen).toBe(true);
      expect(await writeTurn(db, { op: 'delete', userHash: 'c1', version: 2 })).toBe('ok');
      expect((await readTurn(db, ['c1'])).row).toBeUndefined();
    });

    it('keeps a sealed row of a few KB whole in its page: no compression attempt, nothing moved to TOAST', async () => {
      // Ciphertext never compresses: a row over ~2 KB (a long question in its outbox entry) used to be
      // compressed in vain and moved out of line at every write (migration 0018).
      const state = randomBytes(1800);
      const noise = (n: number) => (n === 1800 ? state : randomBytes(n));
      const toast = async () =>
        (
          await db.query<{ n: string }>(
            "SELECT pg_relation_size(reltoastrelid)::text AS n FROM pg_class WHERE relname = 'conversations'",
          )
        ).rows[0]!.n;
      expect(await toast()).toBe('0');
      const big = { ...row('t1', ''), state: noise(1800) };
      const outbox = { channel: 'telegram', eventHash: 'toast-1', userHash: 't1', sealed: noise(3000) };
      expect(
        await writeTurn(db, { op: 'save', row: big }, { channel: 'telegram', eventHash: 'toast-1' }, outbox),
      ).toBe('ok');
      expect(await toast()).toBe('0');
      expect(Buffer.from((await readTurn(db, ['t1'])).row!.state).equals(Buffer.from(noise(1800)))).toBe(
        true,
      );
      expect(
        await writeTurn(db, { op: 'delete', userHash: 't1', version: 1, unsent: true, dropUnsent: true }),
      ).toBe('ok');
    });

    it('a submitted report is inserted by the write itself, only when its compare-and-set wins; a reference drawn twice is a conflict', async () => {
      const report = (reference: string) => ({
        id: randomUUID(),
        reference,
        inboxId: 'coordination',
        flowKind: 'youth' as const,
        channel: 'telegram',
        urgency: 'high' as const,
        envelopeVersion: 1,
        nonce: 'n',
        ciphertext: 'c',
        receiptTag: `tag-${reference}`,
        receivedAt: new Date(),
        keys: [],
      });
      const count = async (reference: string) =>
        (
          await db.query<{ n: number }>('SELECT count(*)::int AS n FROM reports WHERE reference = $1', [
            reference,
          ])
        ).rows[0]!.n;
      expect(await writeTurn(db, { op: 'save', row: row('s1', 'answers') })).toBe('ok');
      const version = (await readTurn(db, ['s1'])).row!.version;
      // Lost: another turn wrote the conversation since it was read. No report.
      const lost = await writeTurn(
        db,
        { op: 'delete', userHash: 's1', version: version + 1 },
        { channel: 'telegram', eventHash: 'sub-1' },
        undefined,
        report('REF-LOST'),
      );
      expect(lost).toBe('conflict');
      expect(await count('REF-LOST')).toBe(0);
      // A reference already taken: nothing written, the caller runs the turn again with another one.
      expect(
        await writeTurn(
          db,
          { op: 'none' },
          { channel: 'telegram', eventHash: 'sub-0' },
          undefined,
          report('REF-1'),
        ),
      ).toBe('ok');
      const taken = await writeTurn(
        db,
        { op: 'delete', userHash: 's1', version },
        { channel: 'telegram', eventHash: 'sub-2' },
        undefined,
        report('REF-1'),
      );
      expect(taken).toBe('conflict');
      expect((await readTurn(db, ['s1'], { channel: 'telegram', eventHash: 'sub-2' })).seen).toBe(false);
      expect((await readTurn(db, ['s1'])).row?.version).toBe(version);
      // Won: the conversation goes, the event is recorded and the report is there, in one statement.
      const won = await writeTurn(
        db,
        { op: 'delete', userHash: 's1', version },
        { channel: 'telegram', eventHash: 'sub-2' },
        undefined,
        report('REF-2'),
      );
      expect(won).toBe('ok');
      expect(await count('REF-2')).toBe(1);
      expect((await readTurn(db, ['s1'], { channel: 'telegram', eventHash: 'sub-2' })).seen).toBe(true);
      expect((await readTurn(db, ['s1'])).row).toBeUndefined();
    });

    it('keeps the outbox entry in the row, clears it once sent, and never loses one left unsent', async () => {
      const ev = (n: number) => ({ channel: 'telegram', eventHash: `ob-${n}` });
      const entry = (n: number) => ({ ...ev(n), userHash: 'o1', sealed: bytes(`replies-${n}`) });
      const inTable = async () =>
        (
          await db.query<{ event_hash: string }>(
            "SELECT event_hash FROM pending_replies WHERE event_hash LIKE 'ob-%' ORDER BY event_hash",
          )
        ).rows.map((r) => r.event_hash);
      // Turn 1 creates the conversation: its entry is in the row, none in pending_replies.
      expect(await writeTurn(db, { op: 'save', row: row('o1', 's1') }, ev(1), entry(1))).toBe('ok');
      expect(await inTable()).toEqual([]);
      let read = await readTurn(db, ['o1'], ev(1));
      expect(text(read.pending!)).toBe('replies-1');
      expect(read.row!.unsent).toBe(true);
      // Sent and confirmed: cleared from the row by the work after sending; a redelivery gets nothing.
      await recordAfterSend(db, [{ userHashes: ['o1'], delivered: ev(1) }]);
      read = await readTurn(db, ['o1'], ev(1));
      expect(read.seen).toBe(true);
      expect(read.pending).toBeUndefined();
      expect(read.row!.unsent).toBe(false);
      // Turn 2 writes its entry; the instance dies before sending. Turn 3 (another update) writes next:
      // turn 2's entry moves to pending_replies, where its redelivery still finds it.
      const from = (r: Awaited<ReturnType<typeof readTurn>>) => ({
        userHash: 'o1',
        version: r.row!.version,
        folded: 0,
        unsent: r.row!.unsent,
      });
      expect(
        await writeTurn(db, { op: 'save', row: row('o1', 's2'), from: from(read) }, ev(2), entry(2)),
      ).toBe('ok');
      read = await readTurn(db, ['o1'], ev(3));
      expect(read.row!.unsent).toBe(true);
      expect(
        await writeTurn(db, { op: 'save', row: row('o1', 's3'), from: from(read) }, ev(3), entry(3)),
      ).toBe('ok');
      expect(await inTable()).toEqual(['ob-2']);
      expect(text((await readTurn(db, ['o1'], ev(2))).pending!)).toBe('replies-2');
      expect(text((await readTurn(db, ['o1'], ev(3))).pending!)).toBe('replies-3');
      // A turn that ends the conversation keeps the unsent entry too, and puts its own in the table.
      read = await readTurn(db, ['o1'], ev(4));
      expect(
        await writeTurn(
          db,
          { op: 'delete', userHash: 'o1', version: read.row!.version, unsent: read.row!.unsent },
          ev(4),
          entry(4),
        ),
      ).toBe('ok');
      expect(await inTable()).toEqual(['ob-2', 'ob-3', 'ob-4']);
      // Confirmed sent (the Teams path): gone from the table and the row alike.
      await confirmPendingReplies(db, 'telegram', ['ob-2', 'ob-3', 'ob-4'], ['o1']);
      expect(await inTable()).toEqual([]);
      // An erase drops the unsent entry with the row.
      expect(await writeTurn(db, { op: 'save', row: row('o1', 's5') }, ev(5), entry(5))).toBe('ok');
      read = await readTurn(db, ['o1'], ev(6));
      expect(
        await writeTurn(
          db,
          { op: 'delete', userHash: 'o1', version: read.row!.version, unsent: true, dropUnsent: true },
          ev(6),
        ),
      ).toBe('ok');
      expect(await inTable()).toEqual([]);
      expect((await readTurn(db, ['o1'], ev(5))).pending).toBeUndefined();
    });

    it("updates appended between a turn's read and its write stay for the next turn; the ones it read go", async () => {
      await writeTurn(db, { op: 'save', row: row('c2', 's1') });
      await recordAfterSend(db, [{ userHashes: ['c2'], sealed: bytes('a') }]);
      const read = await readTurn(db, ['c2']);
      expect(read.row!.channel_updates.map(text)).toEqual(['a']);
      // Recorded after the read (the channel's work after sending an earlier turn, another connection).
      await recordAfterSend(db, [{ userHashes: ['c2'], sealed: bytes('b') }]);
      const from = { userHash: 'c2', version: read.row!.version, folded: read.row!.channel_updates.length };
      expect(await writeTurn(db, { op: 'save', row: row('c2', 's2'), from })).toBe('ok');
      const next = await readTurn(db, ['c2']);
      expect(text(next.row!.state)).toBe('s2');
      expect(next.row!.channel_updates.map(text)).toEqual(['b']);
    });

    it('recordAfterSend: the work after sending of several turns in one statement', async () => {
      await writeTurn(db, { op: 'save', row: row('b1', 's') });
      await writeTurn(db, { op: 'save', row: row('b2', 's') });
      for (const [user, ev] of [
        ['b1', 'as-1'],
        ['b2', 'as-2'],
        ['b3', 'as-3'],
      ] as const) {
        expect(
          await writeTurn(
            db,
            { op: 'none' },
            { channel: 'telegram', eventHash: ev },
            {
              channel: 'telegram',
              eventHash: ev,
              userHash: user,
              sealed: bytes(`r-${ev}`),
            },
          ),
        ).toBe('ok');
      }
      await recordAfterSend(db, [
        { userHashes: ['b1'], sealed: bytes('b1-x'), delivered: { channel: 'telegram', eventHash: 'as-1' } },
        {
          userHashes: ['b2-old', 'b2'],
          sealed: bytes('b2-x'),
          delivered: { channel: 'telegram', eventHash: 'as-2' },
          trail: { userHash: 'b2', channel: 'telegram', sealed: bytes('ids-1') },
        },
        {
          userHashes: ['b1'],
          sealed: bytes('b1-y'),
          trail: { userHash: 'b1', channel: 'telegram', sealed: bytes('ids-2') },
        },
        // A conversation that is gone: its trail is kept, its update goes nowhere.
        {
          userHashes: ['b3'],
          sealed: bytes('b3-x'),
          trail: { userHash: 'b3', channel: 'telegram', sealed: bytes('ids-3') },
        },
      ]);
      expect((await readTurn(db, ['b1'])).row!.channel_updates.map(text)).toEqual(['b1-x', 'b1-y']);
      expect((await readTurn(db, ['b2'])).row!.channel_updates.map(text)).toEqual(['b2-x']);
      expect((await readTurn(db, ['b3'])).row).toBeUndefined();
      const pending = await db.query<{ event_hash: string }>(
        "SELECT event_hash FROM pending_replies WHERE event_hash LIKE 'as-%' ORDER BY event_hash",
      );
      expect(pending.rows.map((r) => r.event_hash)).toEqual(['as-3']);
      const trail = await db.query<{ user_hash: string; sealed: Uint8Array }>(
        "SELECT user_hash, sealed FROM message_trail WHERE user_hash LIKE 'b%' ORDER BY id",
      );
      expect(trail.rows.map((r) => [r.user_hash, text(new Uint8Array(r.sealed))])).toEqual([
        ['b2', 'ids-1'],
        ['b1', 'ids-2'],
        ['b3', 'ids-3'],
      ]);
    });
  });
}
