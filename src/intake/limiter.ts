/**
 * Sliding-window counters (receipt guessing, per-user floods). Keys are hashes, never raw ids. In process by
 * default (each instance counts on its own); the `/suivi` receipt limits are shared through Redis when
 * REDIS_URL is set (SharedWindowLimiter below), so N instances do not multiply the guesses allowed.
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

/** Something that counts attempts: the in-memory limiter above, or one shared through Redis. */
export interface AttemptLimiter {
  readonly max: number;
  readonly windowMs: number;
  /** Records an attempt at `now`; resolves false when the key is over its limit (the attempt is not counted). */
  take(key: string, now: number): Promise<boolean>;
}

/** The in-memory limiter behind the async interface. */
export function localLimiter(max: number, windowMs: number): AttemptLimiter & { local: WindowLimiter } {
  const local = new WindowLimiter(max, windowMs);
  return { max, windowMs, local, take: async (key, now) => local.take(key, now) };
}

/** The part of an ioredis client the shared limiter uses. */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

// The same sliding window as WindowLimiter, atomically in Redis: attempts are scores in a sorted set.
const SLIDING_WINDOW = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return 1`;

/**
 * A sliding-window limiter whose counts live in Redis, so every instance sharing it shares the counts.
 * Keys are `<prefix><key>` (the key is already a hash, never a raw id). When Redis fails, the attempt is
 * counted by this instance's own in-memory limiter instead: the bound degrades to per-instance, never to none.
 */
export class SharedWindowLimiter implements AttemptLimiter {
  private readonly fallback: WindowLimiter;
  private seq = 0;

  constructor(
    private readonly redis: RedisEval,
    private readonly prefix: string,
    readonly max: number,
    readonly windowMs: number,
    private readonly onError?: (err: unknown) => void,
  ) {
    this.fallback = new WindowLimiter(max, windowMs);
  }

  async take(key: string, now: number): Promise<boolean> {
    // Unique member per attempt (two attempts in the same millisecond both count).
    const member = `${now}:${process.pid}:${++this.seq}:${Math.random().toString(36).slice(2, 10)}`;
    try {
      const r = await this.redis.eval(
        SLIDING_WINDOW,
        1,
        `${this.prefix}${key}`,
        now,
        this.windowMs,
        this.max,
        member,
      );
      return Number(r) === 1;
    } catch (err) {
      this.onError?.(err);
      return this.fallback.take(key, now);
    }
  }
}
