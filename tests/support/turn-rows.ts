/** Small values for the store's turn tests (tests/store/turn*.test.ts, outbox-races). */

export const bytes = (s: string) => new TextEncoder().encode(s);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A conversation row to save, on Telegram, expiring `ms` from now. */
export const row = (userHash: string, state: string, ms = 60_000) => ({
  userHash,
  channel: 'telegram',
  state: bytes(state),
  keyFingerprint: 'fp',
  expiresAt: new Date(Date.now() + ms),
});
