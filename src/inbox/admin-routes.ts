/**
 * Administration (role 'admin'): invitations, accounts (create with keys made in the admin's browser,
 * disable, enable, role, reset the second factor), access grants re-sealed in the admin's browser, and the
 * audit trail (JSON or CSV export, head of the chain). The server never sees a passphrase, a private key or
 * a data key here either.
 *
 * An admin manages only the inboxes it is a member of (its own membership must pass its MAC: a row added
 * behind the service's back gives no power): it invites, creates and grants into those inboxes only, and
 * acts on an account (disable, enable, role, second factor) only when every inbox of that account is one
 * it manages. Anything else answers 403 `forbidden_inbox`. The audit trail stays whole for every admin.
 */
import type { FastifyInstance } from 'fastify';
import {
  CoordinatorError,
  createInvitation,
  enrolCoordinator,
  INVITATION_TTL_HOURS,
  invitationUrl,
} from '../coordinators/index.js';
import { decodeBytes, KEY_BYTES } from '../crypto/index.js';
import { keysAreTrusted, memberIsTrusted, memberMac } from '../intake/index.js';
import {
  addFollowUpKey,
  addInboxMember,
  addReportKey,
  appendAudit,
  deleteSessionsOf,
  findCoordinatorById,
  findCoordinatorByLogin,
  findInvitationById,
  inboxesOf,
  inboxFollowUpKeys,
  inboxReportKeys,
  listAudit,
  listCoordinators,
  listInvitations,
  membershipsOf,
  readAuditHead,
  resetTotp,
  revokeInvitation,
  setCoordinatorDisabled,
  setCoordinatorRole,
} from '../store/index.js';
import { AUTH_ERRORS, B64URL, ERROR, type InboxSession, refuse, sessionOf, UUID } from './context.js';

