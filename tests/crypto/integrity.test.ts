/**
 * Membership and key MACs, coordinators' signing keys, signed replies and notes: known-answer vectors
 * (integrity-vectors.json, written once with CRYPTO_WRITE_VECTORS=1 like vectors.json), round trips,
 * tampering of every covered field, wrong keys, master-key rotation, and malformed stored values.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CryptoInputError,
  coordinatorKeysMac,
  coordinatorSigningKeyPair,
  decodeBytes,
  decryptWithDataKey,
  deriveSubkeys,
  encodeBytes,
  encryptWithDataKey,
  generateCoordinatorKeyPair,
  generateMasterKey,
  inboxMemberMac,
  initCrypto,
  legacyReplyMac,
  type MasterKeys,
  noteAssociatedData,
  parseMasterKey,
  ReportDecryptError,
  sealReply,
  signNote,
  signReply,
  verifyCoordinatorKeysMac,
  verifyInboxMemberMac,
  verifyLegacyReplyMac,
  verifyNoteSignature,
  verifyReplySignature,
} from '../../src/crypto/index.js';
import {
  dangerousTestOnlyCoordinatorKeyPairFromSeed,
  dangerousTestOnlyKey,
} from '../../src/crypto/operations.js';

const VECTORS_URL = new URL('./integrity-vectors.json', import.meta.url);
const WRITE = process.env.CRYPTO_WRITE_VECTORS === '1';
const MASTER_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

const REPORT = '0b0f6a4e-2d1c-4f7e-9a55-6a1f3e2b7c01';
const ALICE = '5f1c2e3d-4b5a-4c6d-8e7f-0a1b2c3d4e5f';
const BOB = '6a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const REPLY = '7c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f';
const NOTE = '8d4e5f6a-7b8c-4d9e-af01-2b3c4d5e6f70';
const OTHER_NOTE = '9e5f6a7b-8c9d-4eaf-b012-3c4d5e6f7081';

function flipChar(text: string, index: number): string {
  const bytes = decodeBytes(text);
  bytes[index] = bytes[index]! ^ 0x01;
  return encodeBytes(bytes);
}

let keys: MasterKeys;
let other: MasterKeys;

beforeAll(async () => {
  await initCrypto();
  keys = deriveSubkeys(parseMasterKey(MASTER_KEY));
  other = deriveSubkeys(parseMasterKey(generateMasterKey()));
});

describe('known answers', () => {
  it('pins the MAC and signature layouts', () => {
    const box = dangerousTestOnlyCoordinatorKeyPairFromSeed(dangerousTestOnlyKey('alice-box-seed'));
    const signing = coordinatorSigningKeyPair(box.privateKey);
    const sealed = encodeBytes(dangerousTestOnlyKey('a sealed reply'));
    const ciphertext = encodeBytes(dangerousTestOnlyKey('an encrypted note'));
    const actual = {
      boxPublicKey: encodeBytes(box.publicKey),
      signingPublicKey: encodeBytes(signing.publicKey),
      memberMac: inboxMemberMac(keys, {
        inboxId: 'coordination',
        coordinatorId: ALICE,
        publicKey: box.publicKey,
      }),
      keysMacWithoutSigning: coordinatorKeysMac(keys, {
        coordinatorId: ALICE,
        publicKey: box.publicKey,
        signingPublicKey: null,
      }),
      keysMac: coordinatorKeysMac(keys, {
        coordinatorId: ALICE,
        publicKey: box.publicKey,
        signingPublicKey: signing.publicKey,
      }),
      legacyReplyMac: legacyReplyMac(keys, { replyId: REPLY, reportId: REPORT, sealed }),
      // Ed25519 is deterministic: the same key and message give the same signature.
      replySignature: signReply(signing.privateKey, {
        reportId: REPORT,
        replyId: REPLY,
        authorId: ALICE,
        sealed,
      }),
      noteSignature: signNote(signing.privateKey, {
        reportId: REPORT,
        noteId: NOTE,
        authorId: ALICE,
        ciphertext,
      }),
    };
    if (WRITE) {
      writeFileSync(
        VECTORS_URL,
        `${JSON.stringify({ comment: 'Written once by tests/crypto/integrity.test.ts (CRYPTO_WRITE_VECTORS=1).', masterKey: MASTER_KEY, ...actual }, null, 2)}\n`,
      );
    }
    const expected = JSON.parse(readFileSync(VECTORS_URL, 'utf8'));
    for (const [name, value] of Object.entries(actual))
      expect({ name, value }).toEqual({ name, value: expected[name] });
  });
});

describe('membership MAC', () => {
  const box = () => generateCoordinatorKeyPair();

  it('verifies what it wrote, under the current or a previous master key', () => {
    const kp = box();
    const m = { inboxId: 'coordination', coordinatorId: ALICE, publicKey: encodeBytes(kp.publicKey) };
    const tag = inboxMemberMac(keys, m);
    expect(decodeBytes(tag)).toHaveLength(32);
    expect(verifyInboxMemberMac(keys, m, tag)).toBe(true);
    expect(verifyInboxMemberMac([other, keys], { ...m, publicKey: kp.publicKey }, tag)).toBe(true);
    expect(verifyInboxMemberMac(other, m, tag)).toBe(false);
  });

  it('fails for another inbox, coordinator or public key, a flipped byte, or nothing', () => {
    const kp = box();
    const m = { inboxId: 'coordination', coordinatorId: ALICE, publicKey: kp.publicKey };
    const tag = inboxMemberMac(keys, m);
    expect(verifyInboxMemberMac(keys, { ...m, inboxId: 'pro93' }, tag)).toBe(false);
    expect(verifyInboxMemberMac(keys, { ...m, coordinatorId: BOB }, tag)).toBe(false);
    expect(verifyInboxMemberMac(keys, { ...m, publicKey: box().publicKey }, tag)).toBe(false);
    expect(verifyInboxMemberMac(keys, m, flipChar(tag, 0))).toBe(false);
    expect(verifyInboxMemberMac(keys, m, null)).toBe(false);
    expect(verifyInboxMemberMac(keys, m, 'not base64!')).toBe(false);
    // A garbled stored public key is a failed check, not a crash.
    expect(verifyInboxMemberMac(keys, { ...m, publicKey: 'AAAA' }, tag)).toBe(false);
  });

  it('cannot be confused across fields or with a keys MAC', () => {
    const kp = box();
    const a = inboxMemberMac(keys, { inboxId: 'ab', coordinatorId: 'c', publicKey: kp.publicKey });
    expect(
      verifyInboxMemberMac(keys, { inboxId: 'a', coordinatorId: 'bc', publicKey: kp.publicKey }, a),
    ).toBe(false);
    const k = coordinatorKeysMac(keys, {
      coordinatorId: ALICE,
      publicKey: kp.publicKey,
      signingPublicKey: null,
    });
    expect(
      verifyInboxMemberMac(keys, { inboxId: 'x', coordinatorId: ALICE, publicKey: kp.publicKey }, k),
    ).toBe(false);
  });

  it('refuses bad input when writing, by name', () => {
    expect(() =>
      inboxMemberMac(keys, { inboxId: '', coordinatorId: ALICE, publicKey: box().publicKey }),
    ).toThrow(CryptoInputError);
    expect(() => inboxMemberMac(keys, { inboxId: 'i', coordinatorId: ALICE, publicKey: 'AAAA' })).toThrow(
      /^inboxMemberMac: /,
    );
  });
});

describe('coordinator keys MAC', () => {
  it('covers the signing key, including its absence', () => {
    const kp = generateCoordinatorKeyPair();
    const signing = coordinatorSigningKeyPair(kp.privateKey);
    const k = { coordinatorId: ALICE, publicKey: kp.publicKey, signingPublicKey: signing.publicKey };
    const tag = coordinatorKeysMac(keys, k);
    expect(verifyCoordinatorKeysMac(keys, k, tag)).toBe(true);
    expect(verifyCoordinatorKeysMac(keys, { ...k, signingPublicKey: null }, tag)).toBe(false);
    const foreign = coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey).publicKey;
    expect(verifyCoordinatorKeysMac(keys, { ...k, signingPublicKey: foreign }, tag)).toBe(false);
    expect(verifyCoordinatorKeysMac(keys, { ...k, coordinatorId: BOB }, tag)).toBe(false);
    const none = coordinatorKeysMac(keys, { ...k, signingPublicKey: null });
    expect(verifyCoordinatorKeysMac(keys, { ...k, signingPublicKey: null }, none)).toBe(true);
    expect(verifyCoordinatorKeysMac(keys, k, none)).toBe(false);
  });
});

describe('legacy reply attestation', () => {
  it('binds the reply to its id, report and content', () => {
    const sealed = sealReply(generateCoordinatorKeyPair().publicKey, 'Bonjour');
    const r = { replyId: REPLY, reportId: REPORT, sealed };
    const tag = legacyReplyMac(keys, r);
    expect(verifyLegacyReplyMac([keys], r, tag)).toBe(true);
    expect(verifyLegacyReplyMac(keys, { ...r, reportId: BOB }, tag)).toBe(false);
    expect(verifyLegacyReplyMac(keys, { ...r, sealed: flipChar(sealed, 10) }, tag)).toBe(false);
    expect(verifyLegacyReplyMac(other, r, tag)).toBe(false);
  });
});

describe('signing keys and signatures', () => {
  it('derives one signing key per X25519 private key, deterministically, unlike the X25519 key', () => {
    const kp = generateCoordinatorKeyPair();
    const a = coordinatorSigningKeyPair(kp.privateKey);
    const b = coordinatorSigningKeyPair(kp.privateKey.slice());
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.privateKey).toHaveLength(64);
    expect(a.publicKey).not.toEqual(kp.publicKey);
    expect(coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey).publicKey).not.toEqual(
      a.publicKey,
    );
    expect(() => coordinatorSigningKeyPair(new Uint8Array(31))).toThrow(/^coordinatorSigningKeyPair: /);
  });

  it('signs a reply and fails on any change of what it covers, or another key', () => {
    const me = coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey);
    const sealed = sealReply(generateCoordinatorKeyPair().publicKey, 'On peut se parler demain.');
    const r = { reportId: REPORT, replyId: REPLY, authorId: ALICE, sealed };
    const sig = signReply(me.privateKey, r);
    expect(decodeBytes(sig)).toHaveLength(64);
    expect(verifyReplySignature(me.publicKey, sig, r)).toBe(true);
    expect(verifyReplySignature(encodeBytes(me.publicKey), sig, r)).toBe(true);
    expect(verifyReplySignature(me.publicKey, flipChar(sig, 0), r)).toBe(false);
    expect(verifyReplySignature(me.publicKey, sig, { ...r, sealed: flipChar(sealed, 5) })).toBe(false);
    expect(verifyReplySignature(me.publicKey, sig, { ...r, reportId: BOB })).toBe(false);
    expect(verifyReplySignature(me.publicKey, sig, { ...r, replyId: NOTE })).toBe(false);
    expect(verifyReplySignature(me.publicKey, sig, { ...r, authorId: BOB })).toBe(false);
    const mallory = coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey);
    expect(verifyReplySignature(mallory.publicKey, sig, r)).toBe(false);
    expect(verifyReplySignature(me.publicKey, null, r)).toBe(false);
    expect(verifyReplySignature(me.publicKey, 'short', r)).toBe(false);
    expect(verifyReplySignature('AAAA', sig, r)).toBe(false);
  });

  it('never accepts a reply signature as a note signature', () => {
    const me = coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey);
    const text = encodeBytes(dangerousTestOnlyKey('blob'));
    const sig = signReply(me.privateKey, { reportId: REPORT, replyId: NOTE, authorId: ALICE, sealed: text });
    expect(
      verifyNoteSignature(me.publicKey, sig, {
        reportId: REPORT,
        noteId: NOTE,
        authorId: ALICE,
        ciphertext: text,
      }),
    ).toBe(false);
  });

  it('signs a note; a note moved to another note id fails to open and to verify', () => {
    const box = generateCoordinatorKeyPair();
    const me = coordinatorSigningKeyPair(box.privateKey);
    const dataKey = dangerousTestOnlyKey('data key');
    const ciphertext = encryptWithDataKey(dataKey, 'Appel à la CRIP fait.', noteAssociatedData(REPORT, NOTE));
    const n = { reportId: REPORT, noteId: NOTE, authorId: ALICE, ciphertext };
    const sig = signNote(me.privateKey, n);
    expect(verifyNoteSignature(me.publicKey, sig, n)).toBe(true);
    expect(decryptWithDataKey(dataKey, ciphertext, noteAssociatedData(REPORT, NOTE))).toBe(
      'Appel à la CRIP fait.',
    );
    expect(verifyNoteSignature(me.publicKey, sig, { ...n, noteId: OTHER_NOTE })).toBe(false);
    expect(() => decryptWithDataKey(dataKey, ciphertext, noteAssociatedData(REPORT, OTHER_NOTE))).toThrow(
      ReportDecryptError,
    );
    // The report id alone (the old associated data) no longer opens it either.
    expect(() => decryptWithDataKey(dataKey, ciphertext, REPORT)).toThrow(ReportDecryptError);
  });

  it('refuses bad input when signing, by name', () => {
    const me = coordinatorSigningKeyPair(generateCoordinatorKeyPair().privateKey);
    expect(() =>
      signReply(me.privateKey, { reportId: REPORT, replyId: REPLY, authorId: ALICE, sealed: 'not base64!' }),
    ).toThrow(/^signReply: /);
    expect(() =>
      signNote(new Uint8Array(32), { reportId: REPORT, noteId: NOTE, authorId: ALICE, ciphertext: 'AAAA' }),
    ).toThrow(/^signNote: /);
    expect(() => noteAssociatedData(REPORT, '')).toThrow(CryptoInputError);
  });
});
