/**
 * Named cryptographic operations over named payload types: master-key subkeys, user-id hashing,
 * conversation state, coordinator login and key wrapping, coordinator secrets at rest, reports, notes and
 * contacts.
 *
 * Built only from the primitives of `./sodium.js`; no libsodium import here. Algorithms, parameters and
 * byte layouts are described in docs/CRYPTO.md; change both together (and tests/crypto/vectors.json,
 * which pins the layouts).
 *
 * Wire conventions:
 * - Every byte string that is persisted or sent as text is base64url without padding.
 * - Every small AEAD blob is `format byte || nonce (24) || ciphertext+tag`, and the format byte is also
 *   authenticated (it is part of the associated data), so a blob of one kind never opens as another.
 * - Conversation state is the exception: it stays a byte string (a `bytea` column), never leaves the server.
 */
import {
  ContactDecryptError,
  CoordinatorSecretError,
  CryptoInputError,
  ReportDecryptError,
  StateDecryptError,
  UnwrapError,
} from './errors.js';
import {
  AEAD_TAG_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  argon2id,
  boxKeyPair,
  boxPublicKeyFromPrivate,
  boxSeal,
  boxSealOpen,
  boxSeedKeyPair,
  concatBytes,
  constantTimeEqual,
  expectBytes,
  fromBase64Lenient,
  fromBase64Url,
  genericHash,
  genericHashLength,
  HASH_BYTES,
  KDF_SUBKEY_MIN_BYTES,
  KEY_BYTES,
  kdfDerive,
  NONCE_BYTES,
  PRIVATE_KEY_BYTES,
  PUBLIC_KEY_BYTES,
  PWHASH_SALT_BYTES,
  pad,
  randomBytes,
  randomNonce,
  toBase64Standard,
  toBase64Url,
  toHex,
  unpad,
  wipe,
} from './sodium.js';

// --- Named constants ------------------------------------------------------------------------------------

/** Length of the master key (`INTAKE_MASTER_KEY`, base64 of 32 random bytes). */
export const MASTER_KEY_BYTES = KEY_BYTES;
/** crypto_kdf context for every subkey of the master key. */
export const MASTER_KDF_CONTEXT = 'intake01';
/** Subkey ids under {@link MASTER_KDF_CONTEXT}. Never reuse or renumber an id. */
export const MASTER_SUBKEY_IDS = {
  userIdHash: 1,
  conversationState: 2,
  contact: 3,
  receiptLookup: 4,
  fingerprint: 5,
  coordinatorSecrets: 6,
  // 7 is unused (ids are never reused).
  /** MACs over inbox membership and coordinators' public keys (src/crypto/integrity.ts). */
  integrity: 8,
} as const;
/** crypto_kdf context that splits the Argon2id output into the login key and the wrap key. */
export const LOGIN_KDF_CONTEXT = 'coordkey';
/** Subkey ids under {@link LOGIN_KDF_CONTEXT}. */
export const LOGIN_SUBKEY_IDS = { loginKey: 1, wrapKey: 2 } as const;

/** Version of the {@link SealedReport} envelope. */
export const REPORT_ENVELOPE_VERSION = 1;
/** First byte of a sealed conversation state. */
export const STATE_FORMAT = 0x01;
/** First byte of a wrapped coordinator private key. */
export const WRAPPED_KEY_FORMAT = 0x02;
/** First byte of a sealed contact address. */
export const CONTACT_FORMAT = 0x03;
/** First byte of a note encrypted with a report's data key. */
export const NOTE_FORMAT = 0x04;
/** First byte of a coordinator secret (login-key hash, wrapped private key) sealed at rest. */
export const COORDINATOR_SECRET_FORMAT = 0x05;

/** Plaintexts are padded to a multiple of this many bytes before encryption (ISO/IEC 7816-4). */
export const PADDING_BLOCK_BYTES = 256;
/** Contacts are short; a smaller bucket still hides their exact length. */
export const CONTACT_PADDING_BLOCK_BYTES = 64;

/** Largest canonical-JSON report payload accepted by {@link sealReport}. */
export const MAX_REPORT_BYTES = 1024 * 1024;
/** Largest conversation state accepted by {@link sealState}. */
export const MAX_STATE_BYTES = 256 * 1024;
/** Largest note accepted by {@link encryptWithDataKey}. */
export const MAX_NOTE_BYTES = 64 * 1024;
/** Largest contact address accepted by {@link sealContact}. */
export const MAX_CONTACT_BYTES = 512;
/** Largest UTF-8 length of a channel name. */
export const MAX_CHANNEL_BYTES = 64;
/** Largest UTF-8 length of a platform user id. */
export const MAX_PLATFORM_USER_ID_BYTES = 256;
/** Largest UTF-8 length of a report id, a coordinator id or a note's associated data. */
export const MAX_ID_BYTES = 256;
/** Largest UTF-8 length of a passphrase (Argon2 would accept more; nobody types more). */
export const MAX_PASSPHRASE_BYTES = 1024;
/**
 * Suggested minimum passphrase length, in characters, for `coordinator add` and passphrase changes.
 * Not enforced by {@link deriveLoginKeys}: a policy change must never lock out an existing coordinator.
 */
export const PASSPHRASE_MIN_CHARS = 12;

// Base64url text longer than this cannot be a valid blob of any kind; rejected before decoding.
const MAX_BLOB_TEXT_CHARS = Math.ceil(((MAX_REPORT_BYTES + PADDING_BLOCK_BYTES + 64) * 4) / 3);

// --- Small helpers ----------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encoding of a string (well-formed; lone surrogates become U+FFFD). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decoding; `null` for invalid UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}

/** Validates a short identifier-like string and returns its UTF-8 bytes. NUL is our field separator. */
/** @internal Shared with integrity.ts. */
export function checkText(operation: string, what: string, value: unknown, maxBytes: number): Uint8Array {
  if (typeof value !== 'string') throw new CryptoInputError(operation, `${what} must be a string`);
  if (value.length === 0) throw new CryptoInputError(operation, `${what} must not be empty`);
  if (value.includes('\0')) throw new CryptoInputError(operation, `${what} must not contain NUL`);
  const bytes = utf8(value);
  if (bytes.length > maxBytes) {
    throw new CryptoInputError(operation, `${what} must be at most ${maxBytes} bytes of UTF-8`);
  }
  return bytes;
}

/** @internal Shared with integrity.ts. */
export function decodeBlobText(op: string, text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || text.length > MAX_BLOB_TEXT_CHARS) return null;
  return fromBase64Url(op, text);
}

