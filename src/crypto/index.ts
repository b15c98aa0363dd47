/**
 * Public surface of the crypto layer: the only module other folders import from `src/crypto`.
 *
 * Call `await initCrypto()` once at start (server, CLI, browser inbox); every other function is
 * synchronous. Every function documents itself at its definition; algorithms, parameters and the key
 * lifecycle are in docs/CRYPTO.md. Test-only entry points (`dangerousTestOnly*`) are deliberately not
 * exported here.
 *
 * Browser-safe: nothing here or below uses Node-only APIs.
 */
import { initSodium } from './sodium.js';

/**
 * Loads libsodium (WebAssembly) and checks its constants. Await it once before any other crypto call;
 * calling it again is cheap and concurrent calls share one initialisation. Before it resolves, every
 * operation throws `CryptoNotReadyError`.
 */
export function initCrypto(): Promise<void> {
  return initSodium();
}

/** Errors: every message starts with the operation name and never contains secrets or plaintext. */
export {
  ContactDecryptError,
  CoordinatorSecretError,
  CryptoError,
  CryptoInputError,
  CryptoNotReadyError,
  ReplyDecryptError,
  ReportDecryptError,
  StateDecryptError,
  UnwrapError,
} from './errors.js';
/** Integrity: MACs over membership and coordinators' keys, signing keys, signed replies and notes. */
export type {
  CoordinatorKeyFields,
  InboxMemberFields,
  LegacyReplyFields,
  NoteSignatureFields,
  ReplySignatureFields,
  SigningKeyPair,
} from './integrity.js';
export {
  coordinatorKeysMac,
  coordinatorSigningKeyPair,
  inboxMemberMac,
  legacyReplyMac,
  noteAssociatedData,
  signNote,
  signReply,
  verifyCoordinatorKeysMac,
  verifyInboxMemberMac,
  verifyLegacyReplyMac,
  verifyNoteSignature,
  verifyReplySignature,
} from './integrity.js';
/** Payload and key types of the named operations. */
export type {
  CoordinatorKeyPair,
  CoordinatorSecretField,
  FollowUpForCoordinator,
  LoginKeys,
  MasterKeys,
  OpenedCoordinatorSecret,
  OpenedState,
  ReportForCoordinator,
  ReportRecipient,
  SealedReport,
  SealedReportKey,
  SealFollowUpInput,
  SealReportInput,
} from './operations.js';

/**
 * Named operations: master key, user ids, conversation state, coordinators (and their secrets at rest),
 * reports, notes, contacts.
 */
export {
  canonicalJson,
  decodeBytes,
  decryptWithDataKey,
  deriveLoginKeys,
  deriveSubkeys,
  encodeBytes,
  encryptWithDataKey,
  generateCoordinatorKeyPair,
  generateMasterKey,
  hashLoginKey,
  hashUserId,
  MASTER_KEY_BYTES,
  newPwhashSalt,
  openContact,
  openCoordinatorSecret,
  openDataKey,
  openFollowUp,
  openReport,
  openReportWithDataKey,
  openState,
  PASSPHRASE_MIN_CHARS,
  parseMasterKey,
  REPORT_ENVELOPE_VERSION,
  resealDataKey,
  sealContact,
  sealCoordinatorSecret,
  sealFollowUp,
  sealReport,
  sealState,
  unwrapPrivateKey,
  verifyLoginKey,
  wrapPrivateKey,
} from './operations.js';

/** Receipt type: the X25519 key pair a receipt derives. */
export type { ReceiptKeyPair } from './receipt.js';

/** Receipts and replies to submitters. */
export {
  decoyReportId,
  formatReceipt,
  generateReceipt,
  normalizeReceipt,
  openReply,
  RECEIPT_BITS,
  RECEIPT_LENGTH,
  RECEIPT_LOOKUP_HASH_HEX_CHARS,
  receiptKeyPair,
  receiptLookupHash,
  receiptLookupTag,
  receiptTagFromLookupHash,
  sealReply,
} from './receipt.js';

/** Byte lengths callers need to validate input before calling in (public keys, salts). */
export {
  KEY_BYTES,
  PUBLIC_KEY_BYTES,
  PWHASH_SALT_BYTES,
  SIGN_PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
} from './sodium.js';
