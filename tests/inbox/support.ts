/**
 * Helpers of the inbox tests: submitting a youth report through the real intake service, logging in as a
 * coordinator the way the browser does (salt, Argon2id in the client, login key), and authenticated calls.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import {
  coordinatorSigningKeyPair,
  decodeBytes,
  deriveLoginKeys,
  encodeBytes,
  generateCoordinatorKeyPair,
  initCrypto,
  newPwhashSalt,
  wrapPrivateKey,
} from '../../src/crypto/index.js';
import { SESSION_COOKIE } from '../../src/inbox/index.js';

const CAPS = { buttons: true, deleteMessages: true };

/** Free text the submitter types: it must never reach the server in clear from the coordinator side. */
export const SECRET_TEXT = 'Il a 22 ans et garde mon téléphone la nuit, quartier des Lilas';

type Action = { say: string } | { press: string } | { tick: string[] };

/** Walks the youth flow ("safe, about me, receipt") and submits it. Returns the reference and receipt. */
export async function submitYouthReport(
  app: FastifyInstance,
  o: { user: string; now?: number; text?: string; unsafe?: boolean; channel?: string },
): Promise<{ reference: string; receipt: string }> {
  const service = app.intake.pipeline.service;
  const channel = o.channel ?? 'cli';
  let now = o.now ?? Date.now();
  const run = async (turn: Record<string, unknown>) => {
    now += 1000;
    return service.handleTurn({
      channel,
      platformUserId: o.user,
      turn: { now, capabilities: CAPS, ...turn } as never,
    });
  };
  let out = await run({ kind: 'start', payload: 'jeune', locale: 'fr' });
  let stepId = '';
  const current = () => {
    for (const r of [...out.replies].reverse()) if (r.type === 'choices') return r.stepId;
    return stepId;
  };
  const actions: Action[] = [
    ...(o.unsafe ? [{ press: 'unsafe' }, { press: 'continue' }] : [{ press: 'safe' }]),
    { press: 'me' },
    { press: 'age_15_16' },
    { tick: ['exchange', 'partner'] },
    { say: o.text ?? SECRET_TEXT },
    { tick: ['talk'] },
    { press: 'receipt' },
    { press: 'no' },
    { press: '$confirm' },
  ];
  for (const a of actions) {
    stepId = current();
    if ('say' in a) out = await run({ kind: 'text', text: a.say, locale: 'fr' });
    else if ('press' in a) out = await run({ kind: 'choice', stepId, optionId: a.press });
    else {
      for (const id of a.tick) out = await run({ kind: 'choice', stepId, optionId: id });
      out = await run({ kind: 'choice', stepId, optionId: '$done' });
    }
  }
  const receipt = out.replies.find((r) => r.type === 'receipt');
  if (receipt?.type !== 'receipt' || !receipt.receipt) {
    throw new Error(
      `youth walk did not submit: ${JSON.stringify(out.replies.map((r) => r.type))} at ${current()}`,
    );
  }
  return { reference: receipt.reference, receipt: receipt.receipt };
}

/** /suivi <receipt> through the service: the text the submitter sees. */
export async function followUp(app: FastifyInstance, user: string, receipt: string): Promise<string> {
  const out = await app.intake.pipeline.service.handleTurn({
    channel: 'cli',
    platformUserId: user,
    turn: { kind: 'text', now: Date.now(), text: `/suivi ${receipt}`, locale: 'fr', capabilities: CAPS },
  });
  return out.replies.map((r) => ('text' in r ? r.text : '')).join('\n');
}

export interface Session {
  cookie: string;
  csrf: string;
  body: Record<string, unknown> & {
    coordinator: {
      id: string;
      publicKey: string;
      wrappedPrivateKey: string;
      role: string;
      signingPublicKey: string | null;
    };
  };
  wrapKey: Uint8Array;
}

/** The login key the browser would send for this passphrase. */
export async function loginKeyFor(app: FastifyInstance, login: string, passphrase: string) {
  await initCrypto();
  const salt = await app.inject({ method: 'POST', url: '/api/v1/auth/salt', payload: { login } });
  const keys = deriveLoginKeys(passphrase, decodeBytes(salt.json().salt));
  return { loginKey: encodeBytes(keys.loginKey), wrapKey: keys.wrapKey };
}

export async function login(
  app: FastifyInstance,
  loginName: string,
  passphrase: string,
  extra: { totp?: string } = {},
): Promise<Session> {
  const { loginKey, wrapKey } = await loginKeyFor(app, loginName, passphrase);
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { login: loginName, loginKey, ...extra },
  });
  if (res.statusCode !== 200) throw new Error(`login ${loginName}: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error('no session cookie');
  return { cookie: cookie.value, csrf: res.json().csrfToken, body: res.json(), wrapKey };
}

/** An authenticated call with the session cookie and the CSRF header. */
export function call(
  app: FastifyInstance,
  s: Session | undefined,
  method: 'GET' | 'POST',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    ...(s ? { cookies: { [SESSION_COOKIE]: s.cookie }, headers: { 'x-csrf-token': s.csrf } } : {}),
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
}

/**
 * What an invitee's (or an admin's) browser sends to create an account: a fresh key pair, the Argon2id
 * salt, the login key, the private key wrapped under the passphrase, the derived signing public key.
 * Returns the body and the key pair (to open reports later, as the browser would).
 */
export async function enrolmentMaterial(passphrase: string, id: string = randomUUID()) {
  await initCrypto();
  const kp = generateCoordinatorKeyPair();
  const salt = newPwhashSalt();
  const keys = deriveLoginKeys(passphrase, salt);
  const body = {
    id,
    publicKey: encodeBytes(kp.publicKey),
    wrappedPrivateKey: wrapPrivateKey(keys.wrapKey, kp.privateKey, id),
    salt: encodeBytes(salt),
    loginKey: encodeBytes(keys.loginKey),
    signingPublicKey: encodeBytes(coordinatorSigningKeyPair(kp.privateKey).publicKey),
  };
  return { body, keyPair: kp };
}
