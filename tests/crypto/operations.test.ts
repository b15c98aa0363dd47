/**
 * Round trips and failure modes of the named crypto operations (Signal-style: round trip, tampered
 * nonce, tampered ciphertext, wrong key, swapped id), plus error hygiene.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ContactDecryptError,
  type CoordinatorKeyPair,
  CoordinatorSecretError,
  type CryptoError,
  CryptoInputError,
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
  initCrypto,
  type MasterKeys,
  newPwhashSalt,
  openContact,
  openCoordinatorSecret,
  openDataKey,
  openReport,
  openReportWithDataKey,
  openState,
  parseMasterKey,
  ReportDecryptError,
  resealDataKey,
  type SealedReport,
  StateDecryptError,
  sealContact,
  sealCoordinatorSecret,
  sealReport,
  sealState,
  UnwrapError,
  unwrapPrivateKey,
  verifyLoginKey,
  wrapPrivateKey,
} from '../../src/crypto/index.js';
import { STATE_FORMAT } from '../../src/crypto/operations.js';

function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  const at = index < 0 ? copy.length + index : index;
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

function flipBitBase64(text: string, index: number): string {
  return encodeBytes(flipBit(decodeBytes(text), index));
}

/** Asserts `fn` throws an error of `type` whose message starts with `operation` and leaks none of `secrets`. */
function expectCryptoError(
  fn: () => unknown,
  type: new (...args: never[]) => CryptoError,
  operation: string,
  secrets: string[] = [],
): CryptoError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(type);
  const err = caught as CryptoError;
  expect(err.message.startsWith(`${operation}: `)).toBe(true);
  expect(err.operation).toBe(operation);
  for (const secret of secrets) expect(err.message).not.toContain(secret);
  return err;
}

beforeAll(async () => {
  await initCrypto();
});

