/**
 * Authentication: the Argon2 salt of a login (a stable fake one for unknown logins), login with the
 * passphrase-derived login key (the passphrase never travels) and an optional TOTP code, logout, the
 * caller's own second factor and passphrase change. Failures never reveal whether a login exists nor which
 * factor failed: same answer, same work. Failed attempts (and wrong current passphrases on a change) are
 * counted per (login, address) with a global brake per login (./throttle.ts), existing account or not.
 */
import type { FastifyInstance } from 'fastify';
import { loadCoordinatorSecrets, sealCoordinatorSecrets } from '../coordinators/index.js';
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
  deleteSession,
  deleteSessionsOf,
  enableTotp,
  findCoordinatorByLogin,
  inboxesOf,
  insertSession,
  setPendingTotp,
  setSessionRestricted,
  setSigningPublicKey,
  totpOf,
  updateCoordinatorSecrets,
  useTotpStep,
} from '../store/index.js';
import { AUTH_ERRORS, B64URL, ERROR, LOGIN, refuse, SESSION_COOKIE, sessionOf } from './context.js';
import { checkTotp, fakeSalt, newToken, newTotpSecret, normalizeLogin, tokenHash } from './security.js';

// A login-key hash no login key matches: verified against for unknown accounts, so both paths do the same work.
const NO_ACCOUNT_HASH = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
/** The one answer to every failed login, whatever failed. */
const FAILED_LOGIN_MESSAGE = 'wrong login, passphrase or code';
const LOCKED_MESSAGE = 'too many failed attempts from this address: wait a while before trying again';

const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'strict' } as const;

export async function authRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const { options, keys, throttle } = app.inbox;
  const keyring = () => app.intake.pipeline.keyring;
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
        description:
          'Every failure (unknown login, wrong passphrase, right passphrase without its code or with a wrong one) gets the same 401. An address that keeps failing for a login gets 429, without saying for how long.',
      },
    },
    async (request, reply) => {
      const login = normalizeLogin(request.body.login);
      if (await throttle.isLocked(login, request.ip)) {
        // No Retry-After: the remaining time would tell an attacker how the back-off grows.
        return refuse(reply, 429, 'locked', LOCKED_MESSAGE);
      }
      const c = await findCoordinatorByLogin(db, login);
      const active = c && !c.disabled_at ? c : undefined;
      const secrets = active ? await loadCoordinatorSecrets(db, keyring(), active.id) : undefined;
      if (active && !secrets) {
        request.log.warn('inbox login: stored coordinator secrets do not open (moved, altered, other key)');
      }
      const loginKey = decodeBytes(request.body.loginKey, KEY_BYTES);
      const keyOk = verifyLoginKey(loginKey, secrets ? secrets.loginKeyHash : NO_ACCOUNT_HASH) && !!secrets;
      loginKey.fill(0);
      // The second factor is looked up whatever the passphrase, and every failure below (wrong passphrase,
      // right passphrase without its code or with a wrong one) gets the same answer after the same work.
      const totp = active ? await totpOf(db, active.id) : undefined;
      const totpEnabled = Boolean(totp?.totp_enabled_at && totp.totp_sealed);
      let reason: string | undefined = keyOk ? undefined : 'invalid_credentials';
      if (totpEnabled) {
        const code = request.body.totp;
        const step = code ? checkTotp(keyring().all, totp!.totp_sealed!, code) : null;
        if (!code) reason ??= 'totp_missing';
        // A used step is consumed only behind the right passphrase: guesses cannot burn the owner's codes.
        else if (step === null || !(keyOk && (await useTotpStep(db, active!.id, step)))) {
          reason ??= 'totp_invalid';
        }
      }
      if (reason || !active || !secrets) {
        await throttle.recordFailure(login, request.ip);
        await appendAudit(db, {
          actorId: active?.id ?? null,
          action: 'login_failed',
          detail: reason ?? null,
        });
        request.log.info({ reason }, 'inbox login refused');
        return refuse(reply, 401, 'invalid_credentials', FAILED_LOGIN_MESSAGE);
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
      await throttle.recordSuccess(login, request.ip);
      await appendAudit(db, { actorId: active.id, action: 'login' });
      reply.setCookie(SESSION_COOKIE, token, COOKIE_OPTIONS);
      const inboxIds = await inboxesOf(db, active.id);
      return {
        csrfToken,
        idleMinutes: options.idleMinutes,
        sessionMaxHours: options.sessionMaxHours,
        totpEnrollmentRequired: restricted,
        coordinator: {
          id: active.id,
          login: active.login,
          name: active.display_name,
          role: active.role,
          publicKey: active.public_key,
          // Released (still wrapped by the passphrase) only now, after a good login; at rest it is sealed.
          wrappedPrivateKey: secrets.wrappedPrivateKey,
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
        response: { ...AUTH_ERRORS, 400: ERROR, 429: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const login = s.coordinator.login;
      // Same counters as the login: a stolen session cannot guess the passphrase here any faster.
      if (await throttle.isLocked(login, request.ip)) return refuse(reply, 429, 'locked', LOCKED_MESSAGE);
      const secrets = await loadCoordinatorSecrets(db, keyring(), s.coordinator.id);
      const current = decodeBytes(request.body.loginKey, KEY_BYTES);
      const ok = verifyLoginKey(current, secrets ? secrets.loginKeyHash : NO_ACCOUNT_HASH) && !!secrets;
      current.fill(0);
      if (!ok) {
        await throttle.recordFailure(login, request.ip);
        await appendAudit(db, {
          actorId: s.coordinator.id,
          action: 'login_failed',
          detail: 'passphrase_change',
        });
        return refuse(reply, 400, 'invalid_credentials', 'the current passphrase is wrong');
      }
      decodeBytes(request.body.newSalt, PWHASH_SALT_BYTES);
      const next = decodeBytes(request.body.newLoginKey, KEY_BYTES);
      await db.transaction(async (tx) => {
        await updateCoordinatorSecrets(tx, s.coordinator.id, {
          pwhash_salt: request.body.newSalt,
          ...sealCoordinatorSecrets(keyring().current, s.coordinator.id, {
            loginKeyHash: hashLoginKey(next),
            wrappedPrivateKey: request.body.wrappedPrivateKey,
          }),
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
      await throttle.recordSuccess(login, request.ip);
      reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
      return { ok: true, reloginRequired: true };
    },
  );
}
