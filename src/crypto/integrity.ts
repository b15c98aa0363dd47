/**
 * Integrity of who reads and who wrote: MACs that let the server tell its own membership rows and
 * coordinators' public keys from rows a database writer added behind its back, and Ed25519 signatures
 * that let a reader tell a coordinator's reply or note from one forged in the database.
 *
 * - MACs are keyed BLAKE2b-256 under the master key's integrity subkey (id 8, context `intake01`) over a
 *   framed encoding: a domain label, then each field as `u32 big-endian length || bytes`. Nothing can be
 *   moved across a field boundary, and a MAC of one kind never verifies as another.
 * - A coordinator's Ed25519 signing key is derived, on the coordinator's side, from the X25519 private key
 *   they already unwrap (crypto_kdf, context `coordsig`, id 1 gives the 32-byte seed), so it needs no new
 *   wrapped secret and is exactly as protected as the decryption key.
 * - Signatures cover a domain label and every field that places the text: report id, reply or note id,
 *   author id, and the stored ciphertext (as its base64url text). A signed reply moved to another report,
 *   another id or another author fails.
 *
 * Verification functions return false (never throw) for malformed stored values: they read rows a
 * database writer may have changed. Layouts are in docs/CRYPTO.md and pinned by tests/crypto/vectors.json.
 */
import { CryptoInputError } from './errors.js';
import {
  asKeyring,
  checkText,
  decodeBlobText,
  decodePublicKey,
  MAX_ID_BYTES,
  type MasterKeys,
  utf8,
} from './operations.js';
import {
  constantTimeEqual,
  expectBytes,
  fromBase64Url,
  genericHash,
  HASH_BYTES,
  KEY_BYTES,
  kdfDerive,
  PRIVATE_KEY_BYTES,
  SIGN_PUBLIC_KEY_BYTES,
  SIGN_SECRET_KEY_BYTES,
  SIGN_SEED_BYTES,
  SIGNATURE_BYTES,
  signDetached,
  signSeedKeyPair,
  signVerifyDetached,
  toBase64Url,
} from './sodium.js';

/** crypto_kdf context deriving a coordinator's Ed25519 seed from their X25519 private key. */
export const SIGNING_KDF_CONTEXT = 'coordsig';
/** Subkey id under {@link SIGNING_KDF_CONTEXT}. */
export const SIGNING_SUBKEY_ID = 1;

// Domain labels: the first framed field of every MAC and signature input.
const MEMBER_MAC_LABEL = 'intake/inbox-member-mac/v1';
const KEYS_MAC_LABEL = 'intake/coordinator-keys-mac/v1';
const LEGACY_REPLY_MAC_LABEL = 'intake/legacy-reply-mac/v1';
const REPLY_SIGNATURE_LABEL = 'intake/reply-signature/v1';
const NOTE_SIGNATURE_LABEL = 'intake/note-signature/v1';

/** Largest stored ciphertext text a signature or MAC covers (a note is at most ~100 000 characters). */
const MAX_SIGNED_TEXT_CHARS = 200_000;

/** `label` then each part, every one as u32 big-endian length || bytes. */
function frame(label: string, parts: readonly Uint8Array[]): Uint8Array {
  const all = [utf8(label), ...parts];
  let length = 0;
  for (const p of all) length += 4 + p.length;
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const p of all) {
    view.setUint32(offset, p.length, false);
    out.set(p, offset + 4);
    offset += 4 + p.length;
  }
  return out;
}

function integrityKeyOf(op: string, keys: MasterKeys): Uint8Array {
  if (typeof keys !== 'object' || keys === null) {
    throw new CryptoInputError(op, 'keys must come from deriveSubkeys()');
  }
  return expectBytes(op, 'integrity subkey', keys.integrityKey, KEY_BYTES);
}

function mac(op: string, keys: MasterKeys, message: Uint8Array): string {
  return toBase64Url(op, genericHash(op, message, integrityKeyOf(op, keys)));
}

