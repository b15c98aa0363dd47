/**
 * Before `initCrypto()` resolves, operations fail with a named error instead of libsodium's undefined
 * behaviour. Its own file: vitest gives each file a fresh module graph, so crypto is not initialised yet.
 */
import { describe, expect, it } from 'vitest';
import { CryptoNotReadyError, generateMasterKey, initCrypto } from '../../src/crypto/index.js';

describe('initCrypto', () => {
  it('is required before any operation, idempotent and shared between concurrent callers', async () => {
    expect(() => generateMasterKey()).toThrow(CryptoNotReadyError);
    expect(() => generateMasterKey()).toThrow(/^generateMasterKey: initCrypto\(\) must be awaited first$/);
    const first = initCrypto();
    expect(initCrypto()).toBe(first);
    await first;
    await initCrypto();
    expect(generateMasterKey()).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });
});
