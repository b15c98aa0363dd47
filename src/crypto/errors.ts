/**
 * Domain errors of the crypto layer.
 *
 * Every message starts with the name of the operation that failed ("openReport: ...") and never contains
 * key material, plaintext, a platform user id, a receipt or the offending value: these errors may reach
 * logs. `operation` carries the same name for structured logging. Decryption failures deliberately do not
 * say *why* (wrong key, tampered nonce, tampered ciphertext, swapped id all look the same), and never carry
 * libsodium's own error as `cause`.
 */

/** Base class of every error thrown by `src/crypto`. */
export class CryptoError extends Error {
  override name = 'CryptoError';
  /** The public function that failed, e.g. `"openReport"`. */
  readonly operation: string;

  constructor(operation: string, detail: string) {
    super(`${operation}: ${detail}`);
    this.operation = operation;
  }
}

/** A crypto function was called before `initCrypto()` resolved. A programming error. */
export class CryptoNotReadyError extends CryptoError {
  override name = 'CryptoNotReadyError';
}

/**
 * An argument has the wrong type, length or shape (a 31-byte key, an empty recipient list, an unknown
 * receipt character). Nothing was encrypted or decrypted.
 */
export class CryptoInputError extends CryptoError {
  override name = 'CryptoInputError';
}

/** A conversation state blob could not be opened with any of the given master keys (or is malformed). */
export class StateDecryptError extends CryptoError {
  override name = 'StateDecryptError';
}

/**
 * A report (or a note, or a sealed data key) could not be opened: wrong coordinator key, tampered nonce or
 * ciphertext, a report id that does not match, or a malformed envelope.
 */
export class ReportDecryptError extends CryptoError {
  override name = 'ReportDecryptError';
}

/** A wrapped coordinator private key could not be unwrapped: wrong passphrase, wrong coordinator id, tampering. */
export class UnwrapError extends CryptoError {
  override name = 'UnwrapError';
}

/** A reply sealed to a receipt key could not be opened: wrong receipt, or tampering. */
export class ReplyDecryptError extends CryptoError {
  override name = 'ReplyDecryptError';
}

/** A sealed contact address could not be opened with any of the given master keys (or is malformed). */
export class ContactDecryptError extends CryptoError {
  override name = 'ContactDecryptError';
}

/**
 * A coordinator secret sealed at rest (login-key hash, wrapped private key) could not be opened: another
 * row's or column's blob, a clear value written behind the service's back, a master key not in the keyring.
 */
export class CoordinatorSecretError extends CryptoError {
  override name = 'CoordinatorSecretError';
}