/** @internal Shared with integrity.ts: a keyring (current first) from one set of keys or several. */
export function asKeyring(
  operation: string,
  keys: MasterKeys | readonly MasterKeys[],
): readonly MasterKeys[] {
  const ring = Array.isArray(keys) ? (keys as readonly MasterKeys[]) : [keys as MasterKeys];
  if (ring.length === 0) throw new CryptoInputError(operation, 'at least one set of master keys is required');
  for (const k of ring) checkMasterKeys(operation, k);
  return ring;
}

function checkMasterKeys(operation: string, keys: MasterKeys): void {
  if (typeof keys !== 'object' || keys === null) {
    throw new CryptoInputError(operation, 'keys must come from deriveSubkeys()');
  }
  expectBytes(operation, 'user-id hash subkey', keys.userIdHashKey, KEY_BYTES);
  expectBytes(operation, 'conversation-state subkey', keys.conversationStateKey, KEY_BYTES);
  expectBytes(operation, 'contact subkey', keys.contactKey, KEY_BYTES);
  expectBytes(operation, 'receipt-lookup subkey', keys.receiptLookupKey, KEY_BYTES);
  expectBytes(operation, 'coordinator-secrets subkey', keys.coordinatorSecretsKey, KEY_BYTES);
}

/** Splits `format || nonce || ciphertext`; `null` when too short or of another format. */
function splitBlob(blob: Uint8Array, format: number): { nonce: Uint8Array; ciphertext: Uint8Array } | null {
  if (blob.length < 1 + NONCE_BYTES + AEAD_TAG_BYTES || blob[0] !== format) return null;
  return { nonce: blob.subarray(1, 1 + NONCE_BYTES), ciphertext: blob.subarray(1 + NONCE_BYTES) };
}

function checkNonce(operation: string, nonce: Uint8Array): Uint8Array {
  return expectBytes(operation, 'nonce', nonce, NONCE_BYTES);
}

// --- Canonical JSON --------------------------------------------------------------------------------------

const MAX_JSON_DEPTH = 64;

/**
 * Deterministic JSON: object keys sorted by UTF-16 code units, no whitespace, numbers and strings as
 * `JSON.stringify` writes them (this is RFC 8785 for the values we accept). Accepts only `null`,
 * booleans, finite numbers, strings, arrays and plain objects; properties whose value is `undefined` are
 * omitted as JSON.stringify does. Throws `CryptoInputError` for anything else (NaN, bigint, Date, Map,
 * class instances, `undefined` inside arrays, cycles, nesting deeper than 64).
 */
