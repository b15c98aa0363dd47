/**
 * Known-answer vectors: fixed inputs (fixed nonces and data keys through the dangerousTestOnly* entry
 * points) must give exactly the outputs committed in vectors.json. They pin algorithms, parameters and
 * byte layouts, so a change that would make stored data or the browser inbox incompatible fails here.
 * "Decrypt" vectors (a sealed report, a reply) also check that data sealed once still opens.
 *
 * vectors.json was generated once with `CRYPTO_WRITE_VECTORS=1 npx vitest run tests/crypto/vectors.test.ts`.
 * Regenerate only for a deliberate, versioned format change, and say so in the commit message.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  decodeBytes,
  deriveLoginKeys,
  deriveSubkeys,
  encodeBytes,
  hashLoginKey,
  hashUserId,
  initCrypto,
  type MasterKeys,
  openReply,
  openReport,
  openState,
  parseMasterKey,
  receiptKeyPair,
  receiptLookupTag,
  sealReply,
  sealReport,
  unwrapPrivateKey,
} from '../../src/crypto/index.js';
import {
  dangerousTestOnlyCoordinatorKeyPairFromSeed,
  dangerousTestOnlyEncryptWithDataKeyAndNonce,
  dangerousTestOnlyKey,
  dangerousTestOnlyNonce,
  dangerousTestOnlySealContactWithNonce,
  dangerousTestOnlySealReportWith,
  dangerousTestOnlySealStateWithNonce,
  dangerousTestOnlyWrapPrivateKeyWithNonce,
} from '../../src/crypto/operations.js';
import { dangerousTestOnlyReceiptFromBytes } from '../../src/crypto/receipt.js';

const VECTORS_URL = new URL('./vectors.json', import.meta.url);
const WRITE = process.env.CRYPTO_WRITE_VECTORS === '1';

// Inputs. Outputs are computed from these in write mode and read from vectors.json otherwise.
const MASTER_KEY = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
const CANONICAL_INPUTS: unknown[] = [
  { b: 2, a: 1 },
  { z: [3, 1, { y: true, x: null }], é: 'é', A: -0.5, '': 1e21 },
  { text: 'ligne 1\nligne "2"\t\u0001 \u2028 😀', n: [0, -0, 1.5e-7, 123456789012] },
  [],
  'chaîne',
];
const USER_INPUTS = [
  { channel: 'telegram', platformUserId: '123456789' },
  { channel: 'teams', platformUserId: '29:1AbCdEf-ghIJkl_mno' },
  { channel: 'cli', platformUserId: 'terminal' },
];
const STATE_INPUTS = [
  {
    channel: 'telegram',
    platformUserId: '123456789',
    json: '{"v":[1,3],"step":"q2","answers":{"age":"15"}}',
    nonceLabel: 'state-1',
  },
];
const LOGIN_INPUTS = [
  { passphrase: 'correct horse battery staple', saltLabel: 'login-salt-1' },
  { passphrase: 'Ça va très bien, merci 🌳', saltLabel: 'login-salt-2' },
];
const RECEIPT_INPUTS = [
  { randomBytes: '00000000000000000000', saltLabel: 'receipt-salt-0' },
  { randomBytes: 'ffffffffffffffffffff', saltLabel: 'receipt-salt-1' },
  { randomBytes: '0123456789abcdef0123', saltLabel: 'receipt-salt-2' },
];

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

function salt16(label: string): Uint8Array {
  return dangerousTestOnlyKey(label).subarray(0, 16);
}

interface Vectors {
  comment: string;
  masterKey: string;
  fingerprint: string;
  canonicalJson: { input: unknown; output: string }[];
  hashUserId: { channel: string; platformUserId: string; hash: string }[];
  sealState: { channel: string; platformUserId: string; json: string; nonceLabel: string; sealed: string }[];
  deriveLoginKeys: {
    passphrase: string;
    saltLabel: string;
    loginKey: string;
    wrapKey: string;
    loginKeyHash: string;
  }[];
  wrapPrivateKey: {
    passphraseIndex: number;
    coordinatorSeedLabel: string;
    coordinatorId: string;
    nonceLabel: string;
    publicKey: string;
    wrapped: string;
  };
  receipt: {
    randomBytes: string;
    saltLabel: string;
    receipt: string;
    publicKey: string;
    lookupTag: string;
  }[];
  sealReport: {
    reportId: string;
    payload: Record<string, unknown>;
    dataKeyLabel: string;
    nonceLabel: string;
    coordinatorSeedLabel: string;
    nonce: string;
    ciphertext: string;
    sealedKey: string;
  };
  note: {
    dataKeyLabel: string;
    nonceLabel: string;
    associatedData: string;
    plaintext: string;
    sealed: string;
  };
  contact: { nonceLabel: string; address: string; sealed: string };
  reply: { receiptIndex: number; text: string; sealed: string };
}

function computeDeterministic(keys: MasterKeys, loginKeys: ReturnType<typeof deriveLoginKeys>[]) {
  const coordinator = dangerousTestOnlyCoordinatorKeyPairFromSeed(dangerousTestOnlyKey('coordinator-seed-1'));
  return {
    canonicalJson: CANONICAL_INPUTS.map((input) => ({ input, output: canonicalJson(input) })),
    hashUserId: USER_INPUTS.map((u) => ({ ...u, hash: hashUserId(keys, u.channel, u.platformUserId) })),
    sealState: STATE_INPUTS.map((s) => ({
      ...s,
      sealed: encodeBytes(
        dangerousTestOnlySealStateWithNonce(
          dangerousTestOnlyNonce(s.nonceLabel),
          keys,
          s.channel,
          s.platformUserId,
          s.json,
        ),
      ),
    })),
    deriveLoginKeys: LOGIN_INPUTS.map((l, i) => ({
      ...l,
      loginKey: encodeBytes(loginKeys[i]!.loginKey),
      wrapKey: encodeBytes(loginKeys[i]!.wrapKey),
      loginKeyHash: hashLoginKey(loginKeys[i]!.loginKey),
    })),
    wrapPrivateKey: {
      passphraseIndex: 0,
      coordinatorSeedLabel: 'coordinator-seed-1',
      coordinatorId: 'coord-0001',
      nonceLabel: 'wrap-1',
      publicKey: encodeBytes(coordinator.publicKey),
      wrapped: dangerousTestOnlyWrapPrivateKeyWithNonce(
        dangerousTestOnlyNonce('wrap-1'),
        loginKeys[0]!.wrapKey,
        coordinator.privateKey,
        'coord-0001',
      ),
    },
    note: {
      dataKeyLabel: 'data-key-1',
      nonceLabel: 'note-1',
      associatedData: 'rpt_0001/note/1',
      plaintext: 'Appel à la CRIP le 2 mai, IP transmise.',
      sealed: dangerousTestOnlyEncryptWithDataKeyAndNonce(
        dangerousTestOnlyNonce('note-1'),
        dangerousTestOnlyKey('data-key-1'),
        'Appel à la CRIP le 2 mai, IP transmise.',
        'rpt_0001/note/1',
      ),
    },
    contact: {
      nonceLabel: 'contact-1',
      address: 'crip@departement.example',
      sealed: dangerousTestOnlySealContactWithNonce(
        dangerousTestOnlyNonce('contact-1'),
        keys,
        'crip@departement.example',
      ),
    },
    coordinator,
  };
}

const REPORT = {
  reportId: 'rpt_0001',
  payload: {
    flow: 'professional',
    answers: { role: 'infirmière scolaire', signs: ['absences', 'cadeaux'], urgent: false },
  },
  dataKeyLabel: 'data-key-1',
  nonceLabel: 'report-1',
  coordinatorSeedLabel: 'coordinator-seed-1',
};
const REPLY_TEXT = 'Merci pour ton message. Tu peux appeler le 119, gratuit, 24h/24.';

describe('known-answer vectors', () => {
  let vectors: Vectors;
  let keys: MasterKeys;
  let loginKeys: ReturnType<typeof deriveLoginKeys>[];
  let receiptPairs: ReturnType<typeof receiptKeyPair>[];

  beforeAll(async () => {
    await initCrypto();
    keys = deriveSubkeys(parseMasterKey(MASTER_KEY));
    loginKeys = LOGIN_INPUTS.map((l) => deriveLoginKeys(l.passphrase, salt16(l.saltLabel)));
    const receipts = RECEIPT_INPUTS.map((r) => dangerousTestOnlyReceiptFromBytes(fromHex(r.randomBytes)));
    receiptPairs = RECEIPT_INPUTS.map((r, i) => receiptKeyPair(receipts[i]!, salt16(r.saltLabel)));
    if (WRITE) {
      const det = computeDeterministic(keys, loginKeys);
      const fixed = {
        dataKey: dangerousTestOnlyKey(REPORT.dataKeyLabel),
        nonce: dangerousTestOnlyNonce(REPORT.nonceLabel),
      };
      const report = dangerousTestOnlySealReportWith(fixed, {
        reportId: REPORT.reportId,
        payload: REPORT.payload,
        recipients: [{ coordinatorId: 'coord-0001', publicKey: det.coordinator.publicKey }],
      });
      const written: Vectors = {
        comment:
          'Generated once by tests/crypto/vectors.test.ts (CRYPTO_WRITE_VECTORS=1). Byte strings are base64url.',
        masterKey: MASTER_KEY,
        fingerprint: keys.fingerprint,
        canonicalJson: det.canonicalJson,
        hashUserId: det.hashUserId,
        sealState: det.sealState,
        deriveLoginKeys: det.deriveLoginKeys,
        wrapPrivateKey: det.wrapPrivateKey,
        receipt: RECEIPT_INPUTS.map((r, i) => ({
          ...r,
          receipt: receipts[i]!,
          publicKey: encodeBytes(receiptPairs[i]!.publicKey),
          lookupTag: receiptLookupTag(keys, receipts[i]!),
        })),
        sealReport: {
          ...REPORT,
          nonce: report.nonce,
          ciphertext: report.ciphertext,
          sealedKey: report.keys[0]!.sealedKey,
        },
        note: det.note,
        contact: det.contact,
        reply: {
          receiptIndex: 2,
          text: REPLY_TEXT,
          sealed: sealReply(receiptPairs[2]!.publicKey, REPLY_TEXT),
        },
      };
      writeFileSync(VECTORS_URL, `${JSON.stringify(written, null, 2)}\n`);
    }
    vectors = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as Vectors;
  });

  it('uses the committed master key', () => {
    expect(vectors.masterKey).toBe(MASTER_KEY);
    expect(keys.fingerprint).toBe(vectors.fingerprint);
  });

  it('canonicalJson', () => {
    expect(vectors.canonicalJson.length).toBeGreaterThanOrEqual(5);
    for (const v of vectors.canonicalJson) expect(canonicalJson(v.input)).toBe(v.output);
    // Hand-checked anchors, independent of the generator.
    expect(vectors.canonicalJson[0]!.output).toBe('{"a":1,"b":2}');
    expect(vectors.canonicalJson[1]!.output).toBe(
      '{"":1e+21,"A":-0.5,"z":[3,1,{"x":null,"y":true}],"é":"é"}',
    );
  });

  it('hashUserId', () => {
    expect(vectors.hashUserId).toHaveLength(USER_INPUTS.length);
    for (const v of vectors.hashUserId) expect(hashUserId(keys, v.channel, v.platformUserId)).toBe(v.hash);
  });

  it('sealState (fixed nonce) and openState', () => {
    for (const v of vectors.sealState) {
      const sealed = dangerousTestOnlySealStateWithNonce(
        dangerousTestOnlyNonce(v.nonceLabel),
        keys,
        v.channel,
        v.platformUserId,
        v.json,
      );
      expect(encodeBytes(sealed)).toBe(v.sealed);
      expect(openState(keys, v.channel, v.platformUserId, decodeBytes(v.sealed)).json).toBe(v.json);
    }
  });

  it('deriveLoginKeys (Argon2id13, INTERACTIVE) and hashLoginKey', () => {
    vectors.deriveLoginKeys.forEach((v, i) => {
      expect(v.passphrase).toBe(LOGIN_INPUTS[i]!.passphrase);
      expect(encodeBytes(loginKeys[i]!.loginKey)).toBe(v.loginKey);
      expect(encodeBytes(loginKeys[i]!.wrapKey)).toBe(v.wrapKey);
      expect(hashLoginKey(loginKeys[i]!.loginKey)).toBe(v.loginKeyHash);
    });
  });

  it('wrapPrivateKey (fixed nonce) and unwrapPrivateKey', () => {
    const v = vectors.wrapPrivateKey;
    const coordinator = dangerousTestOnlyCoordinatorKeyPairFromSeed(
      dangerousTestOnlyKey(v.coordinatorSeedLabel),
    );
    expect(encodeBytes(coordinator.publicKey)).toBe(v.publicKey);
    const wrapKey = loginKeys[v.passphraseIndex]!.wrapKey;
    expect(
      dangerousTestOnlyWrapPrivateKeyWithNonce(
        dangerousTestOnlyNonce(v.nonceLabel),
        wrapKey,
        coordinator.privateKey,
        v.coordinatorId,
      ),
    ).toBe(v.wrapped);
    expect(unwrapPrivateKey(wrapKey, v.wrapped, v.coordinatorId)).toEqual(coordinator);
  });

  it('receipt encoding, receiptKeyPair and receiptLookupTag', () => {
    expect(vectors.receipt[0]!.receipt).toBe('0000-0000-0000-0000');
    expect(vectors.receipt[1]!.receipt).toBe('ZZZZ-ZZZZ-ZZZZ-ZZZZ');
    vectors.receipt.forEach((v, i) => {
      expect(dangerousTestOnlyReceiptFromBytes(fromHex(v.randomBytes))).toBe(v.receipt);
      expect(encodeBytes(receiptPairs[i]!.publicKey)).toBe(v.publicKey);
      expect(receiptLookupTag(keys, v.receipt)).toBe(v.lookupTag);
    });
  });

  it('sealReport body (fixed data key and nonce) and openReport of the committed envelope', () => {
    const v = vectors.sealReport;
    const coordinator = dangerousTestOnlyCoordinatorKeyPairFromSeed(
      dangerousTestOnlyKey(v.coordinatorSeedLabel),
    );
    const again = dangerousTestOnlySealReportWith(
      { dataKey: dangerousTestOnlyKey(v.dataKeyLabel), nonce: dangerousTestOnlyNonce(v.nonceLabel) },
      {
        reportId: v.reportId,
        payload: v.payload,
        recipients: [{ coordinatorId: 'coord-0001', publicKey: coordinator.publicKey }],
      },
    );
    expect(again.nonce).toBe(v.nonce);
    expect(again.ciphertext).toBe(v.ciphertext);
    expect(
      openReport(
        { v: 1, reportId: v.reportId, nonce: v.nonce, ciphertext: v.ciphertext, sealedKey: v.sealedKey },
        coordinator,
      ),
    ).toEqual(REPORT.payload);
    // A freshly sealed report still opens with the same key pair (sanity of the random path).
    const fresh = sealReport({
      reportId: v.reportId,
      payload: v.payload,
      recipients: [{ coordinatorId: 'c', publicKey: coordinator.publicKey }],
    });
    expect(
      openReport(
        {
          reportId: v.reportId,
          nonce: fresh.nonce,
          ciphertext: fresh.ciphertext,
          sealedKey: fresh.keys[0]!.sealedKey,
        },
        coordinator,
      ),
    ).toEqual(REPORT.payload);
  });

  it('note and contact (fixed nonces)', () => {
    const n = vectors.note;
    expect(
      dangerousTestOnlyEncryptWithDataKeyAndNonce(
        dangerousTestOnlyNonce(n.nonceLabel),
        dangerousTestOnlyKey(n.dataKeyLabel),
        n.plaintext,
        n.associatedData,
      ),
    ).toBe(n.sealed);
    const c = vectors.contact;
    expect(dangerousTestOnlySealContactWithNonce(dangerousTestOnlyNonce(c.nonceLabel), keys, c.address)).toBe(
      c.sealed,
    );
  });

  it('openReply of the committed reply', () => {
    const v = vectors.reply;
    expect(openReply(receiptPairs[v.receiptIndex]!, v.sealed)).toBe(v.text);
  });
});