/** True when `stored` is the MAC of `message` under one of the keyring's integrity subkeys. */
function macMatches(
  op: string,
  keys: MasterKeys | readonly MasterKeys[],
  message: () => Uint8Array,
  stored: unknown,
): boolean {
  const ring = asKeyring(op, keys);
  for (const k of ring) integrityKeyOf(op, k);
  if (typeof stored !== 'string') return false;
  const expected = fromBase64Url(op, stored);
  if (expected === null || expected.length !== HASH_BYTES) return false;
  let bytes: Uint8Array;
  try {
    bytes = message();
  } catch (err) {
    // A stored field that is not even well-formed (a garbled public key) cannot carry a valid MAC.
    if (err instanceof CryptoInputError) return false;
    throw err;
  }
  return ring.some((k) => constantTimeEqual(op, genericHash(op, bytes, k.integrityKey), expected));
}

function signedText(op: string, what: string, value: unknown): Uint8Array {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_SIGNED_TEXT_CHARS) {
    throw new CryptoInputError(op, `${what} must be a non-empty string of at most ${MAX_SIGNED_TEXT_CHARS}`);
  }
  if (decodeBlobText(op, value) === null) throw new CryptoInputError(op, `${what} is not base64url`);
  return utf8(value);
}

// --- Inbox membership and coordinators' keys ----------------------------------------------------------

/** One membership as the MAC covers it: the inbox, the coordinator, and the X25519 key reports are sealed to. */
export interface InboxMemberFields {
  inboxId: string;
  coordinatorId: string;
  /** X25519 public key, raw or base64url. */
  publicKey: Uint8Array | string;
}

function memberMessage(op: string, m: InboxMemberFields): Uint8Array {
  if (typeof m !== 'object' || m === null) throw new CryptoInputError(op, 'member must be an object');
  return frame(MEMBER_MAC_LABEL, [
    checkText(op, 'inboxId', m.inboxId, MAX_ID_BYTES),
    checkText(op, 'coordinatorId', m.coordinatorId, MAX_ID_BYTES),
    decodePublicKey(op, m.publicKey, 'publicKey'),
  ]);
}

/**
 * The MAC stored with an inbox membership (base64url, 32 bytes): keyed BLAKE2b-256 under the integrity
 * subkey of frame("intake/inbox-member-mac/v1", inboxId, coordinatorId, X25519 public key). Written with
 * the current master key wherever membership is created.
 */
export function inboxMemberMac(keys: MasterKeys, m: InboxMemberFields): string {
  const op = 'inboxMemberMac';
  return mac(op, keys, memberMessage(op, m));
}

/** Checks a membership MAC against every key of the keyring (rotation). False for anything malformed. */
export function verifyInboxMemberMac(
  keys: MasterKeys | readonly MasterKeys[],
  m: InboxMemberFields,
  stored: string | null | undefined,
): boolean {
  const op = 'verifyInboxMemberMac';
  return macMatches(op, keys, () => memberMessage(op, m), stored);
}

/** A coordinator's public keys as the MAC covers them. */
export interface CoordinatorKeyFields {
  coordinatorId: string;
  /** X25519 public key (reports are sealed to it), raw or base64url. */
  publicKey: Uint8Array | string;
  /** Ed25519 public key (replies and notes are signed with it); null until registered. */
  signingPublicKey: Uint8Array | string | null;
}

function keysMessage(op: string, k: CoordinatorKeyFields): Uint8Array {
  if (typeof k !== 'object' || k === null) throw new CryptoInputError(op, 'keys must be an object');
  return frame(KEYS_MAC_LABEL, [
    checkText(op, 'coordinatorId', k.coordinatorId, MAX_ID_BYTES),
    decodePublicKey(op, k.publicKey, 'publicKey'),
    // An empty field means "no signing key yet"; a real one is always 32 bytes.
    k.signingPublicKey === null ? new Uint8Array(0) : decodeSigningPublicKey(op, k.signingPublicKey),
  ]);
}

