/**
 * Follow-up messages (the person answers the replies on the web page): the report envelope under associated
 * data naming the report and the message. Round trip, every coordinator opens it, and it never opens as a
 * report, under another report or another message id, or with a key it was not sealed to; a report never
 * opens as a follow-up. The decoy report id of an unknown code: stable, keyed, shaped as a UUID v4.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CoordinatorKeyPair,
  CryptoInputError,
  decoyReportId,
  deriveSubkeys,
  encodeBytes,
  generateCoordinatorKeyPair,
  generateMasterKey,
  generateReceipt,
  initCrypto,
  openFollowUp,
  openReport,
  parseMasterKey,
  ReportDecryptError,
  receiptLookupHash,
  type SealedReport,
  sealFollowUp,
  sealReport,
} from '../../src/crypto/index.js';

const REPORT = '3f2a1c9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const MESSAGE = '7e6d5c4b-3a29-4817-8f6e-5d4c3b2a1908';

let alice: CoordinatorKeyPair;
let bob: CoordinatorKeyPair;

beforeAll(async () => {
  await initCrypto();
  alice = generateCoordinatorKeyPair();
  bob = generateCoordinatorKeyPair();
});

const seal = (text: string, reportId = REPORT, messageId = MESSAGE) =>
  sealFollowUp({
    reportId,
    messageId,
    payload: { text },
    recipients: [
      { coordinatorId: 'alice', publicKey: alice.publicKey },
      { coordinatorId: 'bob', publicKey: encodeBytes(bob.publicKey) },
    ],
  });

const forCoordinator = (s: SealedReport, who: string, reportId = REPORT, messageId = MESSAGE) => ({
  v: s.v,
  reportId,
  messageId,
  nonce: s.nonce,
  ciphertext: s.ciphertext,
  sealedKey: s.keys.find((k) => k.coordinatorId === who)!.sealedKey,
});

describe('sealFollowUp / openFollowUp', () => {
  it('round-trips for every recipient, in the report envelope format', () => {
    const sealed = seal('Je peux parler mardi.');
    expect(sealed.v).toBe(1);
    expect(sealed.keys.map((k) => k.coordinatorId)).toEqual(['alice', 'bob']);
    expect(sealed.ciphertext).not.toContain('mardi');
    expect(openFollowUp(forCoordinator(sealed, 'alice'), alice)).toEqual({ text: 'Je peux parler mardi.' });
    expect(openFollowUp(forCoordinator(sealed, 'bob'), bob)).toEqual({ text: 'Je peux parler mardi.' });
  });

  it('is bound to its report and its message id, and to the recipients', () => {
    const sealed = seal('lié');
    const other = '00000000-0000-4000-8000-000000000000';
    expect(() => openFollowUp(forCoordinator(sealed, 'alice', other), alice)).toThrow(ReportDecryptError);
    expect(() => openFollowUp(forCoordinator(sealed, 'alice', REPORT, other), alice)).toThrow(
      ReportDecryptError,
    );
    expect(() => openFollowUp(forCoordinator(sealed, 'alice'), bob)).toThrow(ReportDecryptError);
    expect(() => openFollowUp({ ...forCoordinator(sealed, 'alice'), v: 2 }, alice)).toThrow(
      ReportDecryptError,
    );
  });

  it('never opens as a report, and a report never opens as a follow-up', () => {
    const message = seal('pas un signalement');
    expect(() => openReport(forCoordinator(message, 'alice'), alice)).toThrow(ReportDecryptError);
    const report = sealReport({
      reportId: REPORT,
      payload: { text: 'un signalement' },
      recipients: [{ coordinatorId: 'alice', publicKey: alice.publicKey }],
    });
    expect(() => openFollowUp(forCoordinator(report, 'alice'), alice)).toThrow(ReportDecryptError);
  });

  it('refuses ids with a NUL or empty, and no recipient', () => {
    expect(() => seal('x', `${REPORT}\0x`)).toThrow(CryptoInputError);
    expect(() => seal('x', REPORT, '')).toThrow(CryptoInputError);
    expect(() =>
      sealFollowUp({ reportId: REPORT, messageId: MESSAGE, payload: { text: 'x' }, recipients: [] }),
    ).toThrow(CryptoInputError);
  });
});

describe('decoyReportId', () => {
  it('is a stable UUID v4 per lookup hash, keyed by the master key', () => {
    const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const hash = receiptLookupHash(generateReceipt());
    const id = decoyReportId(keys, hash);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(decoyReportId(keys, hash)).toBe(id);
    expect(decoyReportId(keys, receiptLookupHash(generateReceipt()))).not.toBe(id);
    expect(decoyReportId(deriveSubkeys(parseMasterKey(generateMasterKey())), hash)).not.toBe(id);
    expect(() => decoyReportId(keys, 'ABCD')).toThrow(CryptoInputError);
  });
});
