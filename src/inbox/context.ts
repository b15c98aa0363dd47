/**
 * What the inbox route plugins share: its options, the per-request session, the authentication and CSRF
 * hook, and small schema pieces. Routes are authenticated unless their config says `inboxPublic: true`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SafeError } from '../logger.js';
import { type CoordinatorRow, findCoordinatorById, inboxesOf, touchSession } from '../store/index.js';
import { type InboxKeys, tokenHash, tokenMatches } from './security.js';
import type { LoginThrottle, ThrottlePolicy } from './throttle.js';
import type { Workflow } from './workflow.js';

/** Cookie carrying the session token (`__Host-`: Secure, path /, no Domain). */
export const SESSION_COOKIE = '__Host-intake-inbox';
/** Header carrying the CSRF token on every state-changing call. */
export const CSRF_HEADER = 'x-csrf-token';

export interface InboxOptions extends ThrottlePolicy {
  /** Idle timeout of a session, in minutes (INBOX_IDLE_MINUTES, default 30). */
  idleMinutes: number;
  /** Absolute lifetime of a session however active, in hours (INBOX_SESSION_MAX_HOURS, default 12). */
  sessionMaxHours: number;
  /** TOTP mandatory for every account (INBOX_REQUIRE_TOTP=1). */
  requireTotp: boolean;
  /** Login attempts per IP per minute (INBOX_LOGIN_PER_MINUTE, default 20). */
  loginPerMinute: number;
  /** Folder of the built UI (dist-inbox/), served under /inbox/. */
  uiDir: string;
}

/** Reads the inbox options from the environment. Throws with the variable name (never its value). */
export function inboxOptions(env: NodeJS.ProcessEnv, uiDir: string): InboxOptions {
  const int = (name: string, def: number, min: number, max: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new SafeError(`environment ${name}: must be an integer between ${min} and ${max}`);
    }
    return Number(raw);
  };
  return {
    idleMinutes: int('INBOX_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionMaxHours: int('INBOX_SESSION_MAX_HOURS', 12, 1, 7 * 24),
    requireTotp: env.INBOX_REQUIRE_TOTP === '1',
    loginPerMinute: int('INBOX_LOGIN_PER_MINUTE', 20, 1, 10_000),
    freeFailures: 5,
    lockBaseSeconds: 30,
    lockMaxSeconds: 3600,
    globalFreeFailures: 20,
    globalBrakeSeconds: 60,
    uiDir,
  };
}

/** The authenticated caller. */
export interface InboxSession {
  tokenHash: string;
  coordinator: CoordinatorRow;
  inboxes: string[];
  restricted: boolean;
}

/** Services of the inbox API, decorated on its encapsulated instance as `inbox`. */
export interface InboxServices {
  options: InboxOptions;
  keys: InboxKeys;
  workflow: Workflow;
  /** Failed-login counters per (login, address) and the global brake per login. */
  throttle: LoginThrottle;
}

declare module 'fastify' {
  interface FastifyInstance {
    inbox: InboxServices;
  }
  interface FastifyRequest {
    inboxSession: InboxSession | null;
  }
  interface FastifyContextConfig {
    /** Inbox route reachable without a session (salt, login). */
    inboxPublic?: boolean;
    /** Inbox route reserved to role 'admin'. */
    inboxAdmin?: boolean;
    /** Inbox route reachable by a restricted session (second factor not enrolled yet). */
    inboxRestrictedOk?: boolean;
  }
}

/** A refusal with a stable code and a safe message. */
export function refuse(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).send({ error, message });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * onRequest hook: session from the cookie, idle timeout and absolute lifetime, CSRF on state-changing
 * methods, roles.
 */
export function authenticate(app: FastifyInstance) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const config = request.routeOptions.config;
    if (config.inboxPublic) return;
    const token = request.cookies[SESSION_COOKIE];
    if (!token || token.length > 128) {
      return refuse(reply, 401, 'unauthenticated', 'log in first');
    }
    const { db } = app.intake;
    const hash = tokenHash(token);
    const { idleMinutes, sessionMaxHours } = app.inbox.options;
    const row = await touchSession(db, hash, idleMinutes * 60, sessionMaxHours * 3600);
    const coordinator = row ? await findCoordinatorById(db, row.coordinator_id) : undefined;
    if (!row || !coordinator || coordinator.disabled_at) {
      reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'strict' });
      return refuse(reply, 401, 'unauthenticated', 'session expired or unknown: log in again');
    }
    if (!SAFE_METHODS.has(request.method)) {
      const csrf = request.headers[CSRF_HEADER];
      if (typeof csrf !== 'string' || csrf.length > 128 || !tokenMatches(csrf, row.csrf_hash)) {
        return refuse(reply, 403, 'csrf', `missing or wrong ${CSRF_HEADER} header`);
      }
    }
    if (row.restricted && !config.inboxRestrictedOk) {
      return refuse(reply, 403, 'totp_enrollment_required', 'set up the second factor first');
    }
    if (config.inboxAdmin && coordinator.role !== 'admin') {
      return refuse(reply, 403, 'forbidden', 'reserved to administrators');
    }
    request.inboxSession = {
      tokenHash: hash,
      coordinator,
      inboxes: await inboxesOf(db, coordinator.id),
      restricted: row.restricted,
    };
  };
}

/** The session of an authenticated route (the hook guarantees it). */
export function sessionOf(request: FastifyRequest): InboxSession {
  if (!request.inboxSession) throw new Error('inbox route without a session');
  return request.inboxSession;
}

// --- Schema pieces ---------------------------------------------------------------------------------------

export const B64URL = (min: number, max: number) =>
  ({ type: 'string', pattern: '^[A-Za-z0-9_-]+$', minLength: min, maxLength: max }) as const;
export const UUID = { type: 'string', format: 'uuid' } as const;
export const REFERENCE = { type: 'string', pattern: '^R-[0-9A-Z]{4,12}$' } as const;
export const LOGIN = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const ERROR = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;
export const REFERENCE_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['reference'],
  properties: { reference: REFERENCE },
} as const;
/** Common error responses of authenticated routes, for the OpenAPI document. */
export const AUTH_ERRORS = { 401: ERROR, 403: ERROR } as const;
