/**
 * Browser-side crypto: the project's own src/crypto (libsodium WebAssembly), the same code and vectors as
 * the CLI. Keys live in this module's memory only, never in storage; `forget()` wipes them.
 */
import {
  type CoordinatorKeyPair,
  decodeBytes,
  decryptWithDataKey,
  deriveLoginKeys,
  encodeBytes,
  encryptWithDataKey,
  initCrypto,
  openDataKey,
  openReportWithDataKey,
  sealReply,
  unwrapPrivateKey,
} from '../../../src/crypto/index.js';

let keyPair: CoordinatorKeyPair | null = null;
const dataKeys = new Map<string, Uint8Array>();

export async function ready() {
  await initCrypto();
}

/** Argon2id in the browser: the login key goes to the server, the wrap key stays here. */
export function derive(passphrase: string, salt: string) {
  const k = deriveLoginKeys(passphrase, decodeBytes(salt));
  return { loginKey: encodeBytes(k.loginKey), wrapKey: k.wrapKey, wipeLogin: () => k.loginKey.fill(0) };
}

export function unlock(wrapKey: Uint8Array, wrapped: string, coordinatorId: string) {
  keyPair = unwrapPrivateKey(wrapKey, wrapped, coordinatorId);
  wrapKey.fill(0);
}

export function unlocked(): boolean {
  return keyPair !== null;
}

/** Wipes the private key and every opened data key. */
export function forget() {
  keyPair?.privateKey.fill(0);
  keyPair = null;
  for (const k of dataKeys.values()) k.fill(0);
  dataKeys.clear();
}

function dataKey(reportId: string, sealedKey: string): Uint8Array {
  const known = dataKeys.get(reportId);
  if (known) return known;
  if (!keyPair) throw new Error('locked');
  const k = openDataKey(sealedKey, keyPair);
  dataKeys.set(reportId, k);
  return k;
}

export function openCase(c: {
  id: string;
  envelopeVersion: number;
  nonce: string;
  ciphertext: string;
  sealedKey: string;
}) {
  return openReportWithDataKey(dataKey(c.id, c.sealedKey), {
    v: c.envelopeVersion,
    reportId: c.id,
    nonce: c.nonce,
    ciphertext: c.ciphertext,
  });
}

/** Notes: encrypted with the report's data key, associated data = report id. */
export function encryptNote(c: { id: string; sealedKey: string }, text: string): string {
  return encryptWithDataKey(dataKey(c.id, c.sealedKey), text, c.id);
}
export function decryptNote(c: { id: string; sealedKey: string }, ciphertext: string): string {
  return decryptWithDataKey(dataKey(c.id, c.sealedKey), ciphertext, c.id);
}

export function sealReplyTo(receiptPublicKey: string, text: string): string {
  return sealReply(receiptPublicKey, text);
}