export function canonicalJson(value: unknown): string {
  const active = new Set<object>();
  const write = (v: unknown, depth: number): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        if (!Number.isFinite(v)) throw new CryptoInputError('canonicalJson', 'numbers must be finite');
        return JSON.stringify(v);
      case 'string':
        return JSON.stringify(v);
      case 'object':
        break;
      default:
        throw new CryptoInputError('canonicalJson', `values of type ${typeof v} are not JSON`);
    }
    if (depth >= MAX_JSON_DEPTH) throw new CryptoInputError('canonicalJson', 'nesting is too deep');
    const obj = v as object;
    if (active.has(obj)) throw new CryptoInputError('canonicalJson', 'value contains a cycle');
    active.add(obj);
    let out: string;
    if (Array.isArray(obj)) {
      const items = obj.map((item) => {
        if (item === undefined)
          throw new CryptoInputError('canonicalJson', 'arrays must not contain undefined');
        return write(item, depth + 1);
      });
      out = `[${items.join(',')}]`;
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) {
        throw new CryptoInputError('canonicalJson', 'only plain objects can be serialised');
      }
      const record = obj as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${write(item, depth + 1)}`);
      }
      out = `{${parts.join(',')}}`;
    }
    active.delete(obj);
    return out;
  };
  return write(value, 0);
}

// --- Master key and subkeys -----------------------------------------------------------------------------

/**
 * Subkeys of one master key. Opaque to callers: pass it to the operations, never store or log it.
 * `fingerprint` is not secret and identifies the master key in logs and during rotation.
 */
export interface MasterKeys {
  /** 16 hex characters derived from the master key; safe to log. */
  readonly fingerprint: string;
  readonly userIdHashKey: Uint8Array;
  readonly conversationStateKey: Uint8Array;
  readonly contactKey: Uint8Array;
  readonly receiptLookupKey: Uint8Array;
  readonly coordinatorSecretsKey: Uint8Array;
  /** Keys the MACs that protect inbox membership and coordinators' public keys. */
  readonly integrityKey: Uint8Array;
}

/** Decodes a base64 master key (standard or URL-safe alphabet, padding optional) of exactly 32 bytes. */
export function parseMasterKey(base64: string): Uint8Array {
  const op = 'parseMasterKey';
  if (typeof base64 !== 'string') throw new CryptoInputError(op, 'master key must be a base64 string');
  const text = base64.trim();
  if (text.length === 0) throw new CryptoInputError(op, 'master key is empty');
  const bytes = fromBase64Lenient(op, text);
  if (bytes === null) throw new CryptoInputError(op, 'master key is not valid base64');
  if (bytes.length !== MASTER_KEY_BYTES) {
    const got = bytes.length;
    wipe(bytes);
    throw new CryptoInputError(op, `master key must decode to ${MASTER_KEY_BYTES} bytes, got ${got}`);
  }
  return bytes;
}

/** A new random master key as standard base64 with padding (the `INTAKE_MASTER_KEY` format). */
export function generateMasterKey(): string {
  const key = randomBytes('generateMasterKey', MASTER_KEY_BYTES);
  const text = toBase64Standard('generateMasterKey', key);
  wipe(key);
  return text;
}

/** Derives the purpose-bound subkeys of a master key (crypto_kdf, context `intake01`). */
export function deriveSubkeys(master: Uint8Array): MasterKeys {
  const op = 'deriveSubkeys';
  expectBytes(op, 'master key', master, MASTER_KEY_BYTES);
  const sub = (id: number) => kdfDerive(op, KEY_BYTES, id, MASTER_KDF_CONTEXT, master);
  const fp = kdfDerive(op, KDF_SUBKEY_MIN_BYTES, MASTER_SUBKEY_IDS.fingerprint, MASTER_KDF_CONTEXT, master);
  return Object.freeze({
    fingerprint: toHex(op, fp.subarray(0, 8)),
    userIdHashKey: sub(MASTER_SUBKEY_IDS.userIdHash),
    conversationStateKey: sub(MASTER_SUBKEY_IDS.conversationState),
    contactKey: sub(MASTER_SUBKEY_IDS.contact),
    receiptLookupKey: sub(MASTER_SUBKEY_IDS.receiptLookup),
    coordinatorSecretsKey: sub(MASTER_SUBKEY_IDS.coordinatorSecrets),
    integrityKey: sub(MASTER_SUBKEY_IDS.integrity),
  });
}

// --- Platform user ids ------------------------------------------------------------------------------------

function userMessage(operation: string, channel: string, platformUserId: string): Uint8Array {
  const c = checkText(operation, 'channel', channel, MAX_CHANNEL_BYTES);
  const id = checkText(operation, 'platformUserId', platformUserId, MAX_PLATFORM_USER_ID_BYTES);
  return concatBytes(c, new Uint8Array([0]), id);
}

function userHashBytes(operation: string, keys: MasterKeys, message: Uint8Array): Uint8Array {
  return genericHash(operation, message, keys.userIdHashKey);
}

/**
 * The only form in which a platform user id is stored: hex keyed BLAKE2b-256 over
 * `channel || 0x00 || platformUserId` with the user-id subkey. 64 hex characters.
 */
export function hashUserId(keys: MasterKeys, channel: string, platformUserId: string): string {
  const op = 'hashUserId';
  checkMasterKeys(op, keys);
  return toHex(op, userHashBytes(op, keys, userMessage(op, channel, platformUserId)));
}

// --- Conversation state -------------------------------------------------------------------------------------

/** A conversation state opened by {@link openState}. */
export interface OpenedState {
  /** The JSON text that was sealed. */
  json: string;
  /**
   * Index in the keyring of the master keys that opened it: 0 is current; anything else means the
   * caller should re-seal with the current keys (and store it under the current user hash).
   */
  keyIndex: number;
}

/**
 * State keys kept: one per (channel string, user), and a user has up to four (`<channel>`, `:outbox`,
 * `:data`, `:trail`), so about the last 4,096 users, as many as the service keeps user hashes for.
 */
const STATE_MATERIAL_CACHE_SIZE = 16_384;

/** Per master keys: `channel \0 platformUserId` -> the state key and the associated data. */
const stateMaterialCache = new WeakMap<MasterKeys, Map<string, { key: Uint8Array; ad: Uint8Array }>>();

/**
 * The state key (keyed BLAKE2b of `channel || 0 || platformUserId` with the state subkey) and the associated
 * data (format byte || user hash) of one user, derived once and kept for the last users: deriving them was a
 * third of the cost of sealing a small state. They are not new secrets in memory: the process holds the
 * master keys, and the service keeps the same users' raw ids for their hashes. Inputs are checked on the first
 * derivation; NUL is refused in both, so the cache key is unambiguous.
 */
function stateMaterial(op: string, keys: MasterKeys, channel: string, platformUserId: string) {
  let perKeys = stateMaterialCache.get(keys);
  const id =
    typeof channel === 'string' && typeof platformUserId === 'string' ? `${channel}\0${platformUserId}` : '';
  const known = id ? perKeys?.get(id) : undefined;
  if (known) return known;
  const message = userMessage(op, channel, platformUserId);
  const material = {
    key: genericHash(op, message, keys.conversationStateKey),
    ad: concatBytes(new Uint8Array([STATE_FORMAT]), userHashBytes(op, keys, message)),
  };
  if (!perKeys) {
    perKeys = new Map();
    stateMaterialCache.set(keys, perKeys);
  }
  if (perKeys.size >= STATE_MATERIAL_CACHE_SIZE) {
    // Oldest first: a Map iterates in insertion order.
    const oldest = perKeys.keys().next().value;
    if (oldest !== undefined) perKeys.delete(oldest);
  }
  perKeys.set(id, material);
  return material;
}

function sealStateWithNonce(
  op: string,
  nonce: Uint8Array,
  keys: MasterKeys,
  channel: string,
  platformUserId: string,
  stateJson: Uint8Array | string,
): Uint8Array {
  checkMasterKeys(op, keys);
  checkNonce(op, nonce);
  const { key: stateKey, ad } = stateMaterial(op, keys, channel, platformUserId);
  let plain: Uint8Array;
  if (typeof stateJson === 'string') plain = utf8(stateJson);
  else if (stateJson instanceof Uint8Array) {
    if (decodeUtf8(stateJson) === null) throw new CryptoInputError(op, 'stateJson must be UTF-8');
    plain = stateJson;
  } else throw new CryptoInputError(op, 'stateJson must be a string or a Uint8Array');
  if (plain.length > MAX_STATE_BYTES)
    throw new CryptoInputError(op, `state exceeds ${MAX_STATE_BYTES} bytes`);
  const padded = pad(op, plain, PADDING_BLOCK_BYTES);
  const ciphertext = aeadEncrypt(op, stateKey, nonce, padded, ad);
  wipe(padded);
  return concatBytes(ad.subarray(0, 1), nonce, ciphertext);
}

/**
 * Encrypts an in-progress conversation state. The key is keyed BLAKE2b(state subkey, channel || 0 ||
 * platformUserId): it needs the raw platform user id, which is never stored, so a database dump plus the
 * master key does not open it. Associated data = format byte || user hash. Returns
 * `0x01 || nonce (24) || ciphertext`.
 */
export function sealState(
  keys: MasterKeys,
  channel: string,
  platformUserId: string,
  stateJson: Uint8Array | string,
): Uint8Array {
  const op = 'sealState';
  return sealStateWithNonce(op, randomNonce(op, NONCE_BYTES), keys, channel, platformUserId, stateJson);
}

/**
 * Opens a state sealed by {@link sealState}, trying each set of master keys in order (current first,
 * then older ones during a rotation). Throws `StateDecryptError` when none opens it.
 */
export function openState(
  keys: MasterKeys | readonly MasterKeys[],
  channel: string,
  platformUserId: string,
  sealed: Uint8Array,
): OpenedState {
  const op = 'openState';
  const ring = asKeyring(op, keys);
  // Checks the inputs (on a first derivation) before anything else, as before the cache.
  stateMaterial(op, ring[0]!, channel, platformUserId);
  if (!(sealed instanceof Uint8Array)) throw new CryptoInputError(op, 'sealed state must be a Uint8Array');
  const parts = splitBlob(sealed, STATE_FORMAT);
  if (parts === null) throw new StateDecryptError(op, 'not a sealed conversation state');
  for (const [keyIndex, k] of ring.entries()) {
    const { key: stateKey, ad } = stateMaterial(op, k, channel, platformUserId);
    const padded = aeadDecrypt(op, stateKey, parts.nonce, parts.ciphertext, ad);
    if (padded === null) continue;
    const plain = unpad(op, padded, PADDING_BLOCK_BYTES);
    const json = plain === null ? null : decodeUtf8(plain);
    wipe(padded);
    if (json === null) break;
    return { json, keyIndex };
  }
  throw new StateDecryptError(op, 'state cannot be opened with the given keys');
}

// --- Coordinator login and key wrapping ------------------------------------------------------------------

/** The two independent keys a coordinator's passphrase yields. Both stay in the browser except `loginKey`. */
export interface LoginKeys {
  /** Sent to the server at login; the server keeps only {@link hashLoginKey} of it. */
  loginKey: Uint8Array;
  /** Never leaves the coordinator's browser or CLI; wraps the X25519 private key. */
  wrapKey: Uint8Array;
}

/** A coordinator's X25519 key pair (also the shape of a receipt key pair). */
export interface CoordinatorKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** A fresh random 16-byte Argon2id salt (one per coordinator passphrase, one per receipt). */
export function newPwhashSalt(): Uint8Array {
  return randomBytes('newPwhashSalt', PWHASH_SALT_BYTES);
}

/**
 * Argon2id13 (2 passes, 64 MiB) of the NFC-normalised passphrase with the coordinator's salt gives a
 * 32-byte root; crypto_kdf (context `coordkey`) derives `loginKey` (id 1) and `wrapKey` (id 2) from it,
 * so the server, which sees `loginKey`, learns nothing about `wrapKey`. Takes ~0.3 s by design.
 */
export function deriveLoginKeys(passphrase: string, salt: Uint8Array): LoginKeys {
  const op = 'deriveLoginKeys';
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CryptoInputError(op, 'passphrase must be a non-empty string');
  }
  expectBytes(op, 'salt', salt, PWHASH_SALT_BYTES);
  // NFC so that the same passphrase typed on macOS (decomposed) and elsewhere yields the same keys.
  const password = utf8(passphrase.normalize('NFC'));
  if (password.length > MAX_PASSPHRASE_BYTES) {
    throw new CryptoInputError(op, `passphrase must be at most ${MAX_PASSPHRASE_BYTES} bytes of UTF-8`);
  }
  const root = argon2id(op, KEY_BYTES, password, salt);
  wipe(password);
  const keys = {
    loginKey: kdfDerive(op, KEY_BYTES, LOGIN_SUBKEY_IDS.loginKey, LOGIN_KDF_CONTEXT, root),
    wrapKey: kdfDerive(op, KEY_BYTES, LOGIN_SUBKEY_IDS.wrapKey, LOGIN_KDF_CONTEXT, root),
  };
  wipe(root);
  return keys;
}

// BLAKE2b key used as a domain label: this hash is for stored login keys only.
const LOGIN_HASH_DOMAIN = utf8('intake/login-key-hash/v1');

/**
 * What the server stores for a coordinator's login: base64url BLAKE2b-256 of `loginKey`. A fast hash is
 * enough because `loginKey` is already a 256-bit Argon2id output: guessing passphrases still costs one
 * Argon2id per guess, and the 256-bit key itself cannot be searched.
 */
export function hashLoginKey(loginKey: Uint8Array): string {
  const op = 'hashLoginKey';
  expectBytes(op, 'loginKey', loginKey, KEY_BYTES);
  return toBase64Url(op, genericHash(op, loginKey, LOGIN_HASH_DOMAIN));
}

/** Constant-time check of a presented `loginKey` against the stored {@link hashLoginKey} value. */
export function verifyLoginKey(loginKey: Uint8Array, storedHash: string): boolean {
  const op = 'verifyLoginKey';
  expectBytes(op, 'loginKey', loginKey, KEY_BYTES);
  const stored = typeof storedHash === 'string' ? fromBase64Url(op, storedHash) : null;
  if (stored === null || stored.length !== HASH_BYTES) {
    throw new CryptoInputError(op, 'stored hash is not a login-key hash');
  }
  return constantTimeEqual(op, genericHash(op, loginKey, LOGIN_HASH_DOMAIN), stored);
}

/** A fresh random X25519 key pair for a coordinator. */
export function generateCoordinatorKeyPair(): CoordinatorKeyPair {
  return boxKeyPair('generateCoordinatorKeyPair');
}

function wrapPrivateKeyWithNonce(
  op: string,
  nonce: Uint8Array,
  wrapKey: Uint8Array,
  privateKey: Uint8Array,
  coordinatorId: string,
): string {
  expectBytes(op, 'wrapKey', wrapKey, KEY_BYTES);
  expectBytes(op, 'privateKey', privateKey, PRIVATE_KEY_BYTES);
  checkNonce(op, nonce);
  const header = new Uint8Array([WRAPPED_KEY_FORMAT]);
  const ad = concatBytes(header, checkText(op, 'coordinatorId', coordinatorId, MAX_ID_BYTES));
  const ciphertext = aeadEncrypt(op, wrapKey, nonce, privateKey, ad);
  return toBase64Url(op, concatBytes(header, nonce, ciphertext));
}

/**
 * Wraps a coordinator's private key for storage on the server: XChaCha20-Poly1305 under `wrapKey`,
 * associated data = format byte || coordinatorId, so a wrapped key copied to another account won't open.
 */
export function wrapPrivateKey(wrapKey: Uint8Array, privateKey: Uint8Array, coordinatorId: string): string {
  const op = 'wrapPrivateKey';
  return wrapPrivateKeyWithNonce(op, randomBytes(op, NONCE_BYTES), wrapKey, privateKey, coordinatorId);
}

/**
 * Unwraps a private key wrapped by {@link wrapPrivateKey} and returns the whole key pair (the public key
 * is recomputed). Throws `UnwrapError` for a wrong passphrase, another coordinator id or tampering.
 */
export function unwrapPrivateKey(
  wrapKey: Uint8Array,
  wrapped: string,
  coordinatorId: string,
): CoordinatorKeyPair {
  const op = 'unwrapPrivateKey';
  expectBytes(op, 'wrapKey', wrapKey, KEY_BYTES);
  const header = new Uint8Array([WRAPPED_KEY_FORMAT]);
  const ad = concatBytes(header, checkText(op, 'coordinatorId', coordinatorId, MAX_ID_BYTES));
  const blob = decodeBlobText(op, wrapped);
  const parts = blob === null ? null : splitBlob(blob, WRAPPED_KEY_FORMAT);
  if (parts === null) throw new UnwrapError(op, 'not a wrapped private key');
  const privateKey = aeadDecrypt(op, wrapKey, parts.nonce, parts.ciphertext, ad);
  if (privateKey === null || privateKey.length !== PRIVATE_KEY_BYTES) {
    throw new UnwrapError(op, 'wrong passphrase, wrong coordinator or altered key');
  }
  return { publicKey: boxPublicKeyFromPrivate(op, privateKey), privateKey };
}

// --- Coordinator secrets at rest ---------------------------------------------------------------------------

/**
 * The two coordinator columns sealed at rest. Each name is authenticated, so a login-key hash never opens
 * as a wrapped key or the other way round.
 */
export type CoordinatorSecretField = 'login-key-hash' | 'wrapped-private-key';

const COORDINATOR_SECRET_FIELDS: readonly CoordinatorSecretField[] = [
  'login-key-hash',
  'wrapped-private-key',
];
/** Largest stored text sealed by {@link sealCoordinatorSecret} (a wrapped key is ~100 characters). */
export const MAX_COORDINATOR_SECRET_BYTES = 512;

/** A coordinator secret opened by {@link openCoordinatorSecret}. */
export interface OpenedCoordinatorSecret {
  value: string;
  /** Index in the keyring of the master keys that opened it: anything but 0 should be re-sealed. */
  keyIndex: number;
}

function coordinatorSecretAd(op: string, field: CoordinatorSecretField, coordinatorId: string): Uint8Array {
  if (!COORDINATOR_SECRET_FIELDS.includes(field)) {
    throw new CryptoInputError(op, `field must be one of ${COORDINATOR_SECRET_FIELDS.join(', ')}`);
  }
  return concatBytes(
    new Uint8Array([COORDINATOR_SECRET_FORMAT]),
    utf8(field),
    new Uint8Array([0]),
    checkText(op, 'coordinatorId', coordinatorId, MAX_ID_BYTES),
  );
}

function sealCoordinatorSecretWithNonce(
  op: string,
  nonce: Uint8Array,
  keys: MasterKeys,
  field: CoordinatorSecretField,
  coordinatorId: string,
  value: string,
): string {
  checkMasterKeys(op, keys);
  checkNonce(op, nonce);
  const ad = coordinatorSecretAd(op, field, coordinatorId);
  const plain = checkText(op, 'value', value, MAX_COORDINATOR_SECRET_BYTES);
  const ciphertext = aeadEncrypt(op, keys.coordinatorSecretsKey, nonce, plain, ad);
  return toBase64Url(op, concatBytes(new Uint8Array([COORDINATOR_SECRET_FORMAT]), nonce, ciphertext));
}

/**
 * Seals a coordinator's login-key hash or passphrase-wrapped private key for storage: XChaCha20-Poly1305
 * under the master key's coordinator-secrets subkey, associated data = format byte || field || 0x00 ||
 * coordinatorId, so a blob copied to another row or column does not open. Without the master key a
 * database dump holds nothing to test passphrase guesses against.
 */
export function sealCoordinatorSecret(
  keys: MasterKeys,
  field: CoordinatorSecretField,
  coordinatorId: string,
  value: string,
): string {
  const op = 'sealCoordinatorSecret';
  return sealCoordinatorSecretWithNonce(op, randomBytes(op, NONCE_BYTES), keys, field, coordinatorId, value);
}

/**
 * Opens what {@link sealCoordinatorSecret} sealed with the first set of master keys that works (current
 * first, then older ones during a rotation). A clear legacy value, another row's blob, another column's
 * blob or tampering throws `CoordinatorSecretError`.
 */
export function openCoordinatorSecret(
  keys: MasterKeys | readonly MasterKeys[],
  field: CoordinatorSecretField,
  coordinatorId: string,
  sealed: string,
): OpenedCoordinatorSecret {
  const op = 'openCoordinatorSecret';
  const ring = asKeyring(op, keys);
  const ad = coordinatorSecretAd(op, field, coordinatorId);
  const blob = decodeBlobText(op, sealed);
  const parts = blob === null ? null : splitBlob(blob, COORDINATOR_SECRET_FORMAT);
  if (parts === null) throw new CoordinatorSecretError(op, 'not a sealed coordinator secret');
  for (const [keyIndex, k] of ring.entries()) {
    const plain = aeadDecrypt(op, k.coordinatorSecretsKey, parts.nonce, parts.ciphertext, ad);
    const value = plain === null ? null : decodeUtf8(plain);
    if (value !== null) return { value, keyIndex };
  }
  throw new CoordinatorSecretError(
    op,
    'cannot be opened with the given keys, for this coordinator and field',
  );
}

// --- Reports ------------------------------------------------------------------------------------------------

/** A coordinator a report is sealed to. `publicKey` as raw bytes or base64url. */
export interface ReportRecipient {
  coordinatorId: string;
  publicKey: Uint8Array | string;
}

/** Input of {@link sealReport}. */
export interface SealReportInput {
  /** The report's stable id; authenticated as associated data, so a ciphertext moved to another row fails. */
  reportId: string;
  /** The answers: a plain JSON object, serialised with {@link canonicalJson}. */
  payload: object;
  /** Every coordinator of the target inbox. Must not be empty. */
  recipients: readonly ReportRecipient[];
}

/** The data key of one report, sealed to one coordinator. */
export interface SealedReportKey {
  coordinatorId: string;
  /** base64url crypto_box_seal of the 32-byte data key. */
  sealedKey: string;
}

/** A submitted report as stored: JSON-safe, all byte strings base64url. */
export interface SealedReport {
  v: typeof REPORT_ENVELOPE_VERSION;
  /** base64url, 24 bytes. */
  nonce: string;
  /** base64url XChaCha20-Poly1305 of the padded canonical JSON payload. */
  ciphertext: string;
  keys: SealedReportKey[];
}

/** What one coordinator needs to open a report. */
export interface ReportForCoordinator {
  /** Envelope version; checked when given. */
  v?: number;
  reportId: string;
  nonce: string;
  ciphertext: string;
  /** This coordinator's entry of {@link SealedReport.keys}. */
  sealedKey: string;
}

/** @internal Shared with integrity.ts. */
export function decodePublicKey(op: string, publicKey: Uint8Array | string, what: string): Uint8Array {
  const bytes = typeof publicKey === 'string' ? fromBase64Url(op, publicKey) : publicKey;
  if (bytes === null) throw new CryptoInputError(op, `${what} is not base64url`);
  return expectBytes(op, what, bytes, PUBLIC_KEY_BYTES);
}

function checkDataKey(op: string, dataKey: Uint8Array): Uint8Array {
  return expectBytes(op, 'dataKey', dataKey, KEY_BYTES);
}

function reportPlaintext(op: string, payload: object): Uint8Array {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new CryptoInputError(op, 'payload must be a plain object');
  }
  const json = utf8(canonicalJson(payload));
  if (json.length > MAX_REPORT_BYTES)
    throw new CryptoInputError(op, `payload exceeds ${MAX_REPORT_BYTES} bytes`);
  return pad(op, json, PADDING_BLOCK_BYTES);
}

function sealReportWith(
  op: string,
  dataKey: Uint8Array,
  nonce: Uint8Array,
  input: SealReportInput,
): SealedReport {
  if (typeof input !== 'object' || input === null) throw new CryptoInputError(op, 'input must be an object');
  const ad = checkText(op, 'reportId', input.reportId, MAX_ID_BYTES);
  return sealEnvelopeWith(op, dataKey, nonce, ad, input);
}

/** The report envelope around `input.payload`, under associated data `ad` (a report's or a follow-up's). */
function sealEnvelopeWith(
  op: string,
  dataKey: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  input: Pick<SealReportInput, 'payload' | 'recipients'>,
): SealedReport {
  checkDataKey(op, dataKey);
  checkNonce(op, nonce);
  if (!Array.isArray(input.recipients) || input.recipients.length === 0) {
    throw new CryptoInputError(op, 'no recipients');
  }
  const seen = new Set<string>();
  const recipients = input.recipients.map((r, i) => {
    checkText(op, `recipients[${i}].coordinatorId`, r?.coordinatorId, MAX_ID_BYTES);
    if (seen.has(r.coordinatorId))
      throw new CryptoInputError(op, `recipients[${i}] is a duplicate coordinator`);
    seen.add(r.coordinatorId);
    return {
      coordinatorId: r.coordinatorId,
      publicKey: decodePublicKey(op, r.publicKey, `recipients[${i}].publicKey`),
    };
  });
  const plain = reportPlaintext(op, input.payload);
  const ciphertext = aeadEncrypt(op, dataKey, nonce, plain, ad);
  wipe(plain);
  return {
    v: REPORT_ENVELOPE_VERSION,
    nonce: toBase64Url(op, nonce),
    ciphertext: toBase64Url(op, ciphertext),
    keys: recipients.map((r) => ({
      coordinatorId: r.coordinatorId,
      sealedKey: toBase64Url(op, boxSeal(op, dataKey, r.publicKey)),
    })),
  };
}

/**
 * Seals a submitted report: canonical JSON of `payload`, padded to 256-byte blocks, encrypted with a
 * fresh random data key (XChaCha20-Poly1305, associated data = UTF-8 reportId); the data key is sealed
 * with crypto_box_seal to every recipient. The server cannot open the result. Throws
 * `CryptoInputError("sealReport: no recipients")` for an empty recipient list.
 */
export function sealReport(input: SealReportInput): SealedReport {
  const op = 'sealReport';
  const dataKey = randomBytes(op, KEY_BYTES);
  try {
    return sealReportWith(op, dataKey, randomNonce(op, NONCE_BYTES), input);
  } finally {
    wipe(dataKey);
  }
}

/** Recovers a report's data key from this coordinator's sealed copy. Throws `ReportDecryptError`. */
export function openDataKey(sealedKey: string, keyPair: CoordinatorKeyPair): Uint8Array {
  return openDataKeyAs('openDataKey', sealedKey, keyPair);
}

function openDataKeyAs(op: string, sealedKey: string, keyPair: CoordinatorKeyPair): Uint8Array {
  checkKeyPair(op, keyPair);
  const sealed = decodeBlobText(op, sealedKey);
  const dataKey = sealed === null ? null : boxSealOpen(op, sealed, keyPair);
  if (dataKey === null || dataKey.length !== KEY_BYTES) {
    throw new ReportDecryptError(op, 'data key was not sealed to this key pair, or was altered');
  }
  return dataKey;
}

function checkKeyPair(op: string, keyPair: CoordinatorKeyPair): void {
  if (typeof keyPair !== 'object' || keyPair === null)
    throw new CryptoInputError(op, 'keyPair must be an object');
  expectBytes(op, 'keyPair.publicKey', keyPair.publicKey, PUBLIC_KEY_BYTES);
  expectBytes(op, 'keyPair.privateKey', keyPair.privateKey, PRIVATE_KEY_BYTES);
}

/**
 * Decrypts a report body with an already opened data key (useful when a coordinator also reads the
 * report's notes). Throws `ReportDecryptError`.
 */
export function openReportWithDataKey(
  dataKey: Uint8Array,
  report: Pick<ReportForCoordinator, 'v' | 'reportId' | 'nonce' | 'ciphertext'>,
): Record<string, unknown> {
  return openReportBody('openReportWithDataKey', dataKey, report);
}

function openReportBody(
  op: string,
  dataKey: Uint8Array,
  report: Pick<ReportForCoordinator, 'v' | 'reportId' | 'nonce' | 'ciphertext'>,
): Record<string, unknown> {
  if (typeof report !== 'object' || report === null)
    throw new CryptoInputError(op, 'report must be an object');
  return openEnvelopeBody(op, dataKey, checkText(op, 'reportId', report.reportId, MAX_ID_BYTES), report);
}

function openEnvelopeBody(
  op: string,
  dataKey: Uint8Array,
  ad: Uint8Array,
  report: Pick<ReportForCoordinator, 'v' | 'nonce' | 'ciphertext'>,
): Record<string, unknown> {
  checkDataKey(op, dataKey);
  if (report.v !== undefined && report.v !== REPORT_ENVELOPE_VERSION) {
    throw new ReportDecryptError(op, 'unsupported report envelope version');
  }
  const nonce = decodeBlobText(op, report.nonce);
  const ciphertext = decodeBlobText(op, report.ciphertext);
  if (nonce === null || nonce.length !== NONCE_BYTES || ciphertext === null) {
    throw new ReportDecryptError(op, 'malformed report envelope');
  }
  const padded = aeadDecrypt(op, dataKey, nonce, ciphertext, ad);
  if (padded === null)
    throw new ReportDecryptError(op, 'report cannot be opened (wrong key, id or altered data)');
  const plain = unpad(op, padded, PADDING_BLOCK_BYTES);
  const text = plain === null ? null : decodeUtf8(plain);
  wipe(padded);
  let payload: unknown = null;
  if (text !== null) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = null;
    }
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ReportDecryptError(op, 'report payload is not a JSON object');
  }
  return payload as Record<string, unknown>;
}

/**
 * Opens a report for one coordinator: unseals the data key with the coordinator's key pair, then
 * decrypts and parses the payload. Any failure (wrong key pair, tampered nonce or ciphertext, a
 * different reportId) throws `ReportDecryptError`.
 */
export function openReport(
  report: ReportForCoordinator,
  keyPair: CoordinatorKeyPair,
): Record<string, unknown> {
  if (typeof report !== 'object' || report === null) {
    throw new CryptoInputError('openReport', 'report must be an object');
  }
  const dataKey = openDataKeyAs('openReport', report.sealedKey, keyPair);
  try {
    return openReportBody('openReport', dataKey, report);
  } finally {
    wipe(dataKey);
  }
}

// --- Follow-up messages --------------------------------------------------------------------------------------

// A follow-up is a report envelope whose associated data names the report and the message under this label
// (with NULs, which no report id may contain): it never opens as a report, as another report's follow-up,
// or as another message of the same report.
const FOLLOW_UP_AD_PREFIX = utf8('intake/followup/v1\0');

function followUpAd(op: string, reportId: string, messageId: string): Uint8Array {
  return concatBytes(
    FOLLOW_UP_AD_PREFIX,
    checkText(op, 'reportId', reportId, MAX_ID_BYTES),
    new Uint8Array([0]),
    checkText(op, 'messageId', messageId, MAX_ID_BYTES),
  );
}

/** Input of {@link sealFollowUp}. */
export interface SealFollowUpInput extends SealReportInput {
  /** A fresh id for this message (made by the sender); authenticated with the report id. */
  messageId: string;
}

/**
 * Seals a message the submitter adds to their report later ("J'ai déjà un code", then writing back): the
 * same envelope as {@link sealReport} (fresh data key, padded canonical JSON, XChaCha20-Poly1305, the data
 * key sealed to every recipient) with associated data `"intake/followup/v1" 0x00 reportId 0x00 messageId`.
 */
export function sealFollowUp(input: SealFollowUpInput): SealedReport {
  const op = 'sealFollowUp';
  if (typeof input !== 'object' || input === null) throw new CryptoInputError(op, 'input must be an object');
  const ad = followUpAd(op, input.reportId, input.messageId);
  const dataKey = randomBytes(op, KEY_BYTES);
  try {
    return sealEnvelopeWith(op, dataKey, randomBytes(op, NONCE_BYTES), ad, input);
  } finally {
    wipe(dataKey);
  }
}

/** What one coordinator needs to open a follow-up message. */
export interface FollowUpForCoordinator extends ReportForCoordinator {
  messageId: string;
}

/**
 * Opens a follow-up sealed by {@link sealFollowUp} for one coordinator. Any failure (not sealed to this key
 * pair, altered, moved to another report or message id) throws `ReportDecryptError`.
 */
export function openFollowUp(
  message: FollowUpForCoordinator,
  keyPair: CoordinatorKeyPair,
): Record<string, unknown> {
  const op = 'openFollowUp';
  if (typeof message !== 'object' || message === null) {
    throw new CryptoInputError(op, 'message must be an object');
  }
  const ad = followUpAd(op, message.reportId, message.messageId);
  const dataKey = openDataKeyAs(op, message.sealedKey, keyPair);
  try {
    return openEnvelopeBody(op, dataKey, ad, message);
  } finally {
    wipe(dataKey);
  }
}

/**
 * Seals an opened data key to another coordinator's public key: how a member grants a coordinator
 * added later access to an existing report. Returns a `sealedKey` for {@link SealedReport.keys}.
 */
export function resealDataKey(dataKey: Uint8Array, publicKey: Uint8Array | string): string {
  const op = 'resealDataKey';
  checkDataKey(op, dataKey);
  return toBase64Url(op, boxSeal(op, dataKey, decodePublicKey(op, publicKey, 'publicKey')));
}

// Notes share the report's data key; this label (with a NUL, which no reportId may contain) keeps a
// note from ever being accepted as a report body or vice versa.
const NOTE_AD_PREFIX = utf8('intake/note/v1\0');

function noteAd(op: string, associatedData: string): Uint8Array {
  return concatBytes(
    new Uint8Array([NOTE_FORMAT]),
    NOTE_AD_PREFIX,
    checkText(op, 'associatedData', associatedData, MAX_ID_BYTES),
  );
}

function encryptWithDataKeyAndNonce(
  op: string,
  nonce: Uint8Array,
  dataKey: Uint8Array,
  plaintext: string,
  associatedData: string,
): string {
  checkDataKey(op, dataKey);
  checkNonce(op, nonce);
  if (typeof plaintext !== 'string') throw new CryptoInputError(op, 'plaintext must be a string');
  const plain = utf8(plaintext);
  if (plain.length > MAX_NOTE_BYTES)
    throw new CryptoInputError(op, `plaintext exceeds ${MAX_NOTE_BYTES} bytes`);
  const padded = pad(op, plain, PADDING_BLOCK_BYTES);
  const ciphertext = aeadEncrypt(op, dataKey, nonce, padded, noteAd(op, associatedData));
  wipe(padded);
  return toBase64Url(op, concatBytes(new Uint8Array([NOTE_FORMAT]), nonce, ciphertext));
}

/**
 * Encrypts a note (or any text attached to a report) with the report's data key, so every coordinator
 * who can open the report can read it. `associatedData` binds it to its place, e.g.
 * `"<reportId>/note/<noteId>"`; pass the same string to {@link decryptWithDataKey}.
 */
export function encryptWithDataKey(dataKey: Uint8Array, plaintext: string, associatedData: string): string {
  const op = 'encryptWithDataKey';
  return encryptWithDataKeyAndNonce(op, randomNonce(op, NONCE_BYTES), dataKey, plaintext, associatedData);
}

/** Decrypts what {@link encryptWithDataKey} produced. Throws `ReportDecryptError`. */
export function decryptWithDataKey(dataKey: Uint8Array, sealed: string, associatedData: string): string {
  const op = 'decryptWithDataKey';
  checkDataKey(op, dataKey);
  const ad = noteAd(op, associatedData);
  const blob = decodeBlobText(op, sealed);
  const parts = blob === null ? null : splitBlob(blob, NOTE_FORMAT);
  if (parts === null) throw new ReportDecryptError(op, 'not an encrypted note');
  const padded = aeadDecrypt(op, dataKey, parts.nonce, parts.ciphertext, ad);
  const plain = padded === null ? null : unpad(op, padded, PADDING_BLOCK_BYTES);
  const text = plain === null ? null : decodeUtf8(plain);
  if (text === null)
    throw new ReportDecryptError(op, 'note cannot be opened (wrong key, context or altered data)');
  return text;
}

// --- Contacts -----------------------------------------------------------------------------------------------

function sealContactWithNonce(op: string, nonce: Uint8Array, keys: MasterKeys, address: string): string {
  checkMasterKeys(op, keys);
  checkNonce(op, nonce);
  if (typeof address !== 'string' || address.length === 0) {
    throw new CryptoInputError(op, 'address must be a non-empty string');
  }
  const plain = utf8(address);
  if (plain.length > MAX_CONTACT_BYTES)
    throw new CryptoInputError(op, `address exceeds ${MAX_CONTACT_BYTES} bytes`);
  const header = new Uint8Array([CONTACT_FORMAT]);
  const ciphertext = aeadEncrypt(
    op,
    keys.contactKey,
    nonce,
    pad(op, plain, CONTACT_PADDING_BLOCK_BYTES),
    header,
  );
  return toBase64Url(op, concatBytes(header, nonce, ciphertext));
}

/**
 * Encrypts a contact address (e-mail of an inbox, a professional's callback number) with the contact
 * subkey of the master key: readable by the server when it must send a notification, never stored in clear.
 */
export function sealContact(keys: MasterKeys, address: string): string {
  const op = 'sealContact';
  return sealContactWithNonce(op, randomNonce(op, NONCE_BYTES), keys, address);
}

/** Opens a sealed contact with the first set of master keys that works. Throws `ContactDecryptError`. */
export function openContact(keys: MasterKeys | readonly MasterKeys[], sealed: string): string {
  const op = 'openContact';
  const ring = asKeyring(op, keys);
  const blob = decodeBlobText(op, sealed);
  const parts = blob === null ? null : splitBlob(blob, CONTACT_FORMAT);
  if (parts === null) throw new ContactDecryptError(op, 'not a sealed contact');
  const header = new Uint8Array([CONTACT_FORMAT]);
  for (const k of ring) {
    const padded = aeadDecrypt(op, k.contactKey, parts.nonce, parts.ciphertext, header);
    if (padded === null) continue;
    const plain = unpad(op, padded, CONTACT_PADDING_BLOCK_BYTES);
    const text = plain === null ? null : decodeUtf8(plain);
    if (text !== null) return text;
  }
  throw new ContactDecryptError(op, 'contact cannot be opened with the given keys');
}

// --- Byte-string helpers for other folders ------------------------------------------------------------------

/** Encodes bytes (a public key, a salt) as base64url without padding, the project's text form for bytes. */
export function encodeBytes(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new CryptoInputError('encodeBytes', 'bytes must be a Uint8Array');
  return toBase64Url('encodeBytes', bytes);
}

/** Decodes base64url without padding; `expectedLength` (when given) is checked. Throws `CryptoInputError`. */
export function decodeBytes(text: string, expectedLength?: number): Uint8Array {
  const op = 'decodeBytes';
  const bytes = decodeBlobText(op, text);
  if (bytes === null) throw new CryptoInputError(op, 'text is not base64url without padding');
  if (expectedLength !== undefined) expectBytes(op, 'decoded value', bytes, expectedLength);
  return bytes;
}

// --- Test-only entry points ----------------------------------------------------------------------------------
// Fixed nonces and data keys make outputs reproducible for known-answer vectors. Reusing a nonce with the
// same key destroys confidentiality: nothing outside tests/ may call these. Not exported from index.ts.

/** DANGER, tests only: a fixed 24-byte nonce derived from `label` (BLAKE2b-192 of it). */
export function dangerousTestOnlyNonce(label: string): Uint8Array {
  return genericHashLength('dangerousTestOnlyNonce', NONCE_BYTES, utf8(label));
}

/** DANGER, tests only: a fixed 32-byte key derived from `label` (BLAKE2b-256 of it). */
export function dangerousTestOnlyKey(label: string): Uint8Array {
  return genericHash('dangerousTestOnlyKey', utf8(label), null);
}

/** DANGER, tests only: {@link sealState} with a caller-chosen nonce. */
export function dangerousTestOnlySealStateWithNonce(
  nonce: Uint8Array,
  keys: MasterKeys,
  channel: string,
  platformUserId: string,
  stateJson: Uint8Array | string,
): Uint8Array {
  return sealStateWithNonce('sealState', nonce, keys, channel, platformUserId, stateJson);
}

/** DANGER, tests only: {@link wrapPrivateKey} with a caller-chosen nonce. */
export function dangerousTestOnlyWrapPrivateKeyWithNonce(
  nonce: Uint8Array,
  wrapKey: Uint8Array,
  privateKey: Uint8Array,
  coordinatorId: string,
): string {
  return wrapPrivateKeyWithNonce('wrapPrivateKey', nonce, wrapKey, privateKey, coordinatorId);
}

/** DANGER, tests only: {@link sealCoordinatorSecret} with a caller-chosen nonce. */
export function dangerousTestOnlySealCoordinatorSecretWithNonce(
  nonce: Uint8Array,
  keys: MasterKeys,
  field: CoordinatorSecretField,
  coordinatorId: string,
  value: string,
): string {
  return sealCoordinatorSecretWithNonce('sealCoordinatorSecret', nonce, keys, field, coordinatorId, value);
}

/** DANGER, tests only: {@link sealReport} with a caller-chosen data key and nonce (sealed keys stay random). */
export function dangerousTestOnlySealReportWith(
  fixed: { dataKey: Uint8Array; nonce: Uint8Array },
  input: SealReportInput,
): SealedReport {
  return sealReportWith('sealReport', fixed.dataKey, fixed.nonce, input);
}

/** DANGER, tests only: {@link encryptWithDataKey} with a caller-chosen nonce. */
export function dangerousTestOnlyEncryptWithDataKeyAndNonce(
  nonce: Uint8Array,
  dataKey: Uint8Array,
  plaintext: string,
  associatedData: string,
): string {
  return encryptWithDataKeyAndNonce('encryptWithDataKey', nonce, dataKey, plaintext, associatedData);
}

/** DANGER, tests only: {@link sealContact} with a caller-chosen nonce. */
export function dangerousTestOnlySealContactWithNonce(
  nonce: Uint8Array,
  keys: MasterKeys,
  address: string,
): string {
  return sealContactWithNonce('sealContact', nonce, keys, address);
}

/** DANGER, tests only: the coordinator key pair determined by a 32-byte seed. */
export function dangerousTestOnlyCoordinatorKeyPairFromSeed(seed: Uint8Array): CoordinatorKeyPair {
  return boxSeedKeyPair('dangerousTestOnlyCoordinatorKeyPairFromSeed', seed);
}
