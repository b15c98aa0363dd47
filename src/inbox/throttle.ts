/**
 * Failed-login throttling that an attacker cannot turn against the coordinator on duty. Failures are
 * counted per (login, source address): the address that keeps failing is the one that waits. A slower
 * global brake per login (many failures from anywhere) makes every address that fails while it is on wait
 * after its first failure, but it never refuses an address that has not failed, so the right passphrase
 * from a clean address always gets in. Logins and addresses are stored only as keyed hashes (HMAC with a
 * master-key-derived key), never in clear; the answer never says how long a lock lasts.
 */
import { createHmac } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { clearLoginFailures, loginLockedUntil, type Queryable, recordLoginFailure } from '../store/index.js';
import { type InboxKeys, normalizeLogin } from './security.js';

/** Throttling policy (defaults in inboxOptions). */
export interface ThrottlePolicy {
  /** Failures per (login, address) before that pair is locked. */
  freeFailures: number;
  /** First lock of a pair, doubled at every further failure, at most `lockMaxSeconds`. */
  lockBaseSeconds: number;
  lockMaxSeconds: number;
  /** Failures for one login, from any address, before the global brake turns on. */
  globalFreeFailures: number;
  /** How long the brake stays on after the failure that (re)started it, doubling, at most lockMaxSeconds. */
  globalBrakeSeconds: number;
}

/**
 * The part of an address failures are counted under: IPv4 as is, IPv6 by its /64 (one subscriber usually
 * holds a whole /64, so counting single IPv6 addresses would let one attacker rotate through billions).
 */
export function addressBucket(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return `other:${ip}`;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The keyed names a login attempt is counted under. Distinct prefixes keep the two kinds apart. */
export function throttleKeys(keys: InboxKeys, login: string, ip: string): { pair: string; global: string } {
  const mac = (text: string) => createHmac('sha256', keys.loginThrottle).update(text, 'utf8').digest('hex');
  const name = normalizeLogin(login);
  return { pair: mac(`pair\0${name}\0${addressBucket(ip)}`), global: mac(`login\0${name}`) };
}

/** Login throttling over the `inbox_login_failures` counters. */
export function loginThrottle(db: Queryable, keys: InboxKeys, policy: ThrottlePolicy) {
  return {
    /** Whether this address must wait before trying this login again (right passphrase or not). */
    async isLocked(login: string, ip: string): Promise<boolean> {
      return Boolean(await loginLockedUntil(db, throttleKeys(keys, login, ip).pair));
    },

    /** Counts a failure (wrong passphrase, missing or wrong code, wrong current passphrase). */
    async recordFailure(login: string, ip: string): Promise<void> {
      const k = throttleKeys(keys, login, ip);
      const global = await recordLoginFailure(db, k.global, {
        freeFailures: policy.globalFreeFailures,
        baseSeconds: policy.globalBrakeSeconds,
        maxSeconds: policy.lockMaxSeconds,
      });
      // While the brake is on, an address that fails waits after its first failure instead of its fifth.
      const braking = global.lockedUntil !== null && global.lockedUntil.getTime() > Date.now();
      await recordLoginFailure(db, k.pair, {
        freeFailures: braking ? 1 : policy.freeFailures,
        baseSeconds: policy.lockBaseSeconds,
        maxSeconds: policy.lockMaxSeconds,
      });
    },

    /** A successful login forgets this address's failures (not the login's global count). */
    async recordSuccess(login: string, ip: string): Promise<void> {
      await clearLoginFailures(db, throttleKeys(keys, login, ip).pair);
    },
  };
}

export type LoginThrottle = ReturnType<typeof loginThrottle>;
