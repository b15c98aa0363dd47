/**
 * Small in-process sliding-window counters (receipt guessing, per-user floods). Keys are hashes, never raw
 * ids. Each instance counts on its own; the limits are low enough that several instances still bound
 * guessing far below anything useful against an 80-bit receipt.
 */
export class WindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Records an attempt at `now`; false when the key is over its limit (the attempt is not counted). */
  take(key: string, now: number): boolean {
    this.sweep(now);
    const since = now - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > since);
    if (list.length >= this.max) {
      this.hits.set(key, list);
      return false;
    }
    list.push(now);
    this.hits.set(key, list);
    return true;
  }

  private sweep(now: number) {
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    const since = now - this.windowMs;
    for (const [k, list] of this.hits) if (!list.some((t) => t > since)) this.hits.delete(k);
  }
}
