// Nonces come from a buffer of CSPRNG output (src/crypto/sodium.ts, issue 16): each is fresh, none repeats
// across refills, and the bytes handed out are zeroed in the buffer.
import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto/index.js';
import { randomNonce } from '../../src/crypto/sodium.js';

describe('randomNonce', () => {
  beforeAll(async () => {
    await initCrypto();
  });

  it('gives distinct nonces of the asked length across several refills of its buffer', () => {
    const seen = new Set<string>();
    // 24-byte nonces: 170 per 4 KiB buffer, so this crosses about 12 refills.
    for (let i = 0; i < 2000; i++) {
      const n = randomNonce('test', 24);
      expect(n).toHaveLength(24);
      seen.add(Buffer.from(n).toString('hex'));
    }
    expect(seen.size).toBe(2000);
    // Not all zero (a zeroed buffer slot handed out again would be).
    expect([...seen].some((h) => /^0+$/.test(h))).toBe(false);
  });

  it('returns a copy: changing it does not touch later nonces; odd sizes fall back to randomBytes', () => {
    const a = randomNonce('test', 12);
    a.fill(7);
    const b = randomNonce('test', 12);
    expect(Buffer.from(b).equals(Buffer.alloc(12, 7))).toBe(false);
    expect(randomNonce('test', 100)).toHaveLength(100);
    expect(randomNonce('test', 0)).toHaveLength(0);
  });
});
