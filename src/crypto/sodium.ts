/**
 * The only file of the project that imports libsodium.
 *
 * It owns initialisation (`await ready`), the named length constants, and thin typed wrappers over the
 * primitives the operations layer (`operations.ts`, `receipt.ts`) is built from. Wrappers check lengths
 * and report a failed authentication as `null` rather than libsodium's generic exception, so the layer
 * above can turn it into the right domain error.
 *
 * Browser-safe on purpose: no `Buffer`, no `node:crypto`; the coordinator inbox bundles this file with Vite.
 */
import sodium from 'libsodium-wrappers-sumo';
import { CryptoError, CryptoInputError, CryptoNotReadyError } from './errors.js';

// Lengths as literals so they can be used before initialisation; `initSodium` checks them against the
// library once, so a libsodium upgrade that changed one would fail loudly at start.

/** Symmetric key length (XChaCha20-Poly1305, crypto_kdf master and subkeys, data keys). */
export const KEY_BYTES = 32;
/** XChaCha20-Poly1305-IETF public nonce length; random nonces of this size never need a counter. */
export const NONCE_BYTES = 24;
/** Poly1305 authentication tag length appended to every AEAD ciphertext. */
export const AEAD_TAG_BYTES = 16;
/** X25519 public key length (crypto_box). */
export const PUBLIC_KEY_BYTES = 32;
/** X25519 private key length (crypto_box). */
export const PRIVATE_KEY_BYTES = 32;
/** Seed length for crypto_box_seed_keypair. */
export const SEED_BYTES = 32;
/** Overhead of crypto_box_seal: ephemeral public key (32) + MAC (16). */
export const SEAL_OVERHEAD_BYTES = 48;
/** Output length of every BLAKE2b hash we compute (BLAKE2b-256). */
export const HASH_BYTES = 32;
/** Minimum key length for keyed BLAKE2b (crypto_generichash_KEYBYTES_MIN). */
export const HASH_KEY_MIN_BYTES = 16;
/** crypto_kdf context length: exactly 8 bytes. */
export const KDF_CONTEXT_BYTES = 8;
/** Minimum subkey length crypto_kdf_derive_from_key accepts. */
export const KDF_SUBKEY_MIN_BYTES = 16;
/** Ed25519 public key length (crypto_sign). */
export const SIGN_PUBLIC_KEY_BYTES = 32;
/** Ed25519 secret key length as libsodium stores it (seed || public key). */
export const SIGN_SECRET_KEY_BYTES = 64;
/** Ed25519 seed length (crypto_sign_seed_keypair). */
export const SIGN_SEED_BYTES = 32;
/** Ed25519 signature length (crypto_sign_detached). */
export const SIGNATURE_BYTES = 64;
/** Argon2id salt length (crypto_pwhash_SALTBYTES). */
export const PWHASH_SALT_BYTES = 16;
/** Argon2id passes: crypto_pwhash_OPSLIMIT_INTERACTIVE. */
export const PWHASH_OPSLIMIT = 2;
/** Argon2id memory: crypto_pwhash_MEMLIMIT_INTERACTIVE, 64 MiB. */
export const PWHASH_MEMLIMIT = 64 * 1024 * 1024;

let initialisation: Promise<void> | undefined;
let isReady = false;

/** Waits for the WebAssembly module once; idempotent and safe to call concurrently. */
export function initSodium(): Promise<void> {
  if (!initialisation) {
    initialisation = (async () => {
      await sodium.ready;
      checkConstants();
      installPooledRandomSource();
      isReady = true;
    })();
    // A failed start may be retried rather than caching the rejection forever.
    initialisation.catch(() => {
      initialisation = undefined;
    });
  }
  return initialisation;
}

