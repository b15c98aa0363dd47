/**
 * "J'ai déjà un code": reading the replies to a receipt in the browser. Only the receipt's lookup hash is
 * sent (`POST /api/v1/public/replies`); the server answers with the report's receipt salt and the sealed
 * replies whose coordinator signature it verified. The receipt key pair is derived here, the replies are
 * opened here, and the private key is wiped right after. Nothing is kept.
 */
import {
  decodeBytes,
  initCrypto,
  normalizeReceipt,
  openReply,
  PWHASH_SALT_BYTES,
  receiptKeyPair,
  receiptLookupHash,
} from '../../../src/crypto/index.js';

export type ReadOutcome =
  | { ok: true; replies: { day: string; text: string }[] }
  | { ok: false; reason: 'invalid' | 'throttled' | 'unavailable' };

/** Looks the replies to `code` up and opens them; an empty list for an unknown code or no reply yet. */
export async function readReplies(code: string): Promise<ReadOutcome> {
  await initCrypto();
  let receipt: string;
  try {
    receipt = normalizeReceipt(code);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  let res: Response;
  try {
    res = await fetch('/api/v1/public/replies', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lookupHash: receiptLookupHash(receipt) }),
    });
  } catch {
    return { ok: false, reason: 'unavailable' };
  }
  if (res.status === 429) return { ok: false, reason: 'throttled' };
  if (!res.ok) return { ok: false, reason: 'unavailable' };
  let body: { salt?: string; replies?: { sealed: string; sentAt: string }[] };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    return { ok: false, reason: 'unavailable' };
  }
  const sealed = Array.isArray(body.replies) ? body.replies : [];
  if (!body.salt || sealed.length === 0) return { ok: true, replies: [] };
  let salt: Uint8Array;
  try {
    salt = decodeBytes(body.salt, PWHASH_SALT_BYTES);
  } catch {
    return { ok: false, reason: 'unavailable' };
  }
  const kp = receiptKeyPair(receipt, salt);
  const replies: { day: string; text: string }[] = [];
  for (const r of sealed) {
    try {
      replies.push({ day: r.sentAt, text: openReply(kp, r.sealed) });
    } catch {
      // A reply that does not open with this code is skipped, as /suivi does.
    }
  }
  kp.privateKey.fill(0);
  return { ok: true, replies };
}
