/** pad/unpad are written in TypeScript (issue 16): they must match libsodium's sodium_pad/sodium_unpad. */
import sodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';
import { initCrypto } from '../../src/crypto/index.js';
import { pad, unpad } from '../../src/crypto/sodium.js';

describe('ISO/IEC 7816-4 padding, as libsodium does it', () => {
  beforeAll(async () => {
    await initCrypto();
    await sodium.ready;
  });

  it('pads byte for byte like sodium_pad and removes it like sodium_unpad', () => {
    for (const block of [1, 16, 64, 100, 256]) {
      for (const length of [0, 1, 15, 16, 17, 63, 64, 99, 255, 256, 257, 700]) {
        const message = new Uint8Array(length).map((_, i) => (i * 7 + length) % 251);
        const ours = pad('test', message, block);
        expect(ours).toEqual(sodium.pad(message, block));
        expect(unpad('test', ours, block)).toEqual(message);
        expect(sodium.unpad(ours, block)).toEqual(message);
      }
    }
  });

  it('refuses what sodium_unpad refuses: no marker, a non-zero byte after it, a marker out of the last block', () => {
    const noMarker = new Uint8Array(16);
    const dirty = pad('test', new Uint8Array([1, 2, 3]), 16);
    dirty[15] = 1;
    const early = new Uint8Array(32);
    early[3] = 0x80;
    for (const bad of [noMarker, dirty, early, new Uint8Array(8)]) {
      expect(unpad('test', bad, 16)).toBeNull();
      expect(() => sodium.unpad(bad, 16)).toThrow();
    }
  });
});
