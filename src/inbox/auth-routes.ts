/**
 * Authentication: the Argon2 salt of a login (a stable fake one for unknown logins), login with the
 * passphrase-derived login key (the passphrase never travels) and an optional TOTP code, logout, the
 * caller's own second factor and passphrase change. Failures never reveal whether a login exists: same
 * answer, same work, and failed attempts are counted per login name whether or not the account exists.
 */
import type { FastifyInstance } from 'fastify';
import {
  decodeBytes,
  hashLoginKey,
  KEY_BYTES,
  PWHASH_SALT_BYTES,
  SIGN_PUBLIC_KEY_BYTES,
  verifyLoginKey,
} from '../crypto/index.js';
import { keysAreTrusted, keysMac } from '../intake/index.js';
import {
  appendAudit,
  clearLoginFailures,
  deleteSession,
  deleteSessionsOf,
  enableTotp,
  findCoordinatorByLogin,
  inboxesOf,
  insertSession,
  loginLockedUntil,
  recordLoginFailure,
  setPendingTotp,
  setSessionRestricted,
  setSigningPublicKey,
  totpOf,
  updateCoordinatorSecrets,
  useTotpStep,
} from '../store/index.js';
import { AUTH_ERRORS, B64URL, ERROR, LOGIN, refuse, SESSION_COOKIE, sessionOf } from './context.js';
import {
  checkTotp,
  fakeSalt,
  newToken,
  newTotpSecret,
  normalizeLogin,
  throttleKey,
  tokenHash,
} from './security.js';

// A login-key hash no login key matches: verified against for unknown accounts, so both paths do the same work.
const NO_ACCOUNT_HASH = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;

