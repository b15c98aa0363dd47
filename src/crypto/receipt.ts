/**
 * Submitter receipts: the secret a young person or professional keeps to read coordinator replies later
 * (`/suivi <receipt>`), without an account and without the service knowing who they are.
 *
 * - A receipt is 16 symbols of Crockford base32 (no I, L, O, U), shown as 4 groups of 4: exactly 80 bits
 *   from the CSPRNG. It is independent of the public case reference.
 * - Per report the server stores `receipt_salt` (16 random bytes), `receipt_public_key` (X25519) and
 *   `receipt_lookup_tag` = keyed BLAKE2b(master-derived receipt-lookup subkey, normalised receipt).
 *   The tag makes `/suivi` an O(1) indexed lookup, while someone holding a database dump but not the
 *   master key cannot test receipt guesses offline.
 * - Replies are sealed (crypto_box_seal) to the receipt public key; the matching private key is
 *   BLAKE2b(key = receipt_salt, domain || receipt) -> seed -> crypto_box_seed_keypair, recomputed only when the receipt is
 *   presented. Trade-offs are in docs/CRYPTO.md.
 */
import { CryptoInputError, ReplyDecryptError } from './errors.js';
import { type CoordinatorKeyPair, type MasterKeys, utf8 } from './operations.js';
import {
  boxSeal,
  boxSealOpen,
  boxSeedKeyPair,
  concatBytes,
  expectBytes,
  fromBase64Url,
  genericHash,
  KEY_BYTES,
  PRIVATE_KEY_BYTES,
  PUBLIC_KEY_BYTES,
  PWHASH_SALT_BYTES,
  pad,
  randomBytes,
  SEAL_OVERHEAD_BYTES,
  toBase64Url,
  toHex,
  unpad,
  wipe,
} from './sodium.js';

/** Domain separation of the reply-key seed derivation. */
const RECEIPT_SEED_DOMAIN = utf8('intake receipt reply key v1\0');

/** Crockford base32 symbols: digits and letters without I, L, O, U. 32 symbols = 5 bits each. */
export const RECEIPT_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Number of groups a receipt is displayed in. */
export const RECEIPT_GROUPS = 4;
/** Symbols per group. */
export const RECEIPT_GROUP_LENGTH = 4;
/** Symbols in a normalised receipt. */
export const RECEIPT_LENGTH = RECEIPT_GROUPS * RECEIPT_GROUP_LENGTH;
/** Entropy of a receipt: 16 symbols x 5 bits. */
export const RECEIPT_BITS = RECEIPT_LENGTH * 5;
/** Random bytes consumed per receipt (80 bits, no modulo bias: each symbol is exactly 5 bits). */
export const RECEIPT_RANDOM_BYTES = RECEIPT_BITS / 8;
/** First byte of a sealed reply. */
export const REPLY_FORMAT = 0x05;
/** Largest reply text accepted by {@link sealReply}. */
export const MAX_REPLY_BYTES = 16 * 1024;

// Typed input longer than this is rejected before any normalisation work.
const MAX_RECEIPT_INPUT_CHARS = 64;
const REPLY_PADDING_BLOCK_BYTES = 256;

/** A receipt key pair: the same X25519 shape as a coordinator's. */
export type ReceiptKeyPair = CoordinatorKeyPair;

function receiptFromBytes(op: string, bytes: Uint8Array): string {
  expectBytes(op, 'random bytes', bytes, RECEIPT_RANDOM_BYTES);
  let symbols = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      symbols += RECEIPT_ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return formatNormalized(symbols);
}

function formatNormalized(normalized: string): string {
  const groups: string[] = [];
  for (let i = 0; i < RECEIPT_LENGTH; i += RECEIPT_GROUP_LENGTH)
    groups.push(normalized.slice(i, i + RECEIPT_GROUP_LENGTH));
  return groups.join('-');
}

/** A new random receipt, formatted for display: `XXXX-XXXX-XXXX-XXXX` (80 bits). */
export function generateReceipt(): string {
  const op = 'generateReceipt';
  const bytes = randomBytes(op, RECEIPT_RANDOM_BYTES);
  const receipt = receiptFromBytes(op, bytes);
  wipe(bytes);
  return receipt;
}

/**
 * The canonical form of a typed receipt: 16 upper-case symbols without separators. Case-insensitive;
 * ignores spaces and any kind of dash (phones turn `-` into `–`); NFKC folds full-width characters;
 * O reads as 0, I and L as 1. Throws `CryptoInputError` (whose message never repeats the input) when
 * the result is not 16 symbols of the alphabet.
 */
