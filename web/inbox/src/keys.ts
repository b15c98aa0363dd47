/**
 * Browser-side crypto: the project's own src/crypto (libsodium WebAssembly), the same code and vectors as
 * the CLI. Keys live in this module's memory only, never in storage; `forget()` wipes them.
 */
import {
  type CoordinatorKeyPair,
  coordinatorSigningKeyPair,
  decodeBytes,
  decryptWithDataKey,
  deriveLoginKeys,
  encodeBytes,
  encryptWithDataKey,
  generateCoordinatorKeyPair,
  initCrypto,
  newPwhashSalt,
  noteAssociatedData,
  openDataKey,
  openFollowUp,
  openReportWithDataKey,
  resealDataKey,
  type SigningKeyPair,
  sealReply,
  signNote,
  signReply,
  unwrapPrivateKey,
  verifyNoteSignature,
  wrapPrivateKey,
} from '../../../src/crypto/index.js';

let keyPair: CoordinatorKeyPair | null = null;
// Derived from the X25519 private key after unlocking (docs/CRYPTO.md); signs notes and replies here.
let signing: SigningKeyPair | null = null;
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
  signing = coordinatorSigningKeyPair(keyPair.privateKey);
  wrapKey.fill(0);
}

/** This coordinator's Ed25519 public key (base64url), to register it when the server has none yet. */
export function signingPublicKey(): string {
  if (!signing) throw new Error('locked');
  return encodeBytes(signing.publicKey);
}

export function unlocked(): boolean {
  return keyPair !== null;
}

/** Wipes the private key and every opened data key. */
export function forget() {
  keyPair?.privateKey.fill(0);
  keyPair = null;
  signing?.privateKey.fill(0);
  signing = null;
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

/**
 * Opens a message the person sent after reading the replies (sealFollowUp: the report envelope, associated
 * data naming the report and the message). Throws when it was not sealed to this coordinator or was moved.
 */
export function openFollowUpMessage(
  reportId: string,
  m: { id: string; envelopeVersion: number; nonce: string; ciphertext: string; sealedKey: string },
): string {
  if (!keyPair) throw new Error('locked');
  const payload = openFollowUp(
    {
      v: m.envelopeVersion,
      reportId,
      messageId: m.id,
      nonce: m.nonce,
      ciphertext: m.ciphertext,
      sealedKey: m.sealedKey,
    },
    keyPair,
  );
  return typeof payload.text === 'string' ? payload.text : '';
}

function signingKey(): SigningKeyPair {
  if (!signing) throw new Error('locked');
  return signing;
}

/**
 * A new note: a fresh id, the text encrypted with the report's data key under associated data naming the
 * report and the note, and the author's signature over (report, note id, author, ciphertext).
 */
export function sealNote(c: { id: string; sealedKey: string }, authorId: string, text: string) {
  const id = crypto.randomUUID();
  const ciphertext = encryptWithDataKey(dataKey(c.id, c.sealedKey), text, noteAssociatedData(c.id, id));
  const signature = signNote(signingKey().privateKey, { reportId: c.id, noteId: id, authorId, ciphertext });
  return { id, ciphertext, signature };
}

/** How a note reads here: verified (signed by its author), unverified (it must not be trusted), or legacy. */
export type NoteCheck = 'verified' | 'unverified' | 'legacy';

/**
 * Opens a note and checks its signature with the author's key as the server vouches for it. A note from
 * before signatures (no signature, encrypted under the report id alone) opens as 'legacy'.
 */
export function openNote(
  c: { id: string; sealedKey: string },
  n: {
    id: string;
    authorId: string;
    ciphertext: string;
    signature: string | null;
    authorSigningKey: string | null;
  },
): { text: string; check: NoteCheck } {
  const key = dataKey(c.id, c.sealedKey);
  if (!n.signature) return { text: decryptWithDataKey(key, n.ciphertext, c.id), check: 'legacy' };
  const text = decryptWithDataKey(key, n.ciphertext, noteAssociatedData(c.id, n.id));
  const ok =
    n.authorSigningKey !== null &&
    verifyNoteSignature(n.authorSigningKey, n.signature, {
      reportId: c.id,
      noteId: n.id,
      authorId: n.authorId,
      ciphertext: n.ciphertext,
    });
  return { text, check: ok ? 'verified' : 'unverified' };
}

/** A reply: sealed to the submitter's receipt key and signed by this coordinator (verified by /suivi). */
export function sealSignedReply(c: { id: string; receiptPublicKey: string }, authorId: string, text: string) {
  const id = crypto.randomUUID();
  const sealed = sealReply(c.receiptPublicKey, text);
  const signature = signReply(signingKey().privateKey, { reportId: c.id, replyId: id, authorId, sealed });
  return { id, sealed, signature };
}

/**
 * Makes a new account's keys here, for an invitation: a fresh X25519 key pair, its Ed25519 signing key,
 * Argon2id over the chosen passphrase (new salt) into the login key (sent, the server keeps a hash) and the
 * wrap key (wraps the private key, then wiped). Returns only what the server may see; the passphrase, the
 * wrap key and the private key stay in this function and are wiped before it returns.
 */
export function enrol(passphrase: string, coordinatorId: string) {
  const kp = generateCoordinatorKeyPair();
  const sign = coordinatorSigningKeyPair(kp.privateKey);
  const salt = newPwhashSalt();
  const k = deriveLoginKeys(passphrase, salt);
  try {
    return {
      id: coordinatorId,
      publicKey: encodeBytes(kp.publicKey),
      wrappedPrivateKey: wrapPrivateKey(k.wrapKey, kp.privateKey, coordinatorId),
      salt: encodeBytes(salt),
      loginKey: encodeBytes(k.loginKey),
      signingPublicKey: encodeBytes(sign.publicKey),
    };
  } finally {
    k.loginKey.fill(0);
    k.wrapKey.fill(0);
    kp.privateKey.fill(0);
    sign.privateKey.fill(0);
  }
}

/**
 * A grant: opens each of this coordinator's sealed data keys here and re-seals it to a colleague's public
 * key (as the server lists it; the server checks that key's MAC before accepting the grant).
 */
/** Re-seals the data keys of the person's follow-up messages (each has its own) to a new member. */
export function resealFollowUpsFor(items: { followUpId: string; sealedKey: string }[], publicKey: string) {
  if (!keyPair) throw new Error('locked');
  const mine = keyPair;
  return items.map((i) => {
    const k = openDataKey(i.sealedKey, mine);
    const sealedKey = resealDataKey(k, publicKey);
    k.fill(0);
    return { followUpId: i.followUpId, sealedKey };
  });
}

export function resealFor(items: { reportId: string; sealedKey: string }[], publicKey: string) {
  if (!keyPair) throw new Error('locked');
  const mine = keyPair;
  return items.map((i) => {
    const k = openDataKey(i.sealedKey, mine);
    const sealedKey = resealDataKey(k, publicKey);
    k.fill(0);
    return { reportId: i.reportId, sealedKey };
  });
}
