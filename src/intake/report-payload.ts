/**
 * What a submitted report is made of before sealing, shared by the pipeline (chats) and the web page (which
 * seals in the browser): the payload's shape and the secret receipt with its reply key pair. Browser-safe:
 * no Node import, so "sealed exactly as the pipeline does" holds by construction.
 */
import {
  encodeBytes,
  generateReceipt,
  newPwhashSalt,
  receiptKeyPair,
  receiptLookupHash,
} from '../crypto/index.js';
import type { Effect, Urgency } from '../engine/index.js';

type SubmitEffect = Extract<Effect, { type: 'submit' }>;

/** The sealed payload of a report (envelope v1): what coordinators open. */
export function reportPayload(
  effect: SubmitEffect,
  meta: { reference: string; channel: string; urgency: Urgency; submittedAt: Date },
) {
  return {
    v: 1,
    reference: meta.reference,
    flow: { id: effect.flowId, version: effect.flowVersion },
    kind: effect.kind,
    lang: effect.lang,
    channel: meta.channel,
    urgency: meta.urgency,
    submittedAt: meta.submittedAt.toISOString(),
    answers: effect.answers,
  };
}

/** A new secret receipt and what may leave its holder: its lookup hash, the salt and the reply public key. */
export interface IssuedReceipt {
  receipt: string;
  lookupHash: string;
  salt: string;
  publicKey: string;
}

/** Makes a receipt and its reply key pair; the private key is wiped (derived again when replies are read). */
export function issueReceipt(): IssuedReceipt {
  const receipt = generateReceipt();
  const salt = newPwhashSalt();
  const kp = receiptKeyPair(receipt, salt);
  const issued = {
    receipt,
    lookupHash: receiptLookupHash(receipt),
    salt: encodeBytes(salt),
    publicKey: encodeBytes(kp.publicKey),
  };
  kp.privateKey.fill(0);
  return issued;
}