describe('master key', () => {
  it('generates 32-byte base64 keys that parse back', () => {
    const text = generateMasterKey();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(parseMasterKey(text)).toHaveLength(32);
    expect(parseMasterKey(` ${text}\n`)).toEqual(parseMasterKey(text));
    expect(generateMasterKey()).not.toBe(text);
  });

  it('accepts the URL-safe alphabet and missing padding for the same bytes', () => {
    const text = generateMasterKey();
    const urlSafe = text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(parseMasterKey(urlSafe)).toEqual(parseMasterKey(text));
  });

  it('names the problem without echoing the value', () => {
    const short = encodeBytes(new Uint8Array(31).fill(7));
    const err = expectCryptoError(() => parseMasterKey(short), CryptoInputError, 'parseMasterKey', [short]);
    expect(err.message).toContain('32 bytes, got 31');
    expectCryptoError(() => parseMasterKey(''), CryptoInputError, 'parseMasterKey');
    expectCryptoError(() => parseMasterKey('not base64 at all!'), CryptoInputError, 'parseMasterKey', [
      'not base64 at all!',
    ]);
    expectCryptoError(() => parseMasterKey(`${generateMasterKey()}AAAA`), CryptoInputError, 'parseMasterKey');
  });

  it('derives distinct, deterministic subkeys and a loggable fingerprint', () => {
    const master = parseMasterKey(generateMasterKey());
    const a = deriveSubkeys(master);
    const b = deriveSubkeys(master);
    expect(a).toEqual(b);
    const subkeys = [a.userIdHashKey, a.conversationStateKey, a.contactKey, a.receiptLookupKey].map(
      encodeBytes,
    );
    expect(new Set(subkeys).size).toBe(4);
    expect(subkeys).not.toContain(encodeBytes(master));
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(deriveSubkeys(parseMasterKey(generateMasterKey())).fingerprint).not.toBe(a.fingerprint);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('refuses a master key of the wrong length', () => {
    expectCryptoError(() => deriveSubkeys(new Uint8Array(16)), CryptoInputError, 'deriveSubkeys');
  });
});

describe('hashUserId', () => {
  let keys: MasterKeys;
  beforeAll(() => {
    keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
  });

  it('is a stable 64-hex keyed hash, separated by channel and by key', () => {
    const h = hashUserId(keys, 'telegram', '123456789');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashUserId(keys, 'telegram', '123456789')).toBe(h);
    expect(hashUserId(keys, 'teams', '123456789')).not.toBe(h);
    expect(hashUserId(keys, 'telegram', '123456780')).not.toBe(h);
    const other = deriveSubkeys(parseMasterKey(generateMasterKey()));
    expect(hashUserId(other, 'telegram', '123456789')).not.toBe(h);
  });

  it('cannot be confused by moving characters across the separator', () => {
    expect(hashUserId(keys, 'tele', 'gram1')).not.toBe(hashUserId(keys, 'telegram', '1'));
    expectCryptoError(() => hashUserId(keys, 'tele\0gram', '1'), CryptoInputError, 'hashUserId');
  });

  it('rejects empty or oversized input without echoing it', () => {
    expectCryptoError(() => hashUserId(keys, '', '1'), CryptoInputError, 'hashUserId');
    expectCryptoError(() => hashUserId(keys, 'telegram', ''), CryptoInputError, 'hashUserId');
    const long = 'x'.repeat(300);
    expectCryptoError(() => hashUserId(keys, 'telegram', long), CryptoInputError, 'hashUserId', [long]);
  });
});

describe('conversation state', () => {
  let keys: MasterKeys;
  const json = JSON.stringify({
    v: [1, 3],
    step: 'q4',
    answers: { age: '15', text: 'il me suit à la sortie' },
  });
  beforeAll(() => {
    keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
  });

  it('round-trips strings and UTF-8 bytes, with a random nonce each time', () => {
    const sealed = sealState(keys, 'telegram', '42', json);
    expect(sealed[0]).toBe(STATE_FORMAT);
    expect(openState(keys, 'telegram', '42', sealed)).toEqual({ json, keyIndex: 0 });
    expect(
      openState([keys], 'telegram', '42', sealState(keys, 'telegram', '42', new TextEncoder().encode(json)))
        .json,
    ).toBe(json);
    expect(encodeBytes(sealState(keys, 'telegram', '42', json))).not.toBe(encodeBytes(sealed));
  });

  it('does not contain the plaintext and pads its length', () => {
    const sealed = sealState(keys, 'telegram', '42', json);
    expect(new TextDecoder().decode(sealed)).not.toContain('sortie');
    const small = sealState(keys, 'telegram', '42', '{}');
    const larger = sealState(keys, 'telegram', '42', JSON.stringify({ a: 'x'.repeat(100) }));
    expect(small.length).toBe(larger.length);
  });

  it('needs the raw platform user id, not just the master key', () => {
    const sealed = sealState(keys, 'telegram', '42', json);
    expectCryptoError(() => openState(keys, 'telegram', '43', sealed), StateDecryptError, 'openState', [
      json,
    ]);
    expectCryptoError(() => openState(keys, 'teams', '42', sealed), StateDecryptError, 'openState');
  });

  it('fails on a tampered nonce, ciphertext, tag or format byte, and a wrong key', () => {
    const sealed = sealState(keys, 'telegram', '42', json);
    for (const index of [0, 1, 24, 25, -1]) {
      expectCryptoError(
        () => openState(keys, 'telegram', '42', flipBit(sealed, index)),
        StateDecryptError,
        'openState',
      );
    }
    expectCryptoError(
      () => openState(keys, 'telegram', '42', sealed.subarray(0, 30)),
      StateDecryptError,
      'openState',
    );
    const other = deriveSubkeys(parseMasterKey(generateMasterKey()));
    expectCryptoError(() => openState(other, 'telegram', '42', sealed), StateDecryptError, 'openState');
  });

  it('opens with rotated keys, reporting which key worked', () => {
    const oldKeys = keys;
    const newKeys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const sealedOld = sealState(oldKeys, 'telegram', '42', json);
    const sealedNew = sealState(newKeys, 'telegram', '42', json);
    expect(openState([newKeys, oldKeys], 'telegram', '42', sealedOld)).toEqual({ json, keyIndex: 1 });
    expect(openState([newKeys, oldKeys], 'telegram', '42', sealedNew)).toEqual({ json, keyIndex: 0 });
    expectCryptoError(
      () => openState([newKeys], 'telegram', '42', sealedOld),
      StateDecryptError,
      'openState',
    );
    expectCryptoError(() => openState([], 'telegram', '42', sealedOld), CryptoInputError, 'openState');
  });

  it('derives the same per-user key when it is kept in memory, and still checks new inputs', () => {
    const master = generateMasterKey();
    const a = deriveSubkeys(parseMasterKey(master));
    const b = deriveSubkeys(parseMasterKey(master));
    // `a` seals twice (the second from its kept key), `b` opens with a fresh derivation, and back.
    sealState(a, 'telegram', '7', json);
    const sealed = sealState(a, 'telegram', '7', json);
    expect(openState(b, 'telegram', '7', sealed).json).toBe(json);
    expect(openState(a, 'telegram', '7', sealState(b, 'telegram', '7', json)).json).toBe(json);
    // Inputs never derived before are checked as without the cache.
    expectCryptoError(() => openState(a, 'telegram', '7\0', sealed), CryptoInputError, 'openState');
    expectCryptoError(() => sealState(a, 'tele\0gram', '7', json), CryptoInputError, 'sealState');
    expectCryptoError(
      () => sealState(a, 'telegram', 7 as unknown as string, json),
      CryptoInputError,
      'sealState',
    );
    // More users than are kept: the first one's key is derived again, and still opens its state.
    for (let i = 0; i < 8300; i++) sealState(a, 'telegram', `u${i}`, '{}');
    expect(openState(a, 'telegram', '7', sealed).json).toBe(json);
  });

  it('refuses invalid UTF-8 and oversized state', () => {
    expectCryptoError(
      () => sealState(keys, 'telegram', '42', new Uint8Array([0xff, 0xfe])),
      CryptoInputError,
      'sealState',
    );
    expectCryptoError(
      () => sealState(keys, 'telegram', '42', 'x'.repeat(256 * 1024 + 1)),
      CryptoInputError,
      'sealState',
    );
  });
});

describe('coordinator login and key wrapping', () => {
  const passphrase = 'correct horse battery staple';
  let salt: Uint8Array;
  let login: ReturnType<typeof deriveLoginKeys>;
  beforeAll(() => {
    salt = newPwhashSalt();
    login = deriveLoginKeys(passphrase, salt);
  });

  it('derives two independent 32-byte keys, deterministically', () => {
    expect(login.loginKey).toHaveLength(32);
    expect(login.wrapKey).toHaveLength(32);
    expect(encodeBytes(login.loginKey)).not.toBe(encodeBytes(login.wrapKey));
    expect(deriveLoginKeys(passphrase, salt)).toEqual(login);
  });

  it('depends on the salt and on the passphrase, and normalises Unicode (NFC)', () => {
    expect(deriveLoginKeys(passphrase, newPwhashSalt()).loginKey).not.toEqual(login.loginKey);
    const composed = 'mot de passe très sûr';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(deriveLoginKeys(decomposed, salt)).toEqual(deriveLoginKeys(composed, salt));
  });

  it('stores only a hash of the login key and verifies it', () => {
    const stored = hashLoginKey(login.loginKey);
    expect(stored).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toBe(encodeBytes(login.loginKey));
    expect(verifyLoginKey(login.loginKey, stored)).toBe(true);
    expect(verifyLoginKey(login.wrapKey, stored)).toBe(false);
    expect(verifyLoginKey(flipBit(login.loginKey, 0), stored)).toBe(false);
    expectCryptoError(() => verifyLoginKey(login.loginKey, 'short'), CryptoInputError, 'verifyLoginKey');
    expectCryptoError(() => verifyLoginKey(new Uint8Array(31), stored), CryptoInputError, 'verifyLoginKey');
  });

  it('wraps and unwraps the private key, recovering the whole key pair', () => {
    const pair = generateCoordinatorKeyPair();
    const wrapped = wrapPrivateKey(login.wrapKey, pair.privateKey, 'coord-1');
    expect(wrapped).not.toContain(encodeBytes(pair.privateKey));
    expect(unwrapPrivateKey(login.wrapKey, wrapped, 'coord-1')).toEqual(pair);
  });

  it('does not unwrap with a wrong passphrase, another coordinator id, or tampering', () => {
    const pair = generateCoordinatorKeyPair();
    const wrapped = wrapPrivateKey(login.wrapKey, pair.privateKey, 'coord-1');
    const wrong = deriveLoginKeys('correct horse battery stapler', salt);
    expectCryptoError(
      () => unwrapPrivateKey(wrong.wrapKey, wrapped, 'coord-1'),
      UnwrapError,
      'unwrapPrivateKey',
      [passphrase],
    );
    expectCryptoError(
      () => unwrapPrivateKey(login.loginKey, wrapped, 'coord-1'),
      UnwrapError,
      'unwrapPrivateKey',
    );
    expectCryptoError(
      () => unwrapPrivateKey(login.wrapKey, wrapped, 'coord-2'),
      UnwrapError,
      'unwrapPrivateKey',
    );
    for (const index of [0, 1, 25, -1]) {
      expectCryptoError(
        () => unwrapPrivateKey(login.wrapKey, flipBitBase64(wrapped, index), 'coord-1'),
        UnwrapError,
        'unwrapPrivateKey',
      );
    }
    expectCryptoError(
      () => unwrapPrivateKey(login.wrapKey, 'not*base64', 'coord-1'),
      UnwrapError,
      'unwrapPrivateKey',
    );
  });

  it('refuses bad lengths with the function name', () => {
    expectCryptoError(
      () => deriveLoginKeys(passphrase, new Uint8Array(8)),
      CryptoInputError,
      'deriveLoginKeys',
      [passphrase],
    );
    expectCryptoError(() => deriveLoginKeys('', salt), CryptoInputError, 'deriveLoginKeys');
    expectCryptoError(
      () => wrapPrivateKey(login.wrapKey, new Uint8Array(64), 'coord-1'),
      CryptoInputError,
      'wrapPrivateKey',
    );
  });
});

describe('reports', () => {
  const reportId = 'rpt_01HXYZ';
  const payload = {
    flow: 'young-person',
    answers: { worry: 'un ami de 15 ans reçoit de l’argent', urgent: false, signs: ['gifts', 'nights'] },
  };
  let alice: CoordinatorKeyPair;
  let bob: CoordinatorKeyPair;
  let sealed: SealedReport;
  const forCoordinator = (report: SealedReport, coordinatorId: string) => ({
    v: report.v,
    reportId,
    nonce: report.nonce,
    ciphertext: report.ciphertext,
    sealedKey: report.keys.find((k) => k.coordinatorId === coordinatorId)!.sealedKey,
  });

  beforeAll(() => {
    alice = generateCoordinatorKeyPair();
    bob = generateCoordinatorKeyPair();
    sealed = sealReport({
      reportId,
      payload,
      recipients: [
        { coordinatorId: 'alice', publicKey: alice.publicKey },
        { coordinatorId: 'bob', publicKey: encodeBytes(bob.publicKey) },
      ],
    });
  });

  it('is a JSON-safe envelope that hides the payload', () => {
    expect(sealed.v).toBe(1);
    expect(decodeBytes(sealed.nonce)).toHaveLength(24);
    expect(sealed.keys.map((k) => k.coordinatorId)).toEqual(['alice', 'bob']);
    const text = JSON.stringify(sealed);
    expect(JSON.parse(text)).toEqual(sealed);
    expect(text).not.toContain('argent');
  });

  it('uses a fresh data key, nonce and ephemeral key every time', () => {
    const seal = () =>
      sealReport({ reportId, payload, recipients: [{ coordinatorId: 'alice', publicKey: alice.publicKey }] });
    const seen = { nonce: new Set<string>(), ephemeral: new Set<string>(), ciphertext: new Set<string>() };
    for (let i = 0; i < 20; i++) {
      const s = seal();
      seen.nonce.add(s.nonce);
      seen.ciphertext.add(s.ciphertext);
      // crypto_box_seal output starts with the ephemeral public key.
      seen.ephemeral.add(encodeBytes(decodeBytes(s.keys[0]!.sealedKey).subarray(0, 32)));
    }
    expect(seen.nonce.size).toBe(20);
    expect(seen.ciphertext.size).toBe(20);
    expect(seen.ephemeral.size).toBe(20);
  });

  it('opens for every recipient', () => {
    expect(openReport(forCoordinator(sealed, 'alice'), alice)).toEqual(payload);
    expect(openReport(forCoordinator(sealed, 'bob'), bob)).toEqual(payload);
  });

  it('fails with a wrong key pair or another coordinator’s sealed key', () => {
    const eve = generateCoordinatorKeyPair();
    expectCryptoError(
      () => openReport(forCoordinator(sealed, 'alice'), eve),
      ReportDecryptError,
      'openReport',
    );
    expectCryptoError(
      () => openReport(forCoordinator(sealed, 'alice'), bob),
      ReportDecryptError,
      'openReport',
    );
  });

  it('fails on a tampered nonce, ciphertext or sealed key', () => {
    const base = forCoordinator(sealed, 'alice');
    for (const index of [0, 23]) {
      expectCryptoError(
        () => openReport({ ...base, nonce: flipBitBase64(base.nonce, index) }, alice),
        ReportDecryptError,
        'openReport',
      );
    }
    for (const index of [0, 100, -1]) {
      expectCryptoError(
        () => openReport({ ...base, ciphertext: flipBitBase64(base.ciphertext, index) }, alice),
        ReportDecryptError,
        'openReport',
        ['argent'],
      );
      expectCryptoError(
        () =>
          openReport(
            { ...base, sealedKey: flipBitBase64(base.sealedKey, index < 0 ? index : index % 60) },
            alice,
          ),
        ReportDecryptError,
        'openReport',
      );
    }
    expectCryptoError(() => openReport({ ...base, nonce: 'AAAA' }, alice), ReportDecryptError, 'openReport');
    expectCryptoError(() => openReport({ ...base, v: 2 }, alice), ReportDecryptError, 'openReport');
  });

  it('fails when the ciphertext is moved to another report id', () => {
    const other = sealReport({
      reportId: 'rpt_other',
      payload: { x: 1 },
      recipients: [{ coordinatorId: 'alice', publicKey: alice.publicKey }],
    });
    const base = forCoordinator(sealed, 'alice');
    expectCryptoError(
      () => openReport({ ...base, reportId: 'rpt_other' }, alice),
      ReportDecryptError,
      'openReport',
    );
    // Ciphertext and key of one report under another report's id.
    expectCryptoError(
      () => openReport({ ...forCoordinator(other, 'alice'), reportId }, alice),
      ReportDecryptError,
      'openReport',
    );
  });

  it('refuses an empty recipient list, duplicates and bad keys by name', () => {
    const err = expectCryptoError(
      () => sealReport({ reportId, payload, recipients: [] }),
      CryptoInputError,
      'sealReport',
      ['argent'],
    );
    expect(err.message).toBe('sealReport: no recipients');
    expectCryptoError(
      () =>
        sealReport({
          reportId,
          payload,
          recipients: [
            { coordinatorId: 'alice', publicKey: alice.publicKey },
            { coordinatorId: 'alice', publicKey: bob.publicKey },
          ],
        }),
      CryptoInputError,
      'sealReport',
    );
    expectCryptoError(
      () =>
        sealReport({
          reportId,
          payload,
          recipients: [{ coordinatorId: 'alice', publicKey: new Uint8Array(31) }],
        }),
      CryptoInputError,
      'sealReport',
    );
    expectCryptoError(
      () =>
        sealReport({
          reportId,
          payload: [1, 2] as unknown as object,
          recipients: [{ coordinatorId: 'a', publicKey: alice.publicKey }],
        }),
      CryptoInputError,
      'sealReport',
    );
    expectCryptoError(
      () =>
        sealReport({
          reportId: '',
          payload,
          recipients: [{ coordinatorId: 'a', publicKey: alice.publicKey }],
        }),
      CryptoInputError,
      'sealReport',
    );
  });

  it('grants a coordinator added later access by resealing the data key', () => {
    const carol = generateCoordinatorKeyPair();
    const dataKey = openDataKey(forCoordinator(sealed, 'alice').sealedKey, alice);
    expect(dataKey).toHaveLength(32);
    const carolKey = resealDataKey(dataKey, carol.publicKey);
    const granted: SealedReport = {
      ...sealed,
      keys: [...sealed.keys, { coordinatorId: 'carol', sealedKey: carolKey }],
    };
    expect(openReport(forCoordinator(granted, 'carol'), carol)).toEqual(payload);
    expect(resealDataKey(dataKey, encodeBytes(carol.publicKey))).not.toBe(carolKey);
    expectCryptoError(() => openDataKey(carolKey, alice), ReportDecryptError, 'openDataKey');
  });

  it('opens the body with an already opened data key', () => {
    const dataKey = openDataKey(forCoordinator(sealed, 'bob').sealedKey, bob);
    expect(
      openReportWithDataKey(dataKey, { reportId, nonce: sealed.nonce, ciphertext: sealed.ciphertext }),
    ).toEqual(payload);
  });

  it('encrypts notes with the data key, bound to their context', () => {
    const dataKey = openDataKey(forCoordinator(sealed, 'alice').sealedKey, alice);
    const ad = `${reportId}/note/1`;
    const note = encryptWithDataKey(dataKey, 'Appel CRIP fait à 14h', ad);
    expect(decryptWithDataKey(dataKey, note, ad)).toBe('Appel CRIP fait à 14h');
    expectCryptoError(
      () => decryptWithDataKey(dataKey, note, `${reportId}/note/2`),
      ReportDecryptError,
      'decryptWithDataKey',
    );
    expectCryptoError(
      () => decryptWithDataKey(flipBit(dataKey, 0), note, ad),
      ReportDecryptError,
      'decryptWithDataKey',
    );
    expectCryptoError(
      () => decryptWithDataKey(dataKey, flipBitBase64(note, 5), ad),
      ReportDecryptError,
      'decryptWithDataKey',
    );
    expectCryptoError(
      () => decryptWithDataKey(dataKey, flipBitBase64(note, -1), ad),
      ReportDecryptError,
      'decryptWithDataKey',
    );
  });

  it('never accepts a note as a report body', () => {
    const dataKey = openDataKey(forCoordinator(sealed, 'alice').sealedKey, alice);
    const note = decodeBytes(encryptWithDataKey(dataKey, '{"a":1}', reportId));
    const asReport = {
      reportId,
      nonce: encodeBytes(note.subarray(1, 25)),
      ciphertext: encodeBytes(note.subarray(25)),
    };
    expectCryptoError(
      () => openReportWithDataKey(dataKey, asReport),
      ReportDecryptError,
      'openReportWithDataKey',
    );
  });
});

describe('contacts', () => {
  it('round-trips, hides the address and supports rotation', () => {
    const oldKeys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const newKeys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const address = 'crip93@seine-saint-denis.example';
    const sealed = sealContact(oldKeys, address);
    expect(sealed).not.toContain('crip93');
    expect(openContact(oldKeys, sealed)).toBe(address);
    expect(openContact([newKeys, oldKeys], sealed)).toBe(address);
    expect(sealContact(oldKeys, address)).not.toBe(sealed);
    expectCryptoError(() => openContact(newKeys, sealed), ContactDecryptError, 'openContact', [address]);
    expectCryptoError(
      () => openContact(oldKeys, flipBitBase64(sealed, 10)),
      ContactDecryptError,
      'openContact',
    );
    expectCryptoError(
      () => openContact(oldKeys, flipBitBase64(sealed, -1)),
      ContactDecryptError,
      'openContact',
    );
    expectCryptoError(() => sealContact(oldKeys, ''), CryptoInputError, 'sealContact');
  });
});

describe('coordinator secrets at rest', () => {
  const id = '6f1c2e1a-8d43-4d0e-9a57-0e7c1b2d3f40';
  const value = 'r9H0yv6m3kq3xw0bS7tVbq9l0n2e6cXh2m4p8sFz1aQ';

  it('round-trips, hides the value, and opens under a previous key during a rotation', () => {
    const oldKeys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const newKeys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const sealed = sealCoordinatorSecret(oldKeys, 'login-key-hash', id, value);
    expect(sealed).not.toContain(value.slice(0, 12));
    expect(sealCoordinatorSecret(oldKeys, 'login-key-hash', id, value)).not.toBe(sealed);
    expect(openCoordinatorSecret(oldKeys, 'login-key-hash', id, sealed)).toEqual({ value, keyIndex: 0 });
    expect(openCoordinatorSecret([newKeys, oldKeys], 'login-key-hash', id, sealed)).toEqual({
      value,
      keyIndex: 1,
    });
    expectCryptoError(
      () => openCoordinatorSecret(newKeys, 'login-key-hash', id, sealed),
      CoordinatorSecretError,
      'openCoordinatorSecret',
      [value],
    );
  });

  it('is bound to its coordinator and its column, and refuses tampering and clear values', () => {
    const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const sealed = sealCoordinatorSecret(keys, 'wrapped-private-key', id, value);
    const open = (field: 'login-key-hash' | 'wrapped-private-key', who: string, blob: string) => () =>
      openCoordinatorSecret(keys, field, who, blob);
    for (const fn of [
      open('wrapped-private-key', '00000000-0000-4000-8000-000000000000', sealed),
      open('login-key-hash', id, sealed),
      open('wrapped-private-key', id, flipBitBase64(sealed, 0)),
      open('wrapped-private-key', id, flipBitBase64(sealed, 10)),
      open('wrapped-private-key', id, flipBitBase64(sealed, -1)),
      open('wrapped-private-key', id, value),
      open('wrapped-private-key', id, ''),
    ]) {
      expectCryptoError(fn, CoordinatorSecretError, 'openCoordinatorSecret', [value]);
    }
    expectCryptoError(
      () => sealCoordinatorSecret(keys, 'login-key-hash', id, ''),
      CryptoInputError,
      'sealCoordinatorSecret',
    );
    expectCryptoError(
      () => sealCoordinatorSecret(keys, 'other' as never, id, value),
      CryptoInputError,
      'sealCoordinatorSecret',
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ b: undefined, a: 'é\n"' })).toBe('{"a":"é\\n\\""}');
  });

  it('refuses values JSON cannot represent faithfully', () => {
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      1n,
      () => 1,
      Symbol('s'),
      new Date(0),
      new Map(),
      [undefined],
    ]) {
      expectCryptoError(() => canonicalJson({ x: bad }), CryptoInputError, 'canonicalJson');
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expectCryptoError(() => canonicalJson(cycle), CryptoInputError, 'canonicalJson');
  });

  it('keeps JSON.stringify’s content and ignores key order (property)', () => {
    const reverseKeys = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(reverseKeys);
      if (v !== null && typeof v === 'object') {
        // fromEntries defines own properties, so a "__proto__" key stays a key.
        return Object.fromEntries(
          Object.entries(v)
            .reverse()
            .map(([k, x]) => [k, reverseKeys(x)]),
        );
      }
      return v;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(reverseKeys(v))).toBe(c);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
      }),
    );
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"k":1},"b":{"k":1}}');
  });
});
