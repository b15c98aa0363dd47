/**
 * Administration (role 'admin'): accounts (create with keys made in the admin's browser, disable, enable,
 * reset the second factor), access grants re-sealed in the admin's browser, and the audit trail (JSON or
 * CSV export). The server never sees a passphrase, a private key or a data key here either.
 */
import type { FastifyInstance } from 'fastify';
import { sealCoordinatorSecrets } from '../coordinators/index.js';
import {
  decodeBytes,
  hashLoginKey,
  KEY_BYTES,
  PUBLIC_KEY_BYTES,
  PWHASH_SALT_BYTES,
  SIGN_PUBLIC_KEY_BYTES,
} from '../crypto/index.js';
import { keysAreTrusted, keysMac, memberIsTrusted, memberMac } from '../intake/index.js';
import {
  activeMemberships,
  addInboxMember,
  addReportKey,
  appendAudit,
  deleteSessionsOf,
  findCoordinatorById,
  findCoordinatorByLogin,
  inboxReportKeys,
  insertCoordinator,
  listAudit,
  listCoordinators,
  readAuditHead,
  resetTotp,
  setCoordinatorDisabled,
} from '../store/index.js';
import { AUTH_ERRORS, B64URL, ERROR, refuse, sessionOf, UUID } from './context.js';

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
  'export',
  'grant',
  'account_create',
  'account_disable',
  'account_enable',
  'totp_enable',
  'totp_reset',
  'passphrase_change',
  'signing_key',
  'retention_purge',
];

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v);
  // Formula injection guard for spreadsheet software, then RFC 4180 quoting.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export async function adminRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const inboxIds = config.inboxes.map((i) => i.id);

  app.get(
    '/admin/coordinators',
    {
      config: ADMIN,
      schema: {
        summary: 'Every account with its role, inboxes and status',
        tags: ['inbox admin'],
        response: AUTH_ERRORS,
      },
    },
    async () => ({
      items: (await listCoordinators(db)).map((c) => ({
        id: c.id,
        login: c.login,
        name: c.display_name,
        role: c.role,
        inboxes: c.inboxes,
        disabled: Boolean(c.disabled_at),
        totpEnabled: Boolean(c.totp_enabled_at),
      })),
    }),
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
      if ((await findCoordinatorByLogin(db, b.login)) || (await findCoordinatorById(db, b.id))) {
        return refuse(reply, 409, 'exists', `login "${b.login}" or this id already exists`);
      }
      decodeBytes(b.publicKey, PUBLIC_KEY_BYTES);
      decodeBytes(b.salt, PWHASH_SALT_BYTES);
      if (b.signingPublicKey) decodeBytes(b.signingPublicKey, SIGN_PUBLIC_KEY_BYTES);
      const ring = app.intake.pipeline.keyring;
      const signingPublicKey = b.signingPublicKey ?? null;
      const loginKey = decodeBytes(b.loginKey, KEY_BYTES);
      const loginKeyHash = hashLoginKey(loginKey);
      loginKey.fill(0);
      await db.transaction(async (tx) => {
        await insertCoordinator(tx, {
          id: b.id,
          login: b.login,
          display_name: b.name.trim(),
          role: b.role,
          public_key: b.publicKey,
          pwhash_salt: b.salt,
          ...sealCoordinatorSecrets(ring.current, b.id, {
            loginKeyHash,
            wrappedPrivateKey: b.wrappedPrivateKey,
          }),
          signing_public_key: signingPublicKey,
          keys_mac: keysMac(ring, b.id, b.publicKey, signingPublicKey),
        });
        await addInboxMember(tx, b.inbox, b.id, memberMac(ring, b.inbox, b.id, b.publicKey));
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'account_create',
          targetId: b.id,
          detail: b.inbox,
        });
      });
      return reply.code(201).send({ id: b.id });
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
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      if (!s.inboxes.includes(request.params.id)) {
        return refuse(reply, 404, 'not_found', 'you are not a member of this inbox');
      }
      const rows = await inboxReportKeys(db, request.params.id, s.coordinator.id);
      return { items: rows.map((r) => ({ reportId: r.id, sealedKey: r.sealed_key })) };
    },
  );

  app.post<{
    Body: { coordinatorId: string; inbox: string; keys: { reportId: string; sealedKey: string }[] };
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
          },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const { coordinatorId, inbox, keys } = request.body;
      if (!s.inboxes.includes(inbox))
        return refuse(reply, 404, 'not_found', 'you are not a member of this inbox');
      const ring = app.intake.pipeline.keyring;
      const mine = (await activeMemberships(db, inbox)).find((m) => m.coordinator_id === s.coordinator.id);
      if (!mine || !memberIsTrusted(ring, mine, inbox))
        return refuse(reply, 404, 'not_found', 'you are not a member of this inbox');
      const target = await findCoordinatorById(db, coordinatorId);
      if (!target || target.disabled_at)
        return refuse(reply, 400, 'no_account', 'body/coordinatorId: no active account');
      // The keys were re-sealed to the public key this server handed out: only one it vouches for.
      if (!keysAreTrusted(ring, target))
        return refuse(
          reply,
          400,
          'keys_untrusted',
          'body/coordinatorId: the account’s keys fail the integrity check',
        );
      const inInbox = new Set((await inboxReportKeys(db, inbox, s.coordinator.id)).map((r) => r.id));
      const stray = keys.find((k) => !inInbox.has(k.reportId));
      if (stray) return refuse(reply, 400, 'bad_report', 'body/keys: a report is not in this inbox');
      await db.transaction(async (tx) => {
        await addInboxMember(
          tx,
          inbox,
          coordinatorId,
          memberMac(ring, inbox, coordinatorId, target.public_key),
        );
        for (const k of keys) await addReportKey(tx, k.reportId, coordinatorId, k.sealedKey);
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
