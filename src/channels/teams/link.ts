/**
 * One-time codes with which a coordinator links a Teams chat to their inbox account: `intake teams link`
 * prints a code valid 15 minutes, the coordinator sends `/lier CODE` to the bot. Only a keyed hash of the
 * code is stored, and a code works once.
 */
import { randomInt } from 'node:crypto';
import { hashUserId, type MasterKeys } from '../../crypto/index.js';
import type { Keyring } from '../../intake/index.js';
import { type Database, insertTeamsLinkCode } from '../../store/index.js';

/** How long a link code stays valid. */
export const LINK_CODE_TTL_MS = 15 * 60_000;
// No 0/O, 1/I/L, U: easy to read aloud and to type. 10 characters of 30: about 49 bits.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 10;

/** A fresh code, shown as `XXXXX-XXXXX`. */
export function newLinkCode(): string {
  let s = '';
  for (let i = 0; i < LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${s.slice(0, 5)}-${s.slice(5)}`;
}

/** Upper case, without spaces or dashes: what is hashed. */
export function normalizeLinkCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** Whether a typed code has the shape of a link code (checked before any database work). */
export function isLinkCodeShape(code: string): boolean {
  const n = normalizeLinkCode(code);
  return n.length === LENGTH && [...n].every((c) => ALPHABET.includes(c));
}

/** The keyed hash under which a code is stored. */
export function linkCodeHash(keys: MasterKeys, code: string): string {
  return hashUserId(keys, 'teams:link', normalizeLinkCode(code));
}

/** Creates and stores a code for a coordinator (replacing an earlier one); returns it and its expiry. */
export async function createLinkCode(
  db: Database,
  keyring: Keyring,
  coordinatorId: string,
  now = Date.now(),
): Promise<{ code: string; expiresAt: Date }> {
  const code = newLinkCode();
  const expiresAt = new Date(now + LINK_CODE_TTL_MS);
  await db.transaction((tx) =>
    insertTeamsLinkCode(tx, { codeHash: linkCodeHash(keyring.current, code), coordinatorId, expiresAt }),
  );
  return { code, expiresAt };
}
