/**
 * Server-side secrets of the inbox: session and CSRF tokens (random, stored only as hashes), the stable
 * fake Argon2 salt for unknown logins, the key under which failed logins are counted (./throttle.ts), and the TOTP
 * second factor (secret sealed with a master-key subkey). Report content never passes through here.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import * as OTPAuth from 'otpauth';
import { type MasterKeys, openContact, PWHASH_SALT_BYTES, sealContact } from '../crypto/index.js';

/** Bytes of randomness in a session token and a CSRF token (256 bits). */
export const TOKEN_BYTES = 32;

/** A new random token, base64url. */
export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** What the database keeps of a token: hex SHA-256 (a 256-bit random token needs no slow hash). */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(tokenHash(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Keys the inbox derives from the master key (HKDF-SHA256, one label per purpose). */
export interface InboxKeys {
  fakeSalt: Buffer;
  loginThrottle: Buffer;
}

export function deriveInboxKeys(masterKeyBase64: string): InboxKeys {
  const master = Buffer.from(masterKeyBase64, 'base64');
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
  const keys = {
    fakeSalt: derive('intake/inbox/fake-salt/v1'),
    loginThrottle: derive('intake/inbox/login-throttle/v1'),
  };
  master.fill(0);
  return keys;
}

/** Logins are compared case-insensitively and trimmed (the store keeps them lower case). */
export function normalizeLogin(login: string): string {
  return login.trim().toLowerCase();
}

/**
 * The salt answered for a login that does not exist: a keyed hash of the login, so the same unknown login
 * always gets the same salt and the answer looks like a real account's.
 */
export function fakeSalt(keys: InboxKeys, login: string): string {
  return createHmac('sha256', keys.fakeSalt)
    .update(normalizeLogin(login), 'utf8')
    .digest()
    .subarray(0, PWHASH_SALT_BYTES)
    .toString('base64url');
}

// --- TOTP -------------------------------------------------------------------------------------------------

const TOTP_PERIOD = 30;

function totpFor(secretBase32: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'Intake 93',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/** A new TOTP secret: its base32 text, the otpauth:// URI for an authenticator app, and the sealed form. */
export function newTotpSecret(
  keys: MasterKeys,
  login: string,
): { secret: string; uri: string; sealed: string } {
  const secret = new OTPAuth.Secret({ size: 20 }).base32;
  return { secret, uri: totpFor(secret, login).toString(), sealed: sealContact(keys, `totp:${secret}`) };
}

/**
 * Checks a 6-digit code against a sealed secret (one period of clock drift either way). Returns the time
 * step it matched (the caller refuses a step already used), or null.
 */
export function checkTotp(
  keyring: readonly MasterKeys[],
  sealed: string,
  code: string,
  now = Date.now(),
): number | null {
  let secret: string;
  try {
    const opened = openContact(keyring, sealed);
    if (!opened.startsWith('totp:')) return null;
    secret = opened.slice(5);
  } catch {
    return null;
  }
  const delta = totpFor(secret, 'x').validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD) + delta;
}

/** The current code of a base32 secret (tests and the enrolment check). */
export function totpCode(secretBase32: string, now = Date.now()): string {
  return totpFor(secretBase32, 'x').generate({ timestamp: now });
}