/**
 * The MAC stored with a coordinator's public keys: keyed BLAKE2b-256 under the integrity subkey of
 * frame("intake/coordinator-keys-mac/v1", coordinatorId, X25519 public key, Ed25519 public key or empty).
 */
export function coordinatorKeysMac(keys: MasterKeys, k: CoordinatorKeyFields): string {
  const op = 'coordinatorKeysMac';
  return mac(op, keys, keysMessage(op, k));
}

/** Checks a coordinator-keys MAC against every key of the keyring. False for anything malformed. */
export function verifyCoordinatorKeysMac(
  keys: MasterKeys | readonly MasterKeys[],
  k: CoordinatorKeyFields,
  stored: string | null | undefined,
): boolean {
  const op = 'verifyCoordinatorKeysMac';
  return macMatches(op, keys, () => keysMessage(op, k), stored);
}

/** A reply stored before replies were signed, as the server attests it once at migration. */
export interface LegacyReplyFields {
  replyId: string;
  reportId: string;
  /** The stored sealed reply (base64url text). */
  sealed: string;
}

function legacyReplyMessage(op: string, r: LegacyReplyFields): Uint8Array {
  if (typeof r !== 'object' || r === null) throw new CryptoInputError(op, 'reply must be an object');
  return frame(LEGACY_REPLY_MAC_LABEL, [
    checkText(op, 'replyId', r.replyId, MAX_ID_BYTES),
    checkText(op, 'reportId', r.reportId, MAX_ID_BYTES),
    signedText(op, 'sealed', r.sealed),
  ]);
}

/**
 * The server's attestation of a reply written before signatures existed (written once, by the migration
 * backfill): keyed BLAKE2b-256 of frame("intake/legacy-reply-mac/v1", replyId, reportId, sealed text).
 */
export function legacyReplyMac(keys: MasterKeys, r: LegacyReplyFields): string {
  const op = 'legacyReplyMac';
  return mac(op, keys, legacyReplyMessage(op, r));
}

/** Checks a legacy reply's attestation. False for anything malformed. */
export function verifyLegacyReplyMac(
  keys: MasterKeys | readonly MasterKeys[],
  r: LegacyReplyFields,
  stored: string | null | undefined,
): boolean {
  const op = 'verifyLegacyReplyMac';
  return macMatches(op, keys, () => legacyReplyMessage(op, r), stored);
}

// --- Coordinators' signing keys -----------------------------------------------------------------------

/** A coordinator's Ed25519 key pair; `privateKey` (64 bytes) never leaves the browser or the CLI. */
export interface SigningKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

function decodeSigningPublicKey(op: string, value: Uint8Array | string, what = 'signingPublicKey') {
  const bytes = typeof value === 'string' ? fromBase64Url(op, value) : value;
  if (bytes === null) throw new CryptoInputError(op, `${what} is not base64url`);
  return expectBytes(op, what, bytes, SIGN_PUBLIC_KEY_BYTES);
}

/**
 * The coordinator's Ed25519 key pair, derived from their X25519 private key: seed = crypto_kdf(32 bytes,
 * id 1, context `coordsig`, X25519 private key), then crypto_sign_seed_keypair. Deterministic, so every
 * client that unwraps the private key finds the same signing key.
 */
export function coordinatorSigningKeyPair(boxPrivateKey: Uint8Array): SigningKeyPair {
  const op = 'coordinatorSigningKeyPair';
  expectBytes(op, 'boxPrivateKey', boxPrivateKey, PRIVATE_KEY_BYTES);
  const seed = kdfDerive(op, SIGN_SEED_BYTES, SIGNING_SUBKEY_ID, SIGNING_KDF_CONTEXT, boxPrivateKey);
  const pair = signSeedKeyPair(op, seed);
  seed.fill(0);
  return pair;
}

/** Where a reply sits: every field its signature covers. */
export interface ReplySignatureFields {
  reportId: string;
  replyId: string;
  /** The coordinator who wrote it. */
  authorId: string;
  /** The sealed reply as stored (base64url text). */
  sealed: string;
}