export async function authRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const { options, keys } = app.inbox;
  const loginLimit = { max: options.loginPerMinute, timeWindow: 60_000 };

  app.post<{ Body: { login: string } }>(
    '/auth/salt',
    {
      config: { inboxPublic: true, rateLimit: { max: options.loginPerMinute * 3, timeWindow: 60_000 } },
      schema: {
        summary: 'The Argon2id salt of a login (stable and indistinguishable for unknown logins)',
        tags: ['inbox auth'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['login'],
          properties: { login: LOGIN },
        },
        response: { 200: { type: 'object', properties: { salt: { type: 'string' } } } },
      },
    },
    async (request) => {
      const login = normalizeLogin(request.body.login);
      const c = await findCoordinatorByLogin(db, login);
      return { salt: c && !c.disabled_at ? c.pwhash_salt : fakeSalt(keys, login) };
    },
  );

  app.post<{ Body: { login: string; loginKey: string; totp?: string } }>(
    '/auth/login',
    {
      config: { inboxPublic: true, sensitive: true, rateLimit: loginLimit },
      schema: {
        summary: 'Log in with the login key derived in the browser (and a TOTP code when enabled)',
        tags: ['inbox auth'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['login', 'loginKey'],
          properties: {
            login: LOGIN,
            loginKey: B64URL(43, 43),
            totp: { type: 'string', pattern: '^[0-9]{6}$' },
          },
        },
        response: { 401: ERROR, 429: ERROR },
      },
    },
    async (request, reply) => {
      const login = normalizeLogin(request.body.login);
      const throttle = throttleKey(keys, login);
      const locked = await loginLockedUntil(db, throttle);
      if (locked) {
        const seconds = Math.max(1, Math.ceil((locked.getTime() - Date.now()) / 1000));
        reply.header('retry-after', String(seconds));
        return refuse(reply, 429, 'locked', 'too many failed attempts: wait before trying again');
      }
      const c = await findCoordinatorByLogin(db, login);
      const loginKey = decodeBytes(request.body.loginKey, KEY_BYTES);
      const active = c && !c.disabled_at ? c : undefined;
      const keyOk = verifyLoginKey(loginKey, active ? active.login_key_hash : NO_ACCOUNT_HASH) && !!active;
      loginKey.fill(0);
      const fail = async (error: string, message: string) => {
        await recordLoginFailure(db, throttle, {
          freeFailures: options.freeFailures,
          baseSeconds: options.lockBaseSeconds,
          maxSeconds: options.lockMaxSeconds,
        });
        await appendAudit(db, { actorId: active?.id ?? null, action: 'login_failed', detail: error });
        request.log.info({ reason: error }, 'inbox login refused');
        return refuse(reply, 401, error, message);
      };
      if (!keyOk || !active) return fail('invalid_credentials', 'wrong login or passphrase');
      const totp = await totpOf(db, active.id);
      const totpEnabled = Boolean(totp?.totp_enabled_at && totp.totp_sealed);
      if (totpEnabled) {
        if (!request.body.totp) {
          return refuse(reply, 401, 'totp_required', 'enter the code of your authenticator app');
        }
        const step = checkTotp(app.intake.pipeline.keyring.all, totp!.totp_sealed!, request.body.totp);
        if (step === null || !(await useTotpStep(db, active.id, step))) {
          return fail('totp_invalid', 'wrong or already used code');
        }
      }
      const restricted = options.requireTotp && !totpEnabled;
      const token = newToken();
      const csrfToken = newToken();
      await insertSession(db, {
        tokenHash: tokenHash(token),
        coordinatorId: active.id,
        csrfHash: tokenHash(csrfToken),
        restricted,
      });
      await clearLoginFailures(db, throttle);
      await appendAudit(db, { actorId: active.id, action: 'login' });
      reply.setCookie(SESSION_COOKIE, token, COOKIE_OPTIONS);
      const inboxIds = await inboxesOf(db, active.id);
      return {
        csrfToken,
        idleMinutes: options.idleMinutes,
        totpEnrollmentRequired: restricted,
        coordinator: {
          id: active.id,
          login: active.login,
          name: active.display_name,
          role: active.role,
          publicKey: active.public_key,
          wrappedPrivateKey: active.wrapped_private_key,
          // Null until registered: the browser then derives it and calls /account/signing-key.
          signingPublicKey: active.signing_public_key,
          totpEnabled,
        },
        inboxes: config.inboxes.filter((i) => inboxIds.includes(i.id)),
      };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { inboxRestrictedOk: true },
      schema: {
        summary: 'Log out (ends the session)',
        tags: ['inbox auth'],
        response: AUTH_ERRORS,
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      await deleteSession(db, s.tokenHash);
      await appendAudit(db, { actorId: s.coordinator.id, action: 'logout' });
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
      return { ok: true };
    },
  );

  app.post(
    '/account/totp/setup',
    {
      config: { inboxRestrictedOk: true },
      schema: {
        summary: 'Start enrolling a TOTP second factor: a new secret and its otpauth:// URI',
        tags: ['inbox account'],
        response: { ...AUTH_ERRORS, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const current = await totpOf(db, s.coordinator.id);
      if (current?.totp_enabled_at) {
        return refuse(
          reply,
          409,
          'totp_enabled',
          'a second factor is already enabled: ask an admin to reset it',
        );
      }
      const t = newTotpSecret(app.intake.pipeline.keyring.current, s.coordinator.login);
      await setPendingTotp(db, s.coordinator.id, t.sealed);
      return { secret: t.secret, uri: t.uri };
    },
  );

  app.post<{ Body: { code: string } }>(
    '/account/totp/enable',
    {
      config: { inboxRestrictedOk: true, rateLimit: loginLimit },
      schema: {
        summary: 'Finish enrolling the second factor with a current code',
        tags: ['inbox account'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['code'],
          properties: { code: { type: 'string', pattern: '^[0-9]{6}$' } },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const current = await totpOf(db, s.coordinator.id);
      if (!current?.totp_sealed)
        return refuse(reply, 409, 'no_pending_totp', 'call /account/totp/setup first');
      if (current.totp_enabled_at) return refuse(reply, 409, 'totp_enabled', 'already enabled');
      const step = checkTotp(app.intake.pipeline.keyring.all, current.totp_sealed, request.body.code);
      if (step === null)
        return refuse(reply, 400, 'totp_invalid', 'wrong code: check the clock of the phone');
      await enableTotp(db, s.coordinator.id, step);
      await setSessionRestricted(db, s.tokenHash, false);
      await appendAudit(db, { actorId: s.coordinator.id, action: 'totp_enable', targetId: s.coordinator.id });
      return { ok: true };
    },
  );

  app.post<{ Body: { signingPublicKey: string } }>(
    '/account/signing-key',
    {
      schema: {
        summary:
          'Register the Ed25519 key the browser derived from the private key (once, for accounts older than signatures)',
        tags: ['inbox account'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['signingPublicKey'],
          properties: { signingPublicKey: B64URL(43, 43) },
        },
        response: { ...AUTH_ERRORS, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const c = s.coordinator;
      if (c.signing_public_key)
        return refuse(reply, 409, 'already_registered', 'a signing key is already set');
      // Only for keys the service vouches for: an account whose X25519 key was changed behind its back gets
      // no signing key either (see docs/SECURITY.md for what remains).
      if (!keysAreTrusted(app.intake.pipeline.keyring, c)) {
        return refuse(reply, 409, 'keys_untrusted', 'this account’s keys fail the integrity check');
      }
      const key = request.body.signingPublicKey;
      decodeBytes(key, SIGN_PUBLIC_KEY_BYTES);
      const done = await db.transaction(async (tx) => {
        const ok = await setSigningPublicKey(
          tx,
          c.id,
          key,
          keysMac(app.intake.pipeline.keyring, c.id, c.public_key, key),
        );
        if (ok) await appendAudit(tx, { actorId: c.id, action: 'signing_key', targetId: c.id });
        return ok;
      });
      if (!done) return refuse(reply, 409, 'already_registered', 'a signing key is already set');
      return { ok: true };
    },
  );

  app.post<{ Body: { loginKey: string; newSalt: string; newLoginKey: string; wrappedPrivateKey: string } }>(
    '/account/passphrase',
    {
      config: { sensitive: true, rateLimit: loginLimit },
      schema: {
        summary: 'Change the passphrase: the browser re-wraps the private key under the new one',
        tags: ['inbox account'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['loginKey', 'newSalt', 'newLoginKey', 'wrappedPrivateKey'],
          properties: {
            loginKey: B64URL(43, 43),
            newSalt: B64URL(22, 22),
            newLoginKey: B64URL(43, 43),
            wrappedPrivateKey: B64URL(40, 200),
          },
        },
        response: { ...AUTH_ERRORS, 400: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const current = decodeBytes(request.body.loginKey, KEY_BYTES);
      const ok = verifyLoginKey(current, s.coordinator.login_key_hash);
      current.fill(0);
      if (!ok) return refuse(reply, 400, 'invalid_credentials', 'the current passphrase is wrong');
      decodeBytes(request.body.newSalt, PWHASH_SALT_BYTES);
      const next = decodeBytes(request.body.newLoginKey, KEY_BYTES);
      await db.transaction(async (tx) => {
        await updateCoordinatorSecrets(tx, s.coordinator.id, {
          pwhash_salt: request.body.newSalt,
          login_key_hash: hashLoginKey(next),
          wrapped_private_key: request.body.wrappedPrivateKey,
        });
        // Every session of this account ends: the browser logs in again with the new passphrase.
        await deleteSessionsOf(tx, s.coordinator.id);
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'passphrase_change',
          targetId: s.coordinator.id,
        });
      });
      next.fill(0);
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
      return { ok: true, reloginRequired: true };
    },
  );
}