export function normalizeReceipt(input: string): string {
  const op = 'normalizeReceipt';
  if (typeof input !== 'string') throw new CryptoInputError(op, 'receipt must be a string');
  if (input.length > MAX_RECEIPT_INPUT_CHARS) throw new CryptoInputError(op, 'receipt is too long');
  const compact = input
    .normalize('NFKC')
    .replace(/[\s\p{Pd}]/gu, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (compact.length !== RECEIPT_LENGTH) {
    throw new CryptoInputError(op, `a receipt has ${RECEIPT_LENGTH} characters, got ${compact.length}`);
  }
  for (const ch of compact) {
    if (!RECEIPT_ALPHABET.includes(ch)) {
      throw new CryptoInputError(op, 'receipt contains a character outside the receipt alphabet');
    }
  }
  return compact;
}

/** A receipt in display form (`XXXX-XXXX-XXXX-XXXX`), from any input {@link normalizeReceipt} accepts. */
export function formatReceipt(receipt: string): string {
  return formatNormalized(normalizeReceipt(receipt));
}

/**
 * The receipt key pair of one report: keyed BLAKE2b-256 (key = the report's 16-byte `receipt_salt`) of a
 * domain label and the normalised receipt gives a 32-byte seed for crypto_box_seed_keypair.
 */
export function receiptKeyPair(receipt: string, salt: Uint8Array): ReceiptKeyPair {
  const op = 'receiptKeyPair';
  expectBytes(op, 'salt', salt, PWHASH_SALT_BYTES);
  const password = utf8(normalizeReceipt(receipt));
  // A receipt carries 80 bits from the CSPRNG, so a fast keyed hash is enough (2^80 / n guesses stay out of
  // reach); Argon2 here would cost ~350 ms of CPU and 64 MiB per submission and per /suivi, a load and
  // denial-of-service lever for no gain. The salt is the BLAKE2b key; the message is domain-separated.
  const seed = genericHash(op, concatBytes(RECEIPT_SEED_DOMAIN, password), salt);
  const keyPair = boxSeedKeyPair(op, seed);
  wipe(seed);
  wipe(password);
  return keyPair;
}

/**
 * The index under which a report's receipt is found: hex keyed BLAKE2b-256(receipt-lookup subkey,
 * normalised receipt). Store it per report; look `/suivi` input up by it. During a master-key rotation
 * compute it with each set of keys (current first) and rewrite the stored tag on a hit with an old one.
 */
export function receiptLookupTag(keys: MasterKeys, receipt: string): string {
  const op = 'receiptLookupTag';
  if (typeof keys !== 'object' || keys === null)
    throw new CryptoInputError(op, 'keys must come from deriveSubkeys()');
  expectBytes(op, 'receipt-lookup subkey', keys.receiptLookupKey, KEY_BYTES);
  return toHex(op, genericHash(op, utf8(normalizeReceipt(receipt)), keys.receiptLookupKey));
}

/** Domain separation of the receipt lookup hash a browser sends instead of the receipt. */
const RECEIPT_LOOKUP_HASH_DOMAIN = utf8('intake receipt lookup hash v1\0');
/** Hex characters of a {@link receiptLookupHash}. */
export const RECEIPT_LOOKUP_HASH_HEX_CHARS = 64;

/**
 * What the web flow sends for a receipt it made in the browser: hex BLAKE2b-256 of a domain label and the
 * normalised receipt (unkeyed, so the page can compute it; 80 bits of receipt entropy keep it unguessable).
 * The server never sees the receipt: it keys this hash with {@link receiptTagFromLookupHash}.
 */
export function receiptLookupHash(receipt: string): string {
  const op = 'receiptLookupHash';
  return toHex(
    op,
    genericHash(op, concatBytes(RECEIPT_LOOKUP_HASH_DOMAIN, utf8(normalizeReceipt(receipt))), null),
  );
}

/**
 * The stored lookup tag of a receipt known only by its {@link receiptLookupHash}: hex keyed BLAKE2b-256
 * (receipt-lookup subkey, the hash's 32 bytes). `/suivi` computes it from the receipt as well, so a receipt
 * made in a browser and one made by a chat are found the same way.
 */
export function receiptTagFromLookupHash(keys: MasterKeys, lookupHash: string): string {
  const op = 'receiptTagFromLookupHash';
  const bytes = lookupHashBytes(op, keys, lookupHash);
  return toHex(op, genericHash(op, bytes, keys.receiptLookupKey));
}

/** Checks the keys and a lookup hash (64 lower-case hex characters); returns the hash's 32 bytes. */
function lookupHashBytes(op: string, keys: MasterKeys, lookupHash: string): Uint8Array {
  if (typeof keys !== 'object' || keys === null)
    throw new CryptoInputError(op, 'keys must come from deriveSubkeys()');
  expectBytes(op, 'receipt-lookup subkey', keys.receiptLookupKey, KEY_BYTES);
  if (typeof lookupHash !== 'string' || !/^[0-9a-f]{64}$/.test(lookupHash)) {
    throw new CryptoInputError(op, 'lookupHash must be 64 lower-case hex characters');
  }
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(lookupHash.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

const DECOY_REPORT_ID_DOMAIN = utf8('intake/followup-decoy/v1\0');

/**
 * A stable, unpredictable report id for a lookup hash that finds no report (the first 16 bytes of keyed BLAKE2b-256 of a
 * domain label and the hash's 32 bytes, receipt-lookup subkey, shaped as a UUID v4). "J'ai déjà un code"
 * gets it in place of a real report id, so an unknown code looks like a known one from outside, and the
 * same unknown code always gets the same id.
 */
export function decoyReportId(keys: MasterKeys, lookupHash: string): string {
  const op = 'decoyReportId';
  const bytes = lookupHashBytes(op, keys, lookupHash);
  const b = genericHash(op, concatBytes(DECOY_REPORT_ID_DOMAIN, bytes), keys.receiptLookupKey).slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = toHex(op, b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Seals a coordinator's reply to a report's receipt public key (crypto_box_seal of the padded UTF-8
 * text). Only the receipt holder can open it. Returns base64url `0x05 || sealed box`.
 */
export function sealReply(receiptPublicKey: Uint8Array | string, replyText: string): string {
  const op = 'sealReply';
  const publicKey =
    typeof receiptPublicKey === 'string' ? fromBase64Url(op, receiptPublicKey) : receiptPublicKey;
  if (publicKey === null) throw new CryptoInputError(op, 'receiptPublicKey is not base64url');
  expectBytes(op, 'receiptPublicKey', publicKey, PUBLIC_KEY_BYTES);
  if (typeof replyText !== 'string' || replyText.length === 0) {
    throw new CryptoInputError(op, 'replyText must be a non-empty string');
  }
  const plain = utf8(replyText);
  if (plain.length > MAX_REPLY_BYTES)
    throw new CryptoInputError(op, `replyText exceeds ${MAX_REPLY_BYTES} bytes`);
  const sealed = boxSeal(op, pad(op, plain, REPLY_PADDING_BLOCK_BYTES), publicKey);
  return toBase64Url(op, concatBytes(new Uint8Array([REPLY_FORMAT]), sealed));
}

/** Opens a reply with the receipt key pair. Throws `ReplyDecryptError` for a wrong receipt or tampering. */
export function openReply(keyPair: ReceiptKeyPair, sealed: string): string {
  const op = 'openReply';
  if (typeof keyPair !== 'object' || keyPair === null)
    throw new CryptoInputError(op, 'keyPair must be an object');
  expectBytes(op, 'keyPair.publicKey', keyPair.publicKey, PUBLIC_KEY_BYTES);
  expectBytes(op, 'keyPair.privateKey', keyPair.privateKey, PRIVATE_KEY_BYTES);
  const blob =
    typeof sealed === 'string' && sealed.length <= ((MAX_REPLY_BYTES + 512) * 4) / 3
      ? fromBase64Url(op, sealed)
      : null;
  if (blob === null || blob.length < 1 + SEAL_OVERHEAD_BYTES || blob[0] !== REPLY_FORMAT) {
    throw new ReplyDecryptError(op, 'not a sealed reply');
  }
  const padded = boxSealOpen(op, blob.subarray(1), keyPair);
  const plain = padded === null ? null : unpad(op, padded, REPLY_PADDING_BLOCK_BYTES);
  let text: string | null = null;
  if (plain !== null) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(plain);
    } catch {
      text = null;
    }
  }
  if (text === null) throw new ReplyDecryptError(op, 'reply cannot be opened with this receipt');
  return text;
}

/** DANGER, tests only: the receipt determined by 10 caller-chosen bytes (known-answer vectors). */
export function dangerousTestOnlyReceiptFromBytes(bytes: Uint8Array): string {
  return receiptFromBytes('dangerousTestOnlyReceiptFromBytes', bytes);
}
