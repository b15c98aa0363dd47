/**
 * Coordinators' secrets at rest: the login-key hash and the passphrase-wrapped private key are stored
 * sealed with the master key's coordinator-secrets subkey, bound to the coordinator id and the column. A
 * database dump alone therefore holds nothing to test passphrase guesses against. Every reader and writer
 * of those two columns goes through here: the server (login, passphrase change, accounts made in the
 * admin's browser), the CLI (`coordinator add | passwd | grant`, `reports`), legacy sealing and rotation.
 */
import {
  CoordinatorSecretError,
  type MasterKeys,
  openCoordinatorSecret,
  sealCoordinatorSecret,
} from '../crypto/index.js';
import type { Keyring } from '../intake/keyring.js';
import {
  allCoordinatorSecrets,
  coordinatorSecrets,
  type Queryable,
  resealCoordinatorSecrets,
  type SealedCoordinatorSecret,
  type SealedCoordinatorSecrets,
  type StoredCoordinatorSecrets,
} from '../store/index.js';

/** A coordinator's secrets in the form the client made them (still passphrase-protected, not at-rest sealed). */
export interface CoordinatorSecrets {
  /** base64url BLAKE2b of the login key (`hashLoginKey`). */
  loginKeyHash: string;
  /** The private key wrapped with the passphrase-derived wrap key (`wrapPrivateKey`). */
  wrappedPrivateKey: string;
}

/** Seals both secrets of `coordinatorId` with the given (current) master keys. */
export function sealCoordinatorSecrets(
  keys: MasterKeys,
  coordinatorId: string,
  s: CoordinatorSecrets,
): SealedCoordinatorSecrets {
  return {
    login_key_hash: sealCoordinatorSecret(
      keys,
      'login-key-hash',
      coordinatorId,
      s.loginKeyHash,
    ) as SealedCoordinatorSecret,
    wrapped_private_key: sealCoordinatorSecret(
      keys,
      'wrapped-private-key',
      coordinatorId,
      s.wrappedPrivateKey,
    ) as SealedCoordinatorSecret,
    secrets_key_fingerprint: keys.fingerprint,
  };
}

/**
 * Opens a stored row's secrets with the keyring. Throws `CoordinatorSecretError` for a clear value, a blob
 * moved from another row or column, tampering, or a master key not in the keyring: callers refuse the
 * login exactly as for a wrong passphrase.
 */
export function openCoordinatorSecrets(
  keyring: readonly MasterKeys[],
  row: Pick<StoredCoordinatorSecrets, 'id' | 'login_key_hash' | 'wrapped_private_key'>,
): CoordinatorSecrets & { keyIndex: number } {
  const hash = openCoordinatorSecret(keyring, 'login-key-hash', row.id, row.login_key_hash);
  const wrapped = openCoordinatorSecret(keyring, 'wrapped-private-key', row.id, row.wrapped_private_key);
  return {
    loginKeyHash: hash.value,
    wrappedPrivateKey: wrapped.value,
    keyIndex: Math.max(hash.keyIndex, wrapped.keyIndex),
  };
}

/** Loads and opens one coordinator's secrets; undefined when the row is missing or does not open. */
export async function loadCoordinatorSecrets(
  db: Queryable,
  keyring: Keyring,
  coordinatorId: string,
): Promise<CoordinatorSecrets | undefined> {
  const row = await coordinatorSecrets(db, coordinatorId);
  if (!row) return undefined;
  try {
    return openCoordinatorSecrets(keyring.all, row);
  } catch (err) {
    if (err instanceof CoordinatorSecretError) return undefined;
    throw err;
  }
}

/**
 * Data migration of 0009: seals the clear secrets of rows written before it (`secrets_key_fingerprint`
 * NULL) with the current master key. Idempotent (a sealed row is skipped, a row changed meanwhile is left
 * to its writer) and safe to run from two processes at once. Returns how many rows it sealed.
 */
export async function sealLegacyCoordinatorSecrets(db: Queryable, keyring: Keyring): Promise<number> {
  let sealed = 0;
  for (const row of await allCoordinatorSecrets(db, { unsealed: true })) {
    const clear = { loginKeyHash: row.login_key_hash, wrappedPrivateKey: row.wrapped_private_key };
    if (await resealCoordinatorSecrets(db, row, sealCoordinatorSecrets(keyring.current, row.id, clear))) {
      sealed++;
    }
  }
  return sealed;
}

/**
 * Master-key rotation: re-seals every coordinator's secrets under `next.current`, opening them with any key
 * of `readable` (the new keyring, then the old one). Rows still clear are sealed too. Rows no key opens are
 * left as they are and counted.
 */
export async function rotateCoordinatorSecrets(
  db: Queryable,
  readable: readonly MasterKeys[],
  next: Keyring,
): Promise<{ resealed: number; unreadable: number }> {
  let resealed = 0;
  let unreadable = 0;
  for (const row of await allCoordinatorSecrets(db)) {
    let clear: CoordinatorSecrets;
    if (row.secrets_key_fingerprint === null) {
      clear = { loginKeyHash: row.login_key_hash, wrappedPrivateKey: row.wrapped_private_key };
    } else {
      try {
        clear = openCoordinatorSecrets(readable, row);
      } catch (err) {
        if (!(err instanceof CoordinatorSecretError)) throw err;
        unreadable++;
        continue;
      }
    }
    if (await resealCoordinatorSecrets(db, row, sealCoordinatorSecrets(next.current, row.id, clear))) {
      resealed++;
    }
  }
  return { resealed, unreadable };
}
