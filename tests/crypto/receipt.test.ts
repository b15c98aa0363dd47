/**
 * Submitter receipts: generation, normalisation of what people actually type, key derivation, lookup
 * tags and replies.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CryptoInputError,
  decodeBytes,
  deriveSubkeys,
  encodeBytes,
  formatReceipt,
  generateMasterKey,
  generateReceipt,
  initCrypto,
  newPwhashSalt,
  normalizeReceipt,
  openReply,
  parseMasterKey,
  RECEIPT_BITS,
  ReplyDecryptError,
  receiptKeyPair,
  receiptLookupHash,
  receiptLookupTag,
  receiptTagFromLookupHash,
  sealReply,
} from '../../src/crypto/index.js';
import { RECEIPT_ALPHABET } from '../../src/crypto/receipt.js';

beforeAll(async () => {
  await initCrypto();
});

describe('generateReceipt', () => {
  it('gives 4 groups of 4 symbols of the unambiguous alphabet, 80 bits', () => {
    expect(RECEIPT_BITS).toBeGreaterThanOrEqual(80);
    expect(RECEIPT_ALPHABET).toHaveLength(32);
    expect(RECEIPT_ALPHABET).not.toMatch(/[ILOU]/);
    for (let i = 0; i < 50; i++) {
      expect(generateReceipt()).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    }
  });

  it('does not repeat and uses every symbol', () => {
    const seen = new Set<string>();
    const symbols = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const r = generateReceipt();
      seen.add(r);
      for (const ch of r.replace(/-/g, '')) symbols.add(ch);
    }
    expect(seen.size).toBe(500);
    expect(symbols.size).toBe(32);
  });
});

describe('normalizeReceipt', () => {
  it('tolerates case, spaces, any dash and look-alike letters', () => {
    const receipt = '7K2M-9QXR-0B1T-HZ4W';
    const canonical = '7K2M9QXR0B1THZ4W';
    for (const typed of [
      receipt,
      receipt.toLowerCase(),
      '7k2m 9qxr 0b1t hz4w',
      ' 7K2M–9QXR—0B1T-HZ4W ',
      '7K2M9QXROBITHZ4W',
      '7k2m9qxrobLthz4w',
      '７Ｋ２Ｍ９ＱＸＲ０Ｂ１ＴＨＺ４Ｗ',
    ]) {
      expect(normalizeReceipt(typed)).toBe(canonical);
    }
    expect(formatReceipt('7k2m9qxr0b1thz4w')).toBe(receipt);
  });

  it('refuses wrong lengths and foreign characters without echoing the input', () => {
    for (const typed of [
      '7K2M-9QXR-0B1T',
      '7K2M-9QXR-0B1T-HZ4W-AAAA',
      '7K2M-9QXR-0B1T-HZ4U',
      '7K2M-9QXR-0B1T-HZ4*',
      '',
    ]) {
      let caught: unknown;
      try {
        normalizeReceipt(typed);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CryptoInputError);
      const message = (caught as Error).message;
      expect(message.startsWith('normalizeReceipt: ')).toBe(true);
      if (typed.length > 4) expect(message).not.toContain(typed.slice(0, 9));
    }
    expect(() => normalizeReceipt('x'.repeat(1000))).toThrow(CryptoInputError);
  });
});

describe('receipt keys and replies', () => {
  let receipt: string;
  let salt: Uint8Array;
  let keyPair: ReturnType<typeof receiptKeyPair>;

  beforeAll(() => {
    receipt = generateReceipt();
    salt = newPwhashSalt();
    keyPair = receiptKeyPair(receipt, salt);
  });

  it('derives the same key pair from any typing of the receipt', () => {
    expect(keyPair.publicKey).toHaveLength(32);
    expect(receiptKeyPair(receipt.toLowerCase().replace(/-/g, ' '), salt)).toEqual(keyPair);
  });

  it('derives another key pair with another salt', () => {
    expect(receiptKeyPair(receipt, newPwhashSalt()).publicKey).not.toEqual(keyPair.publicKey);
  });

  it('round-trips a reply and refuses a wrong receipt or tampering', () => {
    const text = 'Bonjour, nous avons bien reçu ton message. Tu peux appeler le 119 à tout moment.';
    const sealed = sealReply(encodeBytes(keyPair.publicKey), text);
    expect(sealed).not.toContain('119');
    expect(openReply(keyPair, sealed)).toBe(text);
    expect(openReply(receiptKeyPair(receipt, salt), sealReply(keyPair.publicKey, text))).toBe(text);

    const wrong = receiptKeyPair(generateReceipt(), salt);
    expect(() => openReply(wrong, sealed)).toThrow(ReplyDecryptError);
    const bytes = decodeBytes(sealed);
    for (const index of [0, 1, 40, bytes.length - 1]) {
      const tampered = bytes.slice();
      tampered[index] = tampered[index]! ^ 1;
      expect(() => openReply(keyPair, encodeBytes(tampered))).toThrow(ReplyDecryptError);
    }
    try {
      openReply(wrong, sealed);
    } catch (err) {
      expect((err as Error).message.startsWith('openReply: ')).toBe(true);
      expect((err as Error).message).not.toContain('Bonjour');
    }
    expect(() => sealReply(new Uint8Array(31), text)).toThrow(CryptoInputError);
    expect(() => sealReply(keyPair.publicKey, '')).toThrow(CryptoInputError);
  });

  it('refuses a salt of the wrong length', () => {
    expect(() => receiptKeyPair(receipt, new Uint8Array(8))).toThrow(
      /^receiptKeyPair: salt must be 16 bytes/,
    );
  });
});

describe('receiptLookupTag', () => {
  it('is stable across typings, differs per receipt and per master key', () => {
    const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const receipt = generateReceipt();
    const tag = receiptLookupTag(keys, receipt);
    expect(tag).toMatch(/^[0-9a-f]{64}$/);
    expect(receiptLookupTag(keys, receipt.toLowerCase().replace(/-/g, ''))).toBe(tag);
    expect(receiptLookupTag(keys, generateReceipt())).not.toBe(tag);
    expect(receiptLookupTag(deriveSubkeys(parseMasterKey(generateMasterKey())), receipt)).not.toBe(tag);
  });
});

describe('receiptLookupHash and receiptTagFromLookupHash (receipts made in the browser)', () => {
  it('hashes the normalised receipt without a key, and the server keys the hash per master key', () => {
    const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    const receipt = generateReceipt();
    const hash = receiptLookupHash(receipt);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(receiptLookupHash(receipt.toLowerCase().replace(/-/g, ' '))).toBe(hash);
    expect(hash).not.toContain(receipt.replace(/-/g, ''));
    const tag = receiptTagFromLookupHash(keys, hash);
    expect(tag).toMatch(/^[0-9a-f]{64}$/);
    expect(tag).not.toBe(hash);
    expect(tag).not.toBe(receiptLookupTag(keys, receipt));
    expect(receiptTagFromLookupHash(deriveSubkeys(parseMasterKey(generateMasterKey())), hash)).not.toBe(tag);
  });

  it('refuses a lookup hash that is not 64 lower-case hex characters', () => {
    const keys = deriveSubkeys(parseMasterKey(generateMasterKey()));
    for (const bad of ['', 'ab', 'G'.repeat(64), 'A'.repeat(64), `${'0'.repeat(64)}0`]) {
      expect(() => receiptTagFromLookupHash(keys, bad)).toThrow(/^receiptTagFromLookupHash/);
    }
  });
});
