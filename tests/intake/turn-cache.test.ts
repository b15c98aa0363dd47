import { describe, expect, it } from 'vitest';
import { TurnCache } from '../../src/intake/turn-cache.js';
import type { TurnRow } from '../../src/store/index.js';

const row = (h: string, version = 1): TurnRow => ({
  user_hash: h,
  state: new Uint8Array([1]),
  version,
  unsent: true,
  channel_updates: [],
});

describe('TurnCache: copies of rows, bounded in count and age', () => {
  it('keeps at most maxEntries, dropping the least recently written', () => {
    const cache = new TurnCache(2, 60_000);
    cache.put(row('a'));
    cache.put(row('b'));
    cache.put(row('a', 2));
    cache.put(row('c'));
    expect(cache.size).toBe(2);
    expect(cache.take('b')).toBeUndefined();
    expect(cache.take('a')?.version).toBe(2);
    // Taken out: a second turn of the same user meanwhile reads the row.
    expect(cache.take('a')).toBeUndefined();
  });

  it('drops a copy unused for longer than maxAgeMs, at a take or at a sweep', () => {
    let now = 0;
    const cache = new TurnCache(10, 1000, () => now);
    cache.put(row('a'));
    cache.put(row('b'));
    now = 1001;
    expect(cache.take('a')).toBeUndefined();
    cache.sweep();
    expect(cache.size).toBe(0);
  });

  it('follows the work after sending only when it is the change expected, never in place', () => {
    const cache = new TurnCache(10, 60_000);
    const first = row('a', 5);
    cache.put(first);
    const update = new Uint8Array([9]);
    cache.afterSend('a', { version: 5, updates: 1, outboxEmpty: true }, update);
    const followed = cache.take('a')!;
    expect(followed.channel_updates).toEqual([update]);
    expect(followed.unsent).toBe(false);
    expect(first.channel_updates).toEqual([]);
    cache.put(followed);
    // Another version, or another count of updates than this copy plus the one appended: the copy goes.
    cache.afterSend('a', { version: 6, updates: 1, outboxEmpty: true }, undefined);
    expect(cache.take('a')).toBeUndefined();
    cache.put(followed);
    cache.afterSend('a', { version: 5, updates: 3, outboxEmpty: true }, update);
    expect(cache.take('a')).toBeUndefined();
  });
});
