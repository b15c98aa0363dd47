/**
 * The outbox entry in the conversation row (migration 0017) under concurrency, on PostgreSQL (row locks and
 * READ COMMITTED snapshots are what is tested; the embedded database has one connection). A review found
 * two races in the first version, reproduced here; each test holds one side in an open transaction so the
 * other waits on the row lock, then checks that a confirmed entry is never sent again and an unconfirmed
 * one never lost:
 * - A: the confirmation commits while the next turn's write waits: that write must not put the confirmed
 *   entry back into pending_replies (it read the row from an older snapshot);
 * - B: the next turn's write (moving the unconfirmed entry to pending_replies) commits while the
 *   confirmation waits: the confirmation must still delete it there (Telegram's batch and Teams' path);
 * - C: the expiry purge keeps an unconfirmed entry for a late redelivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  confirmPendingReplies,
  type Database,
  migrate,
  purgeExpiredConversations,
  readTurn,
  recordAfterSend,
  writeTurn,
} from '../../src/store/index.js';
import { backends } from '../support/databases.js';
import { bytes, row, text } from '../support/turn-rows.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of backends().filter((b) => b.name === 'postgres')) {
  describe('outbox entry in the row, concurrent turns and confirmations [postgres]', () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db);
    });
    afterAll(async () => {
      await cleanup?.();
    });
    const ev = (u: string, n: number) => ({ channel: 'telegram', eventHash: `${u}-${n}` });
    const entry = (u: string, n: number) => ({
      ...ev(u, n),
      userHash: u,
      sealed: bytes(`replies-${u}-${n}`),
    });
    const inTable = async (u: string) =>
      (
        await db.query<{ event_hash: string }>(
          'SELECT event_hash FROM pending_replies WHERE user_hash = $1 ORDER BY event_hash',
          [u],
        )
      ).rows.map((r) => r.event_hash);
    /** Runs `fn` in a transaction kept open until the returned `release` is called. */
    function held(fn: (tx: Database) => Promise<unknown>) {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const done = db.transaction(async (tx) => {
        await fn(tx as unknown as Database);
        await gate;
      });
      return { release, done };
    }
    /** Turn 1 of `u` written with its entry in the row; turn 2's read, which sees it unconfirmed. */
    async function twoTurns(u: string) {
      expect(await writeTurn(db, { op: 'save', row: row(u, 's1') }, ev(u, 1), entry(u, 1))).toBe('ok');
      const read = await readTurn(db, [u], ev(u, 2));
      expect(read.row!.unsent).toBe(true);
      return { userHash: u, version: read.row!.version, folded: 0, unsent: true };
    }

    it('A: a write waiting on a confirmation does not bring the confirmed entry back', async () => {
      const u = 'ra';
      const from = await twoTurns(u);
      const confirm = held((tx) => recordAfterSend(tx, [{ userHashes: [u], delivered: ev(u, 1) }]));
      await sleep(100);
      const write = writeTurn(db, { op: 'save', row: row(u, 's2'), from }, ev(u, 2), entry(u, 2));
      await sleep(200);
      confirm.release();
      await confirm.done;
      expect(await write).toBe('ok');
      expect(await inTable(u)).toEqual([]);
      // A redelivery of the confirmed event gets nothing to send again; turn 2's entry is found.
      expect((await readTurn(db, [u], ev(u, 1))).pending).toBeUndefined();
      expect(text((await readTurn(db, [u], ev(u, 2))).pending!)).toBe('replies-ra-2');
    });

    it('A (end of the conversation): a delete waiting on a confirmation keeps nothing confirmed', async () => {
      const u = 'rae';
      const from = await twoTurns(u);
      const confirm = held((tx) => recordAfterSend(tx, [{ userHashes: [u], delivered: ev(u, 1) }]));
      await sleep(100);
      const write = writeTurn(
        db,
        { op: 'delete', userHash: u, version: from.version, unsent: true },
        ev(u, 2),
      );
      await sleep(200);
      confirm.release();
      await confirm.done;
      expect(await write).toBe('ok');
      expect(await inTable(u)).toEqual([]);
    });

    for (const [name, confirmIt] of [
      [
        'the batch after sending',
        (u: string) => recordAfterSend(db, [{ userHashes: [u], delivered: ev(u, 1) }]),
      ],
      ['Teams', (u: string) => confirmPendingReplies(db, 'telegram', [ev(u, 1).eventHash], [u])],
    ] as const) {
      it(`B (${name}): a confirmation waiting on a write that moved the entry still deletes it`, async () => {
        const u = name === 'Teams' ? 'rbt' : 'rb';
        const from = await twoTurns(u);
        const write = held(async (tx) => {
          expect(await writeTurn(tx, { op: 'save', row: row(u, 's2'), from }, ev(u, 2), entry(u, 2))).toBe(
            'ok',
          );
        });
        await sleep(100);
        const confirm = confirmIt(u);
        await sleep(200);
        write.release();
        await write.done;
        await confirm;
        expect(await inTable(u)).toEqual([]);
        expect((await readTurn(db, [u], ev(u, 1))).pending).toBeUndefined();
        expect(text((await readTurn(db, [u], ev(u, 2))).pending!)).toBe(`replies-${u}-2`);
      });
    }

    it('C: the expiry purge keeps an unconfirmed entry for a late redelivery', async () => {
      const u = 'rd';
      expect(await writeTurn(db, { op: 'save', row: row(u, 's1', -1000) }, ev(u, 1), entry(u, 1))).toBe('ok');
      expect(await purgeExpiredConversations(db, new Date())).toBeGreaterThanOrEqual(1);
      const redelivery = await readTurn(db, [u], ev(u, 1));
      expect(redelivery.seen).toBe(true);
      expect(text(redelivery.pending!)).toBe('replies-rd-1');
    });
  });
}