function replyMessage(op: string, r: ReplySignatureFields): Uint8Array {
  if (typeof r !== 'object' || r === null) throw new CryptoInputError(op, 'reply must be an object');
  return frame(REPLY_SIGNATURE_LABEL, [
    checkText(op, 'reportId', r.reportId, MAX_ID_BYTES),
    checkText(op, 'replyId', r.replyId, MAX_ID_BYTES),
    checkText(op, 'authorId', r.authorId, MAX_ID_BYTES),
    signedText(op, 'sealed', r.sealed),
  ]);
}

function sign(op: string, privateKey: Uint8Array, message: Uint8Array): string {
  expectBytes(op, 'signing private key', privateKey, SIGN_SECRET_KEY_BYTES);
  return toBase64Url(op, signDetached(op, message, privateKey));
}

function verify(op: string, publicKey: Uint8Array | string, signature: unknown, message: () => Uint8Array) {
  if (typeof signature !== 'string') return false;
  const sig = fromBase64Url(op, signature);
  if (sig === null || sig.length !== SIGNATURE_BYTES) return false;
  try {
    return signVerifyDetached(op, sig, message(), decodeSigningPublicKey(op, publicKey));
  } catch (err) {
    if (err instanceof CryptoInputError) return false;
    throw err;
  }
}

/**
 * Signs a reply before upload: Ed25519 over frame("intake/reply-signature/v1", reportId, replyId,
 * authorId, sealed text). Returns the 64-byte signature as base64url.
 */
export function signReply(signingPrivateKey: Uint8Array, r: ReplySignatureFields): string {
  const op = 'signReply';
  return sign(op, signingPrivateKey, replyMessage(op, r));
}

/** Checks a reply's signature with the author's (MAC-checked) signing key. False for anything malformed. */
export function verifyReplySignature(
  signingPublicKey: Uint8Array | string,
  signature: string | null | undefined,
  r: ReplySignatureFields,
): boolean {
  const op = 'verifyReplySignature';
  return verify(op, signingPublicKey, signature, () => replyMessage(op, r));
}

/** Where a note sits: every field its signature covers. */
export interface NoteSignatureFields {
  reportId: string;
  noteId: string;
  authorId: string;
  /** The encrypted note as stored (base64url text). */
  ciphertext: string;
}

function noteMessage(op: string, n: NoteSignatureFields): Uint8Array {
  if (typeof n !== 'object' || n === null) throw new CryptoInputError(op, 'note must be an object');
  return frame(NOTE_SIGNATURE_LABEL, [
    checkText(op, 'reportId', n.reportId, MAX_ID_BYTES),
    checkText(op, 'noteId', n.noteId, MAX_ID_BYTES),
    checkText(op, 'authorId', n.authorId, MAX_ID_BYTES),
    signedText(op, 'ciphertext', n.ciphertext),
  ]);
}

/**
 * Signs a note before upload: Ed25519 over frame("intake/note-signature/v1", reportId, noteId, authorId,
 * ciphertext text). Returns the signature as base64url.
 */
export function signNote(signingPrivateKey: Uint8Array, n: NoteSignatureFields): string {
  const op = 'signNote';
  return sign(op, signingPrivateKey, noteMessage(op, n));
}

/** Checks a note's signature with the author's (MAC-checked) signing key. False for anything malformed. */
export function verifyNoteSignature(
  signingPublicKey: Uint8Array | string,
  signature: string | null | undefined,
  n: NoteSignatureFields,
): boolean {
  const op = 'verifyNoteSignature';
  return verify(op, signingPublicKey, signature, () => noteMessage(op, n));
}

/**
 * The associated data a note is encrypted under (with {@link encryptWithDataKey}): it names the report and
 * the note, so a note's ciphertext copied to another note id, or another report, does not open.
 */
export function noteAssociatedData(reportId: string, noteId: string): string {
  const op = 'noteAssociatedData';
  checkText(op, 'reportId', reportId, MAX_ID_BYTES);
  checkText(op, 'noteId', noteId, MAX_ID_BYTES);
  return `${reportId}/note/${noteId}`;
}
