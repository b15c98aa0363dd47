/**
 * The conversation rows this instance last wrote, kept so that the next turn of the same user can skip the
 * read: a turn is then one statement (its write) instead of two.
 *
 * What is kept is the row as stored, never more: the sealed state (opened again at each turn, like a read
 * row), its version, the sealed channel updates appended since, whether it holds an outbox entry. Nothing
 * here is trusted: a turn started from a kept copy writes only if the row is still exactly that copy
 * (version, number of channel updates, outbox; `writeTurn` with `from.exact`), else nothing is written and
 * the turn runs again from a real read. Another instance's turn, the expiry purge, a notice's channel
 * update: each makes the copy stale, and a stale copy costs one statement, never a wrong write.
 *
 * A copy is taken out while a turn uses it (a second turn of the same user meanwhile reads the row), and
 * put back by the turn's successful write. Bounded in count and age: an entry unused for `maxAgeMs` goes.
 */
import type { TurnRow } from '../store/index.js';

interface Kept {
  row: TurnRow;
  at: number;
}

export class TurnCache {
  private readonly rows = new Map<string, Kept>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** Takes the copy of a row out (undefined when none, or too old): the caller puts back what it writes. */
  take(userHash: string): TurnRow | undefined {
    const kept = this.rows.get(userHash);
    if (!kept) return undefined;
    this.rows.delete(userHash);
    return this.now() - kept.at <= this.maxAgeMs ? kept.row : undefined;
  }

  /** Keeps the row as this instance just wrote it (the newest entry; the oldest go past the bound). */
  put(row: TurnRow): void {
    this.rows.delete(row.user_hash);
    this.rows.set(row.user_hash, { row, at: this.now() });
    this.sweep();
  }

  /**
   * The work after sending changed a row (`recordAfterSend`): the copy follows when it is the version the
   * row had and the change is the one expected (the update appended, or nothing appended); otherwise the
   * copy goes. Never changes a row object in place: a turn may hold it.
   */
  afterSend(
    userHash: string,
    seen: { version: number; updates: number; outboxEmpty: boolean },
    appended: Uint8Array | undefined,
  ): void {
    const kept = this.rows.get(userHash);
    if (!kept) return;
    const { row } = kept;
    const expected = row.channel_updates.length + (appended ? 1 : 0);
    if (seen.version !== row.version || seen.updates !== expected) {
      this.rows.delete(userHash);
      return;
    }
    kept.row = {
      ...row,
      channel_updates: appended ? [...row.channel_updates, appended] : row.channel_updates,
      unsent: !seen.outboxEmpty,
    };
  }

  forget(userHash: string): void {
    this.rows.delete(userHash);
  }

  /** Drops entries past the count bound and, oldest first, those unused for longer than `maxAgeMs`. */
  sweep(): void {
    const limit = this.now() - this.maxAgeMs;
    for (const [key, kept] of this.rows) {
      if (this.rows.size > this.maxEntries || kept.at < limit) this.rows.delete(key);
      else break;
    }
  }
}
