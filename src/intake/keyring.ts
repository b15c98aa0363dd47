/**
 * The master keyring: the current master key's subkeys first, then the previous key's during a rotation
 * (INTAKE_MASTER_KEY_PREVIOUS). Reads try every key; writes always use the current one.
 */
import { deriveSubkeys, initCrypto, type MasterKeys, parseMasterKey } from '../crypto/index.js';

export interface Keyring {
  current: MasterKeys;
  /** Current first, then older keys still accepted for reading. */
  all: readonly MasterKeys[];
}

/** Derives the keyring from base64 master keys (current, then previous ones). */
export async function loadKeyring(current: string, previous: string[] = []): Promise<Keyring> {
  await initCrypto();
  const all = [current, ...previous].map((k) => {
    const bytes = parseMasterKey(k);
    const keys = deriveSubkeys(bytes);
    bytes.fill(0);
    return keys;
  });
  return { current: all[0]!, all };
}