const ADMIN = { inboxAdmin: true } as const;
const ID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: UUID },
} as const;
const AUDIT_ACTIONS = [
  'login',
  'login_failed',
  'logout',
  'view',
  'transition',
  'assignment',
  'note',
  'reply',
  'followup',
  'export',
  'grant',
  'account_create',
  'account_disable',
  'account_enable',
  'totp_enable',
  'totp_reset',
  'passphrase_change',
  'signing_key',
  'role_change',
  'invite_create',
  'invite_accept',
  'invite_refused',
  'invite_revoke',
  'retention_purge',
];
const FORBIDDEN_INBOX = 'you do not manage this inbox (not a member of it)';
const ROLE = { type: 'string', enum: ['coordinator', 'admin'] } as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v);
  // Formula injection guard for spreadsheet software, then RFC 4180 quoting.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export async function adminRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const inboxIds = config.inboxes.map((i) => i.id);
  const ring = () => app.intake.pipeline.keyring;

  /** The inboxes this admin manages: its memberships whose MAC verifies. */
  async function managed(s: InboxSession): Promise<string[]> {
    return (await membershipsOf(db, s.coordinator.id))
      .filter((m) => memberIsTrusted(ring(), m, m.inbox_id))
      .map((m) => m.inbox_id);
  }

  /** Whether this admin may act on an account: every inbox of the account is one it manages. */
  async function managesAccount(s: InboxSession, coordinatorId: string): Promise<boolean> {
    const mine = await managed(s);
    return (await inboxesOf(db, coordinatorId)).every((i) => mine.includes(i));
  }

  app.get(
    '/admin/coordinators',
    {
      config: ADMIN,
      schema: {
        summary:
          'The accounts that share an inbox with this admin: role, inboxes, status, public key, and whether it may act on them',
        tags: ['inbox admin'],
        response: AUTH_ERRORS,
      },
    },
    async (request) => {
      const mine = await managed(sessionOf(request));
      return {
        managedInboxes: mine,
        items: (await listCoordinators(db))
          // Accounts that share an inbox with this admin, or have none left.
          .filter((c) => c.inboxes.length === 0 || c.inboxes.some((i) => mine.includes(i)))
          .map((c) => ({
            id: c.id,
            login: c.login,
            name: c.display_name,
            role: c.role,
            inboxes: c.inboxes,
            publicKey: c.public_key,
            disabled: Boolean(c.disabled_at),
            totpEnabled: Boolean(c.totp_enabled_at),
            manageable: c.inboxes.every((i) => mine.includes(i)),
          })),
      };
    },
  );

  app.post<{
    Body: {
      id: string;
      login: string;
      name: string;
      role: 'coordinator' | 'admin';
      inbox: string;
      publicKey: string;
      wrappedPrivateKey: string;
      salt: string;
      loginKey: string;
      signingPublicKey?: string;
    };
  }>(
    '/admin/coordinators',
    {
      config: { ...ADMIN, sensitive: true },
      schema: {
        summary: 'Create an account; its key pair and wrapped private key were made in the admin’s browser',
        tags: ['inbox admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: [
            'id',
            'login',
            'name',
            'role',
            'inbox',
            'publicKey',
            'wrappedPrivateKey',
            'salt',
            'loginKey',
          ],
          properties: {
            id: UUID,
            login: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{1,63}$' },
            name: { type: 'string', minLength: 1, maxLength: 120 },
            role: { type: 'string', enum: ['coordinator', 'admin'] },
            inbox: { type: 'string', enum: inboxIds },
            publicKey: B64URL(43, 43),
            wrappedPrivateKey: B64URL(40, 200),
            salt: B64URL(22, 22),
            loginKey: B64URL(43, 43),
            // Derived in the admin's browser from the new private key; without it the account registers
            // it at its first login.
            signingPublicKey: B64URL(43, 43),
          },
        },
        response: { ...AUTH_ERRORS, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const b = request.body;
      if (!(await managed(s)).includes(b.inbox))
        return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      if ((await findCoordinatorByLogin(db, b.login)) || (await findCoordinatorById(db, b.id))) {
        return refuse(reply, 409, 'exists', `login "${b.login}" or this id already exists`);
      }
      const loginKey = decodeBytes(b.loginKey, KEY_BYTES);
      try {
        await db.transaction(async (tx) => {
          await enrolCoordinator(tx, ring(), {
            id: b.id,
            login: b.login,
            name: b.name,
            role: b.role,
            inbox: b.inbox,
            publicKey: b.publicKey,
            wrappedPrivateKey: b.wrappedPrivateKey,
            salt: b.salt,
            loginKey,
            signingPublicKey: b.signingPublicKey ?? null,
          });
          await appendAudit(tx, {
            actorId: s.coordinator.id,
            action: 'account_create',
            targetId: b.id,
            detail: b.inbox,
          });
        });
      } finally {
        loginKey.fill(0);
      }
      return reply.code(201).send({ id: b.id });
    },
  );

  app.post<{ Body: { login: string; name: string; role: 'coordinator' | 'admin'; inbox: string } }>(
    '/admin/invitations',
    {
      config: ADMIN,
      schema: {
        summary: `Invite a coordinator: a one-time link, valid ${INVITATION_TTL_HOURS} h, where the invitee's browser makes the keys`,
        description:
          'The token is returned once (also inside `url`, in the fragment) and stored only as a keyed hash. ' +
          'The invitee opens the link, chooses a passphrase, and `POST /invitations/accept` creates the account ' +
          'in this inbox with this login, name and role.',
        tags: ['inbox admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['login', 'name', 'role', 'inbox'],
          properties: {
            login: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{1,63}$' },
            name: { type: 'string', minLength: 1, maxLength: 120 },
            role: ROLE,
            inbox: { type: 'string', enum: inboxIds },
          },
        },
        response: {
          201: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'token', 'url', 'expiresAt'],
            properties: {
              id: UUID,
              token: { type: 'string' },
              url: { type: 'string' },
              expiresAt: { type: 'string', format: 'date-time' },
            },
          },
          ...AUTH_ERRORS,
          409: ERROR,
        },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const b = request.body;
      if (!(await managed(s)).includes(b.inbox))
        return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      try {
        const inv = await createInvitation(
          db,
          ring(),
          { login: b.login, name: b.name, role: b.role, inbox: b.inbox, createdBy: s.coordinator.id },
          inboxIds,
        );
        // PUBLIC_URL when set (what invitees reach); otherwise the origin the admin is using.
        const base = config.publicUrl ?? `${request.protocol}://${request.host}`;
        return reply.code(201).send({
          id: inv.id,
          token: inv.token,
          url: invitationUrl(base, inv.token),
          expiresAt: inv.expiresAt.toISOString(),
        });
      } catch (err) {
        if (err instanceof CoordinatorError) return refuse(reply, 409, 'exists', err.message);
        throw err;
      }
    },
  );

  app.get(
    '/admin/invitations',
    {
      config: ADMIN,
      schema: {
        summary: 'Invitations to the inboxes this admin manages, newest first (never their tokens)',
        tags: ['inbox admin'],
        response: AUTH_ERRORS,
      },
    },
    async (request) => {
      const rows = await listInvitations(db, await managed(sessionOf(request)));
      return {
        items: rows.map((r) => ({
          id: r.id,
          login: r.login,
          name: r.display_name,
          role: r.role,
          inbox: r.inbox_id,
          createdAt: new Date(r.created_at).toISOString(),
          expiresAt: new Date(r.expires_at).toISOString(),
          status: r.used_at ? 'used' : r.revoked_at ? 'revoked' : r.expired ? 'expired' : 'open',
        })),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/admin/invitations/:id/revoke',
    {
      config: ADMIN,
      schema: {
        summary: 'Revoke an open invitation (its link stops working)',
        tags: ['inbox admin'],
        params: ID_PARAMS,
        response: { ...AUTH_ERRORS, 404: ERROR, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const inv = await findInvitationById(db, request.params.id);
      if (!inv) return refuse(reply, 404, 'not_found', 'no such invitation');
      if (!(await managed(s)).includes(inv.inbox_id))
        return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      const done = await db.transaction(async (tx) => {
        if (!(await revokeInvitation(tx, inv.id))) return false;
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'invite_revoke',
          detail: `${inv.inbox_id}:${inv.id}`,
        });
        return true;
      });
      if (!done) return refuse(reply, 409, 'closed', 'the invitation was already used or revoked');
      return { ok: true };
    },
  );

  for (const [path, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/admin/coordinators/:id/${path}`,
      {
        config: ADMIN,
        schema: {
          summary: disabled ? 'Disable an account (ends its sessions)' : 'Enable a disabled account',
          tags: ['inbox admin'],
          params: ID_PARAMS,
          response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR },
        },
      },
      async (request, reply) => {
        const s = sessionOf(request);
        if (disabled && request.params.id === s.coordinator.id) {
          return refuse(reply, 400, 'self', 'you cannot disable your own account');
        }
        if (!(await findCoordinatorById(db, request.params.id)))
          return refuse(reply, 404, 'not_found', 'no such account');
        if (!(await managesAccount(s, request.params.id)))
          return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
        const ok = await db.transaction(async (tx) => {
          if (!(await setCoordinatorDisabled(tx, request.params.id, disabled))) return false;
          if (disabled) await deleteSessionsOf(tx, request.params.id);
          await appendAudit(tx, {
            actorId: s.coordinator.id,
            action: disabled ? 'account_disable' : 'account_enable',
            targetId: request.params.id,
          });
          return true;
        });
        if (!ok) return refuse(reply, 404, 'not_found', 'no such account');
        return { ok: true };
      },
    );
  }

  app.post<{ Params: { id: string } }>(
    '/admin/coordinators/:id/totp/reset',
    {
      config: ADMIN,
      schema: {
        summary: 'Reset an account’s second factor (it enrols again at next login)',
        tags: ['inbox admin'],
        params: ID_PARAMS,
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!(await findCoordinatorById(db, request.params.id)))
        return refuse(reply, 404, 'not_found', 'no such account');
      if (!(await managesAccount(s, request.params.id)))
        return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      await db.transaction(async (tx) => {
        await resetTotp(tx, request.params.id);
        await deleteSessionsOf(tx, request.params.id);
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'totp_reset',
          targetId: request.params.id,
        });
      });
      return { ok: true };
    },
  );

  app.post<{ Params: { id: string }; Body: { role: 'coordinator' | 'admin' } }>(
    '/admin/coordinators/:id/role',
    {
      config: ADMIN,
      schema: {
        summary: 'Change an account’s role (its sessions end, so the new role applies at once)',
        tags: ['inbox admin'],
        params: ID_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: ROLE },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const { id } = request.params;
      if (id === s.coordinator.id) return refuse(reply, 400, 'self', 'you cannot change your own role');
      if (!(await findCoordinatorById(db, id))) return refuse(reply, 404, 'not_found', 'no such account');
      if (!(await managesAccount(s, id))) return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      await db.transaction(async (tx) => {
        await setCoordinatorRole(tx, id, request.body.role);
        await deleteSessionsOf(tx, id);
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'role_change',
          targetId: id,
          detail: request.body.role,
        });
      });
      return { ok: true };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/inboxes/:id/keys',
    {
      config: ADMIN,
      schema: {
        summary: 'The admin’s own sealed data keys of every report of an inbox (to re-seal for a grant)',
        tags: ['inbox admin'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', enum: inboxIds } },
        },
        response: AUTH_ERRORS,
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!(await managed(s)).includes(request.params.id)) {
        return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      }
      const rows = await inboxReportKeys(db, request.params.id, s.coordinator.id);
      const messages = await inboxFollowUpKeys(db, request.params.id, s.coordinator.id);
      return {
        items: rows.map((r) => ({ reportId: r.id, sealedKey: r.sealed_key })),
        // The person's follow-up messages: each has its own data key, re-sealed the same way.
        followUps: messages.map((m) => ({ followUpId: m.id, sealedKey: m.sealed_key })),
      };
    },
  );

  app.post<{
    Body: {
      coordinatorId: string;
      inbox: string;
      keys: { reportId: string; sealedKey: string }[];
      followUpKeys?: { followUpId: string; sealedKey: string }[];
    };
  }>(
    '/admin/grants',
    {
      config: ADMIN,
      schema: {
        summary: 'Grant an account an inbox, with the data keys re-sealed to it in the admin’s browser',
        tags: ['inbox admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['coordinatorId', 'inbox', 'keys'],
          properties: {
            coordinatorId: UUID,
            inbox: { type: 'string', enum: inboxIds },
            keys: {
              type: 'array',
              maxItems: 2000,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['reportId', 'sealedKey'],
                properties: { reportId: UUID, sealedKey: B64URL(60, 120) },
              },
            },
            followUpKeys: {
              type: 'array',
              maxItems: 5000,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['followUpId', 'sealedKey'],
                properties: { followUpId: UUID, sealedKey: B64URL(60, 120) },
              },
            },
          },
        },
        response: { ...AUTH_ERRORS, 400: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const { coordinatorId, inbox, keys } = request.body;
      const followUpKeys = request.body.followUpKeys ?? [];
      // Only into an inbox whose own membership verifies (a row added behind the service's back grants nothing).
      if (!(await managed(s)).includes(inbox)) return refuse(reply, 403, 'forbidden_inbox', FORBIDDEN_INBOX);
      const target = await findCoordinatorById(db, coordinatorId);
      if (!target || target.disabled_at)
        return refuse(reply, 400, 'no_account', 'body/coordinatorId: no active account');
      // The keys were re-sealed to the public key this server handed out: only one it vouches for.
      if (!keysAreTrusted(ring(), target))
        return refuse(
          reply,
          400,
          'keys_untrusted',
          'body/coordinatorId: the account’s keys fail the integrity check',
        );
      const inInbox = new Set((await inboxReportKeys(db, inbox, s.coordinator.id)).map((r) => r.id));
      const stray = keys.find((k) => !inInbox.has(k.reportId));
      if (stray) return refuse(reply, 400, 'bad_report', 'body/keys: a report is not in this inbox');
      const messagesInInbox = new Set(
        (await inboxFollowUpKeys(db, inbox, s.coordinator.id)).map((m) => m.id),
      );
      if (followUpKeys.some((k) => !messagesInInbox.has(k.followUpId))) {
        return refuse(reply, 400, 'bad_followup', 'body/followUpKeys: a message is not in this inbox');
      }
      await db.transaction(async (tx) => {
        await addInboxMember(
          tx,
          inbox,
          coordinatorId,
          memberMac(ring(), inbox, coordinatorId, target.public_key),
        );
        for (const k of keys) await addReportKey(tx, k.reportId, coordinatorId, k.sealedKey);
        for (const k of followUpKeys) await addFollowUpKey(tx, k.followUpId, coordinatorId, k.sealedKey);
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'grant',
          targetId: coordinatorId,
          detail: `${inbox}:${keys.length}`,
        });
      });
      return { ok: true, granted: keys.length };
    },
  );

  app.get(
    '/admin/audit/head',
    {
      config: ADMIN,
      schema: {
        summary: "Head of the audit chain: the last entry's hash and the number of entries",
        description:
          'The hash a coordinator writes down and later compares with `intake audit verify` (which checks the ' +
          'whole chain; this reads the head the database recorded with the last append).',
        tags: ['inbox admin'],
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['head', 'count'],
            properties: {
              head: {
                type: 'string',
                pattern: '^[0-9a-f]{64}$',
                description: 'SHA-256 of the last entry, hex',
              },
              count: { type: 'integer', minimum: 0, description: 'entries in the chain' },
            },
          },
          ...AUTH_ERRORS,
        },
      },
    },
    async () => readAuditHead(db),
  );

  app.get<{
    Querystring: {
      before?: string;
      limit?: number;
      action?: string;
      reference?: string;
      actorId?: string;
      from?: string;
      to?: string;
      format?: 'json' | 'csv';
    };
  }>(
    '/audit',
    {
      config: ADMIN,
      schema: {
        summary: 'The audit trail, newest first (JSON pages, or CSV export)',
        tags: ['inbox admin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            before: { type: 'string', pattern: '^[0-9]{1,18}$' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            action: { type: 'string', enum: AUDIT_ACTIONS },
            reference: { type: 'string', pattern: '^R-[0-9A-Z]{4,12}$' },
            actorId: UUID,
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
        },
        response: AUTH_ERRORS,
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const q = request.query;
      const csv = q.format === 'csv';
      const rows = await listAudit(db, {
        ...(q.before ? { beforeId: q.before } : {}),
        limit: csv ? 100_000 : (q.limit ?? 100),
        ...(q.action ? { action: q.action } : {}),
        ...(q.reference ? { reportReference: q.reference } : {}),
        ...(q.actorId ? { actorId: q.actorId } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
      });
      const items = rows.map((r) => ({
        id: r.id,
        at: new Date(r.at).toISOString(),
        actorId: r.actor_id,
        actorName: r.actor_name,
        action: r.action,
        reference: r.report_reference,
        targetId: r.target_id,
        detail: r.detail,
      }));
      if (csv) {
        await appendAudit(db, { actorId: s.coordinator.id, action: 'export', detail: 'audit_csv' });
        const header = ['id', 'at', 'actor_id', 'actor_name', 'action', 'reference', 'target_id', 'detail'];
        const lines = items.map((i) =>
          [i.id, i.at, i.actorId, i.actorName, i.action, i.reference, i.targetId, i.detail]
            .map(csvCell)
            .join(','),
        );
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="audit.csv"')
          .send(`${[header.join(','), ...lines].join('\r\n')}\r\n`);
      }
      const last = items[items.length - 1];
      return { items, nextBefore: items.length === (q.limit ?? 100) && last ? last.id : null };
    },
  );
}