function checkConstants(): void {
  const expected: [string, number, number][] = [
    ['KEY_BYTES', KEY_BYTES, sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES],
    ['NONCE_BYTES', NONCE_BYTES, sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES],
    ['AEAD_TAG_BYTES', AEAD_TAG_BYTES, sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES],
    ['PUBLIC_KEY_BYTES', PUBLIC_KEY_BYTES, sodium.crypto_box_PUBLICKEYBYTES],
    ['PRIVATE_KEY_BYTES', PRIVATE_KEY_BYTES, sodium.crypto_box_SECRETKEYBYTES],
    ['SEED_BYTES', SEED_BYTES, sodium.crypto_box_SEEDBYTES],
    ['SEAL_OVERHEAD_BYTES', SEAL_OVERHEAD_BYTES, sodium.crypto_box_SEALBYTES],
    ['HASH_KEY_MIN_BYTES', HASH_KEY_MIN_BYTES, sodium.crypto_generichash_KEYBYTES_MIN],
    ['KDF_CONTEXT_BYTES', KDF_CONTEXT_BYTES, sodium.crypto_kdf_CONTEXTBYTES],
    ['KDF master key', KEY_BYTES, sodium.crypto_kdf_KEYBYTES],
    ['KDF_SUBKEY_MIN_BYTES', KDF_SUBKEY_MIN_BYTES, sodium.crypto_kdf_BYTES_MIN],
    ['PWHASH_SALT_BYTES', PWHASH_SALT_BYTES, sodium.crypto_pwhash_SALTBYTES],
    ['SIGN_PUBLIC_KEY_BYTES', SIGN_PUBLIC_KEY_BYTES, sodium.crypto_sign_PUBLICKEYBYTES],
    ['SIGN_SECRET_KEY_BYTES', SIGN_SECRET_KEY_BYTES, sodium.crypto_sign_SECRETKEYBYTES],
    ['SIGN_SEED_BYTES', SIGN_SEED_BYTES, sodium.crypto_sign_SEEDBYTES],
    ['SIGNATURE_BYTES', SIGNATURE_BYTES, sodium.crypto_sign_BYTES],
    ['PWHASH_OPSLIMIT', PWHASH_OPSLIMIT, sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE],
    ['PWHASH_MEMLIMIT', PWHASH_MEMLIMIT, sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE],
  ];
  for (const [name, ours, theirs] of expected) {
    if (ours !== theirs)
      throw new CryptoError('initCrypto', `${name} is ${ours} but libsodium says ${theirs}`);
  }
}

// libsodium's ESM build asks Web Crypto for one 32-bit word per call (a fresh Uint32Array and a
// getRandomValues call per 4 bytes, ~20 us each in Node). The ephemeral key of every crypto_box_seal costs
// 8 such calls: ~40% of sealReport's time. We hand libsodium the same CSPRNG's output from a pool refilled
// by one call; each word is used once and zeroed. Feature-detected on the Emscripten module's
// `getRandomValue` hook, so a libsodium.js that drops it simply keeps its own source.
const RANDOM_POOL_WORDS = 256;

function installPooledRandomSource(): void {
  // The Emscripten module is not in libsodium-wrappers' type declarations.
  const module = (sodium as unknown as { libsodium?: { getRandomValue?: () => number } }).libsodium;
  if (!module || typeof module.getRandomValue !== 'function') return;
  const pool = new Uint32Array(RANDOM_POOL_WORDS);
  let next = pool.length;
  module.getRandomValue = () => {
    if (next >= pool.length) {
      globalThis.crypto.getRandomValues(pool);
      next = 0;
    }
    const word = pool[next]!;
    pool[next++] = 0;
    return word >>> 0;
  };
}

function lib(operation: string): typeof sodium {
  if (!isReady) throw new CryptoNotReadyError(operation, 'initCrypto() must be awaited first');
  return sodium;
}

