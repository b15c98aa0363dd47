/**
 * Sealing a report in the browser, exactly as the server's pipeline does for a chat (src/intake/service.ts
 * `submit`): the same routing rules, the same payload shape, `sealReport` with the report id as associated
 * data, to the inbox's trusted recipients. The receipt and its reply key pair are made here; only the
 * receipt's lookup hash and the reply public key leave the page. Everything stays in memory.
 */
import { initCrypto, sealReport } from '../../../src/crypto/index.js';
import type { Effect } from '../../../src/engine/index.js';
import { issueReceipt, reportPayload } from '../../../src/intake/report-payload.js';
import { route } from '../../../src/intake/routing.js';
import type { PublicConfig } from './api.js';

type SubmitEffect = Extract<Effect, { type: 'submit' }>;

interface Recipients {
  inbox: string;
  recipients: { coordinatorId: string; publicKey: string }[];
  recipientsTag: string;
}

export type SealOutcome =
  | { ok: true; reference: string; receipt?: string }
  | { ok: false; reason: 'no_recipient' | 'unavailable' };

const REFERENCE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A short public case reference (`R-7KQ2MX`), without modulo bias. */
function newReference(): string {
  let s = 'R-';
  while (s.length < 8) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    for (const b of bytes) {
      // 240 = 8 × 30: bytes above it would favour the first symbols.
      if (b < 240 && s.length < 8) s += REFERENCE_ALPHABET[b % 30];
    }
  }
  return s;
}

/** A random UUID v4 (crypto.randomUUID needs a secure context; this works everywhere). */
export function newId(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

async function json(res: Response): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}

/** Routes, seals and sends a report; retries with fresh keys when the inbox's recipients changed. */
export async function sealAndSend(effect: SubmitEffect, config: PublicConfig): Promise<SealOutcome> {
  await initCrypto();
  const decision = route(config.routing.rules, {
    flowId: effect.flowId,
    kind: effect.kind,
    urgency: effect.urgency,
    attributes: effect.routing,
  });
  if (!decision) return { ok: false, reason: 'no_recipient' };
  const keysRes = await fetch(`/api/v1/public/inboxes/${encodeURIComponent(decision.inbox)}/recipients`, {
    cache: 'no-store',
  });
  if (keysRes.status === 503) return { ok: false, reason: 'no_recipient' };
  if (!keysRes.ok) return { ok: false, reason: 'unavailable' };
  let keys = (await json(keysRes)) as Recipients;

  // The reply private key is derived again from the receipt when replies are read; never kept.
  const issued = effect.receipt ? issueReceipt() : undefined;
  const receipt = issued?.receipt;
  const receiptFields = issued && {
    lookupHash: issued.lookupHash,
    salt: issued.salt,
    publicKey: issued.publicKey,
  };

  for (let attempt = 0; attempt < 4; attempt++) {
    const id = newId();
    const reference = newReference();
    const payload = reportPayload(effect, {
      reference,
      channel: 'web',
      urgency: decision.urgency,
      submittedAt: new Date(),
    });
    const envelope = sealReport({ reportId: id, payload, recipients: keys.recipients });
    const res = await fetch('/api/v1/public/reports', {
      method: 'POST',
      cache: 'no-store',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        reference,
        inbox: decision.inbox,
        kind: effect.kind,
        urgency: decision.urgency,
        flow: { id: effect.flowId, version: effect.flowVersion },
        recipientsTag: keys.recipientsTag,
        envelope,
        ...(receiptFields ? { receipt: receiptFields } : {}),
      }),
    });
    if (res.status === 201) return { ok: true, reference, ...(receipt ? { receipt } : {}) };
    const body = (await json(res)) as { error?: string } & Partial<Recipients>;
    if (res.status === 409 && body?.error === 'stale_recipients' && body.recipients && body.recipientsTag) {
      // A member joined or left, or changed keys, since the keys were fetched: seal again to the current set.
      keys = { inbox: decision.inbox, recipients: body.recipients, recipientsTag: body.recipientsTag };
      continue;
    }
    if (res.status === 409 && body?.error === 'reference_taken') continue;
    if (res.status === 503 && body?.error === 'no_recipient') return { ok: false, reason: 'no_recipient' };
    return { ok: false, reason: 'unavailable' };
  }
  return { ok: false, reason: 'unavailable' };
}
