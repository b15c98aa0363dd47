/**
 * Account creation shared by every path (CLI `coordinator add`, `POST /admin/coordinators`, invitations):
 * the checks on a login and a name, the passphrase policy, and the one insert that seals the secrets at rest
 * and MACs the keys and the membership.
 */
import {
  decodeBytes,
  hashLoginKey,
  KEY_BYTES,
  PASSPHRASE_MIN_CHARS,
  PUBLIC_KEY_BYTES,
  PWHASH_SALT_BYTES,
  SIGN_PUBLIC_KEY_BYTES,
} from '../crypto/index.js';
import { keysMac, memberMac } from '../intake/integrity.js';
import type { Keyring } from '../intake/keyring.js';
import { addInboxMember, insertCoordinator, type Queryable } from '../store/index.js';
import { sealCoordinatorSecrets } from './at-rest.js';

/** A refusal whose message is safe to print (no passphrase, no content). */
export class CoordinatorError extends Error {
  override name = 'CoordinatorError';
}

const LOGIN_PATTERN = /^[a-z0-9][a-z0-9._-]{1,63}$/;

/** Checks a passphrase against the policy; returns the problem or undefined. */
export function passphraseProblem(passphrase: string): string | undefined {
  if ([...passphrase.normalize('NFC')].length < PASSPHRASE_MIN_CHARS) {
    return `the passphrase must have at least ${PASSPHRASE_MIN_CHARS} characters (a few words is best)`;
  }
  return undefined;
}

/**
 * What an account is made of when its keys were made elsewhere (the invitee's or the admin's browser, or
 * {@link createCoordinator} here): only public material, plus the login key, of which only a hash is kept.
 */
export interface EnrolmentMaterial {
  id: string;
  login: string;
  name: string;
  role: 'coordinator' | 'admin';
  inbox: string;
  /** X25519 public key, base64url. */
  publicKey: string;
  /** The private key wrapped with the passphrase-derived wrap key (associated data: the id), base64url. */
  wrappedPrivateKey: string;
  /** Argon2id salt, base64url. */
  salt: string;
  /** The passphrase-derived login key (32 bytes); the caller wipes it. */
  loginKey: Uint8Array;
  /** Ed25519 public key derived from the private key, base64url; null: registered at first login. */
  signingPublicKey: string | null;
}

/**
 * Inserts an account from {@link EnrolmentMaterial} inside the caller's transaction, the one way every path
 * creates an account (CLI, admin API, invitation): the login-key hash and the wrapped key sealed at rest
 * with the current master key, the public keys under their keys MAC, the membership under its MAC.
 * Lengths are checked (a CryptoInputError names the field). The caller checks the login is free.
 */
export async function enrolCoordinator(tx: Queryable, keyring: Keyring, m: EnrolmentMaterial): Promise<void> {
  decodeBytes(m.publicKey, PUBLIC_KEY_BYTES);
  decodeBytes(m.salt, PWHASH_SALT_BYTES);
  if (m.signingPublicKey) decodeBytes(m.signingPublicKey, SIGN_PUBLIC_KEY_BYTES);
  if (m.loginKey.length !== KEY_BYTES) throw new CoordinatorError('loginKey: wrong length');
  await insertCoordinator(tx, {
    id: m.id,
    login: m.login,
    display_name: m.name.trim(),
    role: m.role,
    public_key: m.publicKey,
    pwhash_salt: m.salt,
    ...sealCoordinatorSecrets(keyring.current, m.id, {
      loginKeyHash: hashLoginKey(m.loginKey),
      wrappedPrivateKey: m.wrappedPrivateKey,
    }),
    signing_public_key: m.signingPublicKey,
    keys_mac: keysMac(keyring, m.id, m.publicKey, m.signingPublicKey),
  });
  await addInboxMember(tx, m.inbox, m.id, memberMac(keyring, m.inbox, m.id, m.publicKey));
}

/** Checks a login and a display name against the rules; returns the problem (a safe message) or undefined. */
export function accountProblem(login: string, name: string): string | undefined {
  if (!LOGIN_PATTERN.test(login)) {
    return 'login: 2 to 64 characters among a-z 0-9 . _ - (lower case, starting with a letter or digit)';
  }
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 120) return 'name: 1 to 120 characters';
  return undefined;
}