/** Throws a `CryptoInputError` unless `value` is a Uint8Array of exactly `length` bytes. */
export function expectBytes(operation: string, what: string, value: unknown, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoInputError(operation, `${what} must be a Uint8Array`);
  if (value.length !== length) {
    throw new CryptoInputError(operation, `${what} must be ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** Concatenates byte strings. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// --- Randomness ------------------------------------------------------------------------------------

// Web Crypto's getRandomValues fills at most 65536 bytes per call.
const GET_RANDOM_VALUES_MAX_BYTES = 65536;

// Nonces are drawn from a buffer filled 4 KiB at a time: one call to the CSPRNG for ~170 nonces instead of
// one each (a turn seals 3-4 times). Each byte is handed out once and zeroed in the buffer as it goes.
const NONCE_POOL_BYTES = 4096;
let noncePool: Uint8Array = new Uint8Array(0);
let noncePoolOffset = 0;

/**
 * A fresh random nonce of `length` bytes (at most 64), from the CSPRNG through a buffer. For nonces only,
 * which are public: keys and secrets come from {@link randomBytes}.
 */
export function randomNonce(operation: string, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0 || length > 64) return randomBytes(operation, length);
  lib(operation);
  if (noncePoolOffset + length > noncePool.length) {
    noncePool = randomBytes(operation, NONCE_POOL_BYTES);
    noncePoolOffset = 0;
  }
  const out = noncePool.slice(noncePoolOffset, noncePoolOffset + length);
  noncePool.fill(0, noncePoolOffset, noncePoolOffset + length);
  noncePoolOffset += length;
  return out;
}

/**
 * `length` bytes from the platform CSPRNG through Web Crypto `getRandomValues` (browsers and Node 20 alike;
 * the libsodium ESM build already requires it). Called directly rather than through randombytes_buf, which
 * asks for 4 bytes per call and made sealReport ~20% slower.
 */
export function randomBytes(operation: string, length: number): Uint8Array {
  lib(operation);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CryptoInputError(operation, 'random length must be a non-negative integer');
  }
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += GET_RANDOM_VALUES_MAX_BYTES) {
    globalThis.crypto.getRandomValues(
      out.subarray(offset, Math.min(length, offset + GET_RANDOM_VALUES_MAX_BYTES)),
    );
  }
  return out;
}

// --- Symmetric AEAD: XChaCha20-Poly1305-IETF -------------------------------------------------------

/** Encrypts and authenticates `message`, also authenticating `associatedData`. */
export function aeadEncrypt(
  operation: string,
  key: Uint8Array,
  nonce: Uint8Array,
  message: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'key', key, KEY_BYTES);
  expectBytes(operation, 'nonce', nonce, NONCE_BYTES);
  return s.crypto_aead_xchacha20poly1305_ietf_encrypt(message, associatedData, null, nonce, key);
}

/** Decrypts; returns `null` when authentication fails (wrong key, nonce, data or associated data). */
export function aeadDecrypt(
  operation: string,
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array | null {
  const s = lib(operation);
  expectBytes(operation, 'key', key, KEY_BYTES);
  expectBytes(operation, 'nonce', nonce, NONCE_BYTES);
  if (ciphertext.length < AEAD_TAG_BYTES) return null;
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, associatedData, nonce, key);
  } catch {
    return null;
  }
}

// --- Hashing and key derivation --------------------------------------------------------------------

/** BLAKE2b-256 of `message`, keyed with `key` (16..64 bytes) or unkeyed when `key` is null. */
export function genericHash(operation: string, message: Uint8Array, key: Uint8Array | null): Uint8Array {
  const s = lib(operation);
  if (key !== null && (key.length < HASH_KEY_MIN_BYTES || key.length > 64)) {
    throw new CryptoInputError(operation, `hash key must be 16 to 64 bytes, got ${key.length}`);
  }
  return s.crypto_generichash(HASH_BYTES, message, key);
}

/** BLAKE2b of arbitrary output length (16..64), unkeyed; used only for test fixtures and fingerprints. */
export function genericHashLength(operation: string, length: number, message: Uint8Array): Uint8Array {
  return lib(operation).crypto_generichash(length, message, null);
}

/** crypto_kdf_derive_from_key (BLAKE2b): subkey number `subkeyId` under an 8-character `context`. */
export function kdfDerive(
  operation: string,
  length: number,
  subkeyId: number,
  context: string,
  key: Uint8Array,
): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'KDF key', key, KEY_BYTES);
  if (context.length !== KDF_CONTEXT_BYTES || !/^[\x20-\x7e]+$/.test(context)) {
    throw new CryptoInputError(operation, `KDF context must be ${KDF_CONTEXT_BYTES} ASCII characters`);
  }
  if (!Number.isSafeInteger(subkeyId) || subkeyId < 0) {
    throw new CryptoInputError(operation, 'KDF subkey id must be a non-negative integer');
  }
  return s.crypto_kdf_derive_from_key(length, subkeyId, context, key);
}

/** Argon2id13 with the INTERACTIVE limits (2 passes, 64 MiB). Deliberately slow (~0.3 s in WebAssembly). */
export function argon2id(
  operation: string,
  length: number,
  password: Uint8Array,
  salt: Uint8Array,
): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'salt', salt, PWHASH_SALT_BYTES);
  return s.crypto_pwhash(
    length,
    password,
    salt,
    PWHASH_OPSLIMIT,
    PWHASH_MEMLIMIT,
    s.crypto_pwhash_ALG_ARGON2ID13,
  );
}

// --- Public-key: X25519 crypto_box ------------------------------------------------------------------

/** An X25519 key pair as raw bytes. */
export interface BoxKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** A fresh random X25519 key pair. */
export function boxKeyPair(operation: string): BoxKeyPair {
  const { publicKey, privateKey } = lib(operation).crypto_box_keypair();
  return { publicKey, privateKey };
}

/** The X25519 key pair determined by a 32-byte seed. */
export function boxSeedKeyPair(operation: string, seed: Uint8Array): BoxKeyPair {
  const s = lib(operation);
  expectBytes(operation, 'seed', seed, SEED_BYTES);
  const { publicKey, privateKey } = s.crypto_box_seed_keypair(seed);
  return { publicKey, privateKey };
}

/** The public key belonging to an X25519 private key. */
export function boxPublicKeyFromPrivate(operation: string, privateKey: Uint8Array): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'private key', privateKey, PRIVATE_KEY_BYTES);
  return s.crypto_scalarmult_base(privateKey);
}

/** Anonymous sealed box to `publicKey` (ephemeral X25519 + XSalsa20-Poly1305). */
export function boxSeal(operation: string, message: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'public key', publicKey, PUBLIC_KEY_BYTES);
  return s.crypto_box_seal(message, publicKey);
}

/** Opens a sealed box; returns `null` when it was not sealed to this key pair or was altered. */
export function boxSealOpen(operation: string, sealed: Uint8Array, keyPair: BoxKeyPair): Uint8Array | null {
  const s = lib(operation);
  expectBytes(operation, 'public key', keyPair.publicKey, PUBLIC_KEY_BYTES);
  expectBytes(operation, 'private key', keyPair.privateKey, PRIVATE_KEY_BYTES);
  if (sealed.length < SEAL_OVERHEAD_BYTES) return null;
  try {
    return s.crypto_box_seal_open(sealed, keyPair.publicKey, keyPair.privateKey);
  } catch {
    return null;
  }
}

// --- Signatures: Ed25519 crypto_sign ------------------------------------------------------------------

/** An Ed25519 key pair as raw bytes (`privateKey` is libsodium's 64-byte seed || public key form). */
export interface SignKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** The Ed25519 key pair determined by a 32-byte seed. */
export function signSeedKeyPair(operation: string, seed: Uint8Array): SignKeyPair {
  const s = lib(operation);
  expectBytes(operation, 'signing seed', seed, SIGN_SEED_BYTES);
  const { publicKey, privateKey } = s.crypto_sign_seed_keypair(seed);
  return { publicKey, privateKey };
}

/** A detached Ed25519 signature of `message`. */
export function signDetached(operation: string, message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  const s = lib(operation);
  expectBytes(operation, 'signing key', privateKey, SIGN_SECRET_KEY_BYTES);
  return s.crypto_sign_detached(message, privateKey);
}

/** Checks a detached Ed25519 signature; false for a bad signature, never an exception. */
export function signVerifyDetached(
  operation: string,
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  const s = lib(operation);
  expectBytes(operation, 'signing public key', publicKey, SIGN_PUBLIC_KEY_BYTES);
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return s.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

// --- Comparison, wiping, padding ----------------------------------------------------------------------

/** Constant-time equality of two byte strings (false when lengths differ). */
export function constantTimeEqual(operation: string, a: Uint8Array, b: Uint8Array): boolean {
  const s = lib(operation);
  if (a.length !== b.length) return false;
  return s.memcmp(a, b);
}

/** Overwrites a buffer with zeros. Best effort only: JavaScript may have copied it. */
export function wipe(bytes: Uint8Array): void {
  bytes.fill(0);
}

/**
 * ISO/IEC 7816-4 padding to a multiple of `blockSize`, so ciphertext lengths leak only a size bucket: the
 * marker 0x80 then zeros, at least one byte added (libsodium's `sodium_pad`, byte for byte). Written here
 * rather than called through the wrapper, which copies in and out of the WebAssembly heap: that took longer
 * than the encryption of a conversation state itself (issue 16).
 */
export function pad(operation: string, message: Uint8Array, blockSize: number): Uint8Array {
  lib(operation);
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) {
    throw new CryptoInputError(operation, 'padding block size must be a positive integer');
  }
  const out = new Uint8Array(message.length + blockSize - (message.length % blockSize));
  out.set(message);
  out[message.length] = 0x80;
  return out;
}

/**
 * Removes ISO/IEC 7816-4 padding (a copy); `null` if the padding is invalid: no 0x80 marker followed only by
 * zeros within the last `blockSize` bytes (libsodium's `sodium_unpad`). Always called on authenticated
 * plaintext, so how long it takes tells nothing an attacker could use.
 */
export function unpad(operation: string, padded: Uint8Array, blockSize: number): Uint8Array | null {
  lib(operation);
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0 || padded.length < blockSize) return null;
  const floor = padded.length - blockSize;
  let i = padded.length - 1;
  while (i > floor && padded[i] === 0) i--;
  if (padded[i] !== 0x80) return null;
  return padded.slice(0, i);
}

// --- Encodings ----------------------------------------------------------------------------------------

/** Base64url without padding: the one encoding of every byte string that leaves this module as text. */
export function toBase64Url(operation: string, bytes: Uint8Array): string {
  const s = lib(operation);
  return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING);
}

/** Decodes base64url without padding; `null` if `text` is not exactly that encoding. */
export function fromBase64Url(operation: string, text: string): Uint8Array | null {
  const s = lib(operation);
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
  } catch {
    return null;
  }
}

/** Standard base64 with padding (RFC 4648 §4), the format of `INTAKE_MASTER_KEY`. */
export function toBase64Standard(operation: string, bytes: Uint8Array): string {
  const s = lib(operation);
  return s.to_base64(bytes, s.base64_variants.ORIGINAL);
}

/**
 * Decodes standard base64 (padding optional) or base64url; `null` when it is neither. Used only for the
 * master key, which operators paste from different tools.
 */
export function fromBase64Lenient(operation: string, text: string): Uint8Array | null {
  const s = lib(operation);
  const body = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/]*$/.test(body) && !/^[A-Za-z0-9_-]*$/.test(body)) return null;
  try {
    return s.from_base64(body.replace(/-/g, '+').replace(/_/g, '/'), s.base64_variants.ORIGINAL_NO_PADDING);
  } catch {
    return null;
  }
}

/** Lower-case hexadecimal. */
export function toHex(operation: string, bytes: Uint8Array): string {
  return lib(operation).to_hex(bytes);
}
