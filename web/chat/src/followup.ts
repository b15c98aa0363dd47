/**
 * "J'ai déjà un code": reading the replies to a receipt in the browser, and answering them. Only the
 * receipt's lookup hash is sent (`POST /api/v1/public/replies`); the server answers with the report's
 * receipt salt, the sealed replies whose coordinator signature it verified, and where an answer is sealed
 * (`to`: a report id and the current keys of its inbox; for an unknown code a decoy of the same shape). The
 * receipt key pair is derived here, the replies are opened here, and the private key is wiped right after.
 * An answer is sealed here (`sealFollowUp`, the report envelope) and sent with the lookup hash
 * (`POST /api/v1/public/followups`): never the code, never the text. Nothing is kept but in memory.
 */
import {
  decodeBytes,
  initCrypto,
  normalizeReceipt,
  openReply,
  PWHASH_SALT_BYTES,
  receiptKeyPair,
  receiptLookupHash,
  sealFollowUp,
} from '../../../src/crypto/index.js';
import { newId } from './seal.js';

/** Where an answer to the replies is sealed, as POST /replies gave it. */
interface AnswerTarget {
  reportId: string;
  recipients: { coordinatorId: string; publicKey: string }[];
  recipientsTag: string;
}

/**
 * What the page keeps, in memory, to answer after reading: the lookup hash (not the code) and the target.
 * The same for a known and an unknown code: an answer with a mistyped code is accepted and discarded.
 */
export interface AnswerHandle {
  lookupHash: string;
  to: AnswerTarget;
}

export type ReadOutcome =
  | { ok: true; replies: { day: string; text: string }[]; answer?: AnswerHandle }
  | { ok: false; reason: 'invalid' | 'throttled' | 'unavailable' };

/** The longest answer the page sends (characters). */
export const ANSWER_MAX_CHARS = 4000;

function targetOf(value: unknown): AnswerTarget | undefined {
  const to = value as Partial<AnswerTarget> | undefined;
  if (!to || typeof to.reportId !== 'string' || typeof to.recipientsTag !== 'string') return undefined;
  if (!Array.isArray(to.recipients) || to.recipients.length === 0) return undefined;
  return { reportId: to.reportId, recipients: to.recipients, recipientsTag: to.recipientsTag };
}

/** Looks the replies to `code` up and opens them; an empty list for an unknown code or no reply yet. */
export async function readReplies(code: string): Promise<ReadOutcome> {
  await initCrypto();
  let receipt: string;
  try {
    receipt = normalizeReceipt(code);
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  const lookupHash = receiptLookupHash(receipt);
  let res: Response;
  try {
    res = await fetch('/api/v1/public/replies', {
      method: 'POST',
      cache: 'no-store',
      credentials: 'omit',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lookupHash }),
    });
  } catch {
    return { ok: false, reason: 'unavailable' };
  }
  if (res.status === 429) return { ok: false, reason: 'throttled' };
  if (!res.ok) return { ok: false, reason: 'unavailable' };
  let body: { salt?: string; replies?: { sealed: string; sentAt: string }[]; to?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    return { ok: false, reason: 'unavailable' };
  }
  const to = targetOf(body.to);
  const answer = to ? { answer: { lookupHash, to } } : {};
  const sealed = Array.isArray(body.replies) ? body.replies : [];
  if (!body.salt || sealed.length === 0) return { ok: true, replies: [], ...answer };
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
  return { ok: true, replies, ...answer };
}

export type AnswerOutcome = { ok: true } | { ok: false; reason: 'throttled' | 'unavailable' };

/**
 * Seals `text` in this page to the handle's target (a fresh message id, bound with the report id in the
 * associated data) and sends it with the lookup hash. When the inbox's recipients changed meanwhile (409),
 * seals again to the fresh keys the server gives and retries.
 */
export async function sendAnswer(handle: AnswerHandle, text: string): Promise<AnswerOutcome> {
  await initCrypto();
  let to = handle.to;
  for (let attempt = 0; attempt < 3; attempt++) {
    const messageId = newId();
    const envelope = sealFollowUp({
      reportId: to.reportId,
      messageId,
      payload: { text },
      recipients: to.recipients,
    });
    let res: Response;
    try {
      res = await fetch('/api/v1/public/followups', {
        method: 'POST',
        cache: 'no-store',
        credentials: 'omit',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          lookupHash: handle.lookupHash,
          reportId: to.reportId,
          messageId,
          recipientsTag: to.recipientsTag,
          envelope,
        }),
      });
    } catch {
      return { ok: false, reason: 'unavailable' };
    }
    if (res.status === 201) {
      handle.to = to;
      return { ok: true };
    }
    if (res.status === 429) return { ok: false, reason: 'throttled' };
    if (res.status !== 409) return { ok: false, reason: 'unavailable' };
    let body: { error?: string; to?: unknown } | undefined;
    try {
      body = (await res.json()) as typeof body;
    } catch {
      body = undefined;
    }
    const fresh = body?.error === 'stale_recipients' ? targetOf(body.to) : undefined;
    if (!fresh) return { ok: false, reason: 'unavailable' };
    to = fresh;
  }
  return { ok: false, reason: 'unavailable' };
}
