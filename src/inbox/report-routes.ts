/**
 * The queue and the case: listing with filters and keyset pagination, the case (metadata, ciphertext and
 * the caller's own sealed data key: the browser decrypts), workflow transitions, assignment, encrypted
 * notes, replies sealed to the submitter's receipt, the submitter's sealed follow-up messages, and export
 * events. A report of an inbox the caller is
 * not a member of answers 404, exactly like a report that does not exist.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { verifyNoteSignature, verifyReplySignature } from '../crypto/index.js';
import { trustedSigningKey } from '../intake/index.js';
import {
  appendAudit,
  applyTransition,
  assignReport,
  type CaseRow,
  findCaseForCoordinator,
  insertNote,
  insertReply,
  listFollowUps,
  listNotes,
  listQueue,
  listReplyMeta,
  listTransitions,
  markFollowUpsSeen,
  markOpened,
  membersOf,
  type QueueRow,
  reportRecipients,
} from '../store/index.js';
import {
  AUTH_ERRORS,
  B64URL,
  ERROR,
  type InboxSession,
  REFERENCE,
  REFERENCE_PARAMS,
  refuse,
  sessionOf,
  UUID,
} from './context.js';
import { dueState, findTransition, type Workflow } from './workflow.js';

const PAGE_MAX = 100;

const csv = (items: readonly string[]) =>
  ({
    type: 'array',
    items: { type: 'string', enum: items as string[] },
    maxItems: items.length,
  }) as const;

interface QueueQuery {
  inbox?: string[];
  status?: string[];
  urgency?: string[];
  kind?: string[];
  channel?: string[];
  receivedFrom?: string;
  receivedTo?: string;
  assignedTo?: string;
  newFollowUp?: boolean;
  sort?: 'received_desc' | 'received_asc';
  limit?: number;
  cursor?: string;
}

function encodeCursor(row: QueueRow): string {
  return Buffer.from(JSON.stringify([new Date(row.received_at).toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { receivedAt: Date; id: string } | undefined {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') return;
    const receivedAt = new Date(v[0]);
    if (Number.isNaN(receivedAt.getTime())) return;
    if (!/^[0-9a-f-]{36}$/i.test(v[1])) return;
    return { receivedAt, id: v[1] };
  } catch {
    return undefined;
  }
}

/** The clear metadata of a queue row, as the API shows it. */
export function queueItem(wf: Workflow, row: QueueRow, now: number) {
  return {
    id: row.id,
    reference: row.reference,
    inbox: row.inbox_id,
    kind: row.flow_kind,
    channel: row.channel,
    urgency: row.urgency,
    status: row.status,
    receivedAt: new Date(row.received_at).toISOString(),
    firstOpenedAt: row.first_opened_at ? new Date(row.first_opened_at).toISOString() : null,
    closedAt: row.closed_at ? new Date(row.closed_at).toISOString() : null,
    assignedTo: row.assigned_to,
    partner: row.partner_id,
    closeReason: row.close_reason,
    duplicateOf: row.duplicate_of,
    hasReceipt: row.has_receipt,
    canOpen: row.has_key,
    lastFollowUpAt: row.last_followup_at ? new Date(row.last_followup_at).toISOString() : null,
    newFollowUp: row.new_followup,
    due: dueState(wf, row, now),
  };
}

export async function reportRoutes(app: FastifyInstance) {
  const { db, config } = app.intake;
  const { workflow } = app.inbox;
  const inboxIds = config.inboxes.map((i) => i.id);
  const statusIds = workflow.statuses.map((s) => s.id);

  /** The case, or a 404 answer when it does not exist or is not in the caller's inboxes. */
  async function caseOr404(
    s: InboxSession,
    reference: string,
    reply: FastifyReply,
  ): Promise<CaseRow | undefined> {
    const row = await findCaseForCoordinator(db, reference, s.coordinator.id);
    if (!row) {
      refuse(reply, 404, 'not_found', `no report ${reference} in your inboxes`);
      return undefined;
    }
    return row;
  }

  app.get(
    '/workflow',
    {
      schema: {
        summary:
          'The case workflow (statuses, transitions, reasons, partners, due times), inboxes and colleagues',
        tags: ['inbox reports'],
        response: AUTH_ERRORS,
      },
    },
    async (request) => {
      const s = sessionOf(request);
      const members = await membersOf(db, s.inboxes);
      const byId = new Map<string, { id: string; name: string; inboxes: string[] }>();
      for (const m of members) {
        const e = byId.get(m.id) ?? { id: m.id, name: m.display_name, inboxes: [] };
        e.inboxes.push(m.inbox_id);
        byId.set(m.id, e);
      }
      return {
        workflow,
        inboxes: config.inboxes.filter((i) => s.inboxes.includes(i.id)),
        members: [...byId.values()],
      };
    },
  );

  app.get<{ Querystring: QueueQuery }>(
    '/reports',
    {
      schema: {
        summary: 'The queue: reports of the caller’s inboxes, filtered, sorted, cursor-paginated',
        tags: ['inbox reports'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            inbox: csv(inboxIds),
            status: csv(statusIds),
            urgency: csv(['normal', 'high', 'immediate']),
            kind: csv(['professional', 'youth']),
            channel: { type: 'array', maxItems: 10, items: { type: 'string', pattern: '^[a-z]{1,20}$' } },
            receivedFrom: { type: 'string', format: 'date-time' },
            receivedTo: { type: 'string', format: 'date-time' },
            assignedTo: { anyOf: [UUID, { type: 'string', enum: ['none', 'me'] }] },
            newFollowUp: {
              type: 'boolean',
              description: 'only cases with a message from the person not opened yet, whatever their status',
            },
            sort: { type: 'string', enum: ['received_desc', 'received_asc'], default: 'received_desc' },
            limit: { type: 'integer', minimum: 1, maximum: PAGE_MAX, default: 50 },
            cursor: { type: 'string', maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' },
          },
        },
        response: { ...AUTH_ERRORS, 400: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const q = request.query;
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      if (q.cursor && !after) return refuse(reply, 400, 'bad_request', 'querystring/cursor is not a cursor');
      const limit = q.limit ?? 50;
      const rows = await listQueue(db, {
        coordinatorId: s.coordinator.id,
        ...(q.inbox ? { inboxes: q.inbox } : {}),
        ...(q.status ? { statuses: q.status } : {}),
        ...(q.urgency ? { urgencies: q.urgency } : {}),
        ...(q.kind ? { kinds: q.kind } : {}),
        ...(q.channel ? { channels: q.channel } : {}),
        ...(q.receivedFrom ? { receivedFrom: new Date(q.receivedFrom) } : {}),
        ...(q.receivedTo ? { receivedTo: new Date(q.receivedTo) } : {}),
        ...(q.assignedTo ? { assignedTo: q.assignedTo === 'me' ? s.coordinator.id : q.assignedTo } : {}),
        ...(q.newFollowUp ? { newFollowUp: true } : {}),
        order: q.sort === 'received_asc' ? 'asc' : 'desc',
        ...(after ? { after } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const now = Date.now();
      const last = page[page.length - 1];
      return {
        items: page.map((r) => queueItem(workflow, r, now)),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get<{ Params: { reference: string }; Querystring: { purpose?: 'case' | 'statistics' } }>(
    '/reports/:reference',
    {
      schema: {
        summary:
          'One case: clear metadata, ciphertext and the caller’s sealed data key (records a view; purpose=statistics does not count as opening it)',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { purpose: { type: 'string', enum: ['case', 'statistics'], default: 'case' } },
        },
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      const forStatistics = request.query.purpose === 'statistics';
      if (!forStatistics) {
        await markOpened(db, row.id);
        // Opening the case is reading the messages sealed to this coordinator: no longer new in the queue.
        await markFollowUpsSeen(db, row.id, s.coordinator.id);
      }
      await appendAudit(db, {
        actorId: s.coordinator.id,
        action: 'view',
        reportReference: row.reference,
        ...(forStatistics ? { detail: 'statistics' } : {}),
      });
      const [transitions, replies, recipients, followUps] = await Promise.all([
        listTransitions(db, row.id),
        listReplyMeta(db, row.id),
        reportRecipients(db, row.id),
        listFollowUps(db, row.id, s.coordinator.id),
      ]);
      const opened = row.first_opened_at ?? (forStatistics ? null : new Date());
      return {
        ...queueItem(workflow, { ...row, first_opened_at: opened }, Date.now()),
        envelopeVersion: row.envelope_version,
        nonce: row.nonce,
        ciphertext: row.ciphertext,
        sealedKey: row.sealed_key,
        receiptPublicKey: row.receipt_public_key,
        allowedTransitions: workflow.transitions
          .filter((t) => t.from.includes(row.status))
          .map((t) => ({ to: t.to, requires: t.requires ?? [] })),
        transitions: transitions.map((t) => ({
          id: t.id,
          from: t.from_status,
          to: t.to_status,
          actorId: t.actor_id,
          actorName: t.actor_name,
          reason: t.reason,
          partner: t.partner_id,
          duplicateOf: t.duplicate_of,
          at: new Date(t.created_at).toISOString(),
        })),
        replies: replies.map((r) => ({
          id: r.id,
          authorName: r.author_name,
          at: new Date(r.created_at).toISOString(),
        })),
        // The person's messages (web page, after reading replies): sealed envelopes with this coordinator's
        // sealed key (null: sealed before they joined the inbox); the browser opens them with openFollowUp.
        followUps: followUps.map((f) => ({
          id: f.id,
          at: new Date(f.created_at).toISOString(),
          envelopeVersion: f.envelope_version,
          nonce: f.nonce,
          ciphertext: f.ciphertext,
          sealedKey: f.sealed_key,
        })),
        // Who can open this report: every coordinator its data key is sealed to (at submission or by grant).
        recipients: recipients.map((r) => ({
          id: r.id,
          login: r.login,
          name: r.display_name,
          disabled: Boolean(r.disabled_at),
        })),
      };
    },
  );

  app.post<{
    Params: { reference: string };
    Body: { to: string; reason?: string; partner?: string; duplicateOf?: string };
  }>(
    '/reports/:reference/transitions',
    {
      schema: {
        summary: 'Move a case along the workflow (required fields per transition in config/workflow.yaml)',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['to'],
          properties: {
            to: { type: 'string', enum: statusIds },
            reason: { type: 'string', enum: workflow.closeReasons.map((r) => r.id) },
            partner: { type: 'string', enum: workflow.partners.map((p) => p.id) },
            duplicateOf: REFERENCE,
          },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      const { to, reason, partner, duplicateOf } = request.body;
      const rule = findTransition(workflow, row.status, to);
      if (!rule) {
        return refuse(
          reply,
          409,
          'transition_not_permitted',
          `transition ${row.status} -> ${to} is not permitted`,
        );
      }
      const requires = rule.requires ?? [];
      const given = { reason, partner, duplicateOf };
      for (const field of ['reason', 'partner', 'duplicateOf'] as const) {
        if (requires.includes(field) && !given[field]) {
          return refuse(reply, 400, 'field_required', `body/${field} is required for -> ${to}`);
        }
        if (!requires.includes(field) && given[field]) {
          return refuse(reply, 400, 'field_unexpected', `body/${field} is not used by -> ${to}`);
        }
      }
      if (duplicateOf) {
        const other = await findCaseForCoordinator(db, duplicateOf, s.coordinator.id);
        if (!other || other.id === row.id) {
          return refuse(
            reply,
            400,
            'bad_duplicate',
            'body/duplicateOf must be another report of your inboxes',
          );
        }
      }
      const status = workflow.statuses.find((x) => x.id === to);
      const ok = await db.transaction(async (tx) => {
        const done = await applyTransition(tx, {
          id: randomUUID(),
          reportId: row.id,
          from: row.status,
          to,
          actorId: s.coordinator.id,
          reason,
          partnerId: partner,
          duplicateOf,
          closes: Boolean(status?.final),
          evaluates: workflow.evaluated.includes(to),
        });
        if (done) {
          await appendAudit(tx, {
            actorId: s.coordinator.id,
            action: 'transition',
            reportReference: row.reference,
            detail: `${row.status}>${to}${reason ? `:${reason}` : ''}${partner ? `:${partner}` : ''}`,
          });
        }
        return done;
      });
      if (!ok) return refuse(reply, 409, 'conflict', 'the case changed meanwhile: reload it');
      return { reference: row.reference, status: to };
    },
  );

  app.post<{ Params: { reference: string }; Body: { coordinatorId: string | null } }>(
    '/reports/:reference/assign',
    {
      schema: {
        summary: 'Assign a case to a member of its inbox (null to unassign)',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['coordinatorId'],
          properties: { coordinatorId: { anyOf: [UUID, { type: 'null' }] } },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      const target = request.body.coordinatorId;
      if (target) {
        const members = await membersOf(db, [row.inbox_id]);
        if (!members.some((m) => m.id === target)) {
          return refuse(
            reply,
            400,
            'not_a_member',
            'body/coordinatorId must be an active member of the inbox',
          );
        }
      }
      await db.transaction(async (tx) => {
        await assignReport(tx, row.id, target);
        await appendAudit(tx, {
          actorId: s.coordinator.id,
          action: 'assignment',
          reportReference: row.reference,
          targetId: target,
        });
      });
      return { reference: row.reference, assignedTo: target };
    },
  );

  app.get<{ Params: { reference: string } }>(
    '/reports/:reference/notes',
    {
      schema: {
        summary:
          'Notes of a case (encrypted with the report’s data key; the browser decrypts and checks each signature with authorSigningKey, null when the service cannot vouch for one)',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      const notes = await listNotes(db, row.id);
      const ring = app.intake.pipeline.keyring;
      return {
        items: notes.map((n) => ({
          id: n.id,
          authorId: n.author_id,
          authorName: n.author_name,
          ciphertext: n.ciphertext,
          signature: n.signature,
          authorSigningKey: trustedSigningKey(ring, {
            id: n.author_id,
            public_key: n.author_public_key,
            signing_public_key: n.author_signing_public_key,
            keys_mac: n.author_keys_mac,
          }),
          at: new Date(n.created_at).toISOString(),
        })),
      };
    },
  );

  /** The caller's signing key, if the service vouches for it; else a refusal was sent. */
  function signingKeyOr409(s: InboxSession, reply: FastifyReply): string | undefined {
    const key = trustedSigningKey(app.intake.pipeline.keyring, s.coordinator);
    if (!key) {
      refuse(reply, 409, 'no_signing_key', 'register your signing key first (log in again in the inbox)');
      return undefined;
    }
    return key;
  }

  app.post<{ Params: { reference: string }; Body: { id: string; ciphertext: string; signature: string } }>(
    '/reports/:reference/notes',
    {
      config: { sensitive: true },
      schema: {
        summary:
          'Add a note encrypted in the browser with the report’s data key (AD = "<report id>/note/<note id>") and signed by its author',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'ciphertext', 'signature'],
          properties: { id: UUID, ciphertext: B64URL(60, 100_000), signature: B64URL(86, 86) },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      const key = signingKeyOr409(s, reply);
      if (!key) return reply;
      const { id, ciphertext, signature } = request.body;
      // Checked here too, so a client bug never stores a note every reader would flag as unverifiable.
      const fields = { reportId: row.id, noteId: id, authorId: s.coordinator.id, ciphertext };
      if (!verifyNoteSignature(key, signature, fields)) {
        return refuse(reply, 400, 'bad_signature', 'body/signature does not verify with your signing key');
      }
      const at = await db.transaction(async (tx) => {
        const created = await insertNote(tx, {
          id,
          reportId: row.id,
          authorId: s.coordinator.id,
          ciphertext,
          signature,
        });
        if (created) {
          await appendAudit(tx, {
            actorId: s.coordinator.id,
            action: 'note',
            reportReference: row.reference,
          });
        }
        return created;
      });
      if (!at) return refuse(reply, 409, 'exists', 'body/id is already used');
      return reply.code(201).send({ id, at: new Date(at).toISOString() });
    },
  );

  app.post<{ Params: { reference: string }; Body: { id: string; sealed: string; signature: string } }>(
    '/reports/:reference/replies',
    {
      config: { sensitive: true },
      schema: {
        summary:
          'Reply to the submitter: text sealed in the browser to the receipt key and signed by its author (read with /suivi)',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'sealed', 'signature'],
          properties: { id: UUID, sealed: B64URL(60, 30_000), signature: B64URL(86, 86) },
        },
        response: { ...AUTH_ERRORS, 400: ERROR, 404: ERROR, 409: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      if (!row.receipt_public_key) {
        return refuse(reply, 409, 'no_receipt', 'the submitter did not ask for replies with a secret code');
      }
      const key = signingKeyOr409(s, reply);
      if (!key) return reply;
      const { id, sealed, signature } = request.body;
      const fields = { reportId: row.id, replyId: id, authorId: s.coordinator.id, sealed };
      if (!verifyReplySignature(key, signature, fields)) {
        return refuse(reply, 400, 'bad_signature', 'body/signature does not verify with your signing key');
      }
      const created = await db.transaction(async (tx) => {
        const ok = await insertReply(tx, {
          id,
          reportId: row.id,
          sealed,
          authorId: s.coordinator.id,
          signature,
        });
        if (ok) {
          await appendAudit(tx, {
            actorId: s.coordinator.id,
            action: 'reply',
            reportReference: row.reference,
          });
        }
        return ok;
      });
      if (!created) return refuse(reply, 409, 'exists', 'body/id is already used');
      // An opted-in submitter gets a contentless notice on their channel; it never delays or fails the reply.
      void app.intake.pipeline.service.notifySubmitter(row.id);
      return reply.code(201).send({ id });
    },
  );

  app.post<{ Params: { reference: string }; Body: { kind: string } }>(
    '/reports/:reference/exports',
    {
      schema: {
        summary: 'Record that a case was exported (printed) in the browser',
        tags: ['inbox reports'],
        params: REFERENCE_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: { kind: { type: 'string', enum: ['print_crip', 'print_parquet', 'print'] } },
        },
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const s = sessionOf(request);
      const row = await caseOr404(s, request.params.reference, reply);
      if (!row) return reply;
      await appendAudit(db, {
        actorId: s.coordinator.id,
        action: 'export',
        reportReference: row.reference,
        detail: request.body.kind,
      });
      return { ok: true };
    },
  );

  app.post<{ Body: { kind: string } }>(
    '/exports',
    {
      schema: {
        summary: 'Record an export made in the browser (monthly statistics CSV)',
        tags: ['inbox reports'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: { kind: { type: 'string', enum: ['statistics_csv'] } },
        },
        response: AUTH_ERRORS,
      },
    },
    async (request) => {
      const s = sessionOf(request);
      await appendAudit(db, { actorId: s.coordinator.id, action: 'export', detail: request.body.kind });
      return { ok: true };
    },
  );

  app.get<{ Params: { id: string; version: number } }>(
    '/flows/:id/:version',
    {
      schema: {
        summary: 'Question and option labels of a flow version (to show decrypted answers with their labels)',
        tags: ['inbox reports'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'version'],
          properties: {
            id: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,39}$' },
            version: { type: 'integer', minimum: 1, maximum: 100_000 },
          },
        },
        response: { ...AUTH_ERRORS, 404: ERROR },
      },
    },
    async (request, reply) => {
      const flow =
        app.intake.pipeline.flows.get(request.params.id, request.params.version) ??
        app.intake.pipeline.flows.latest(request.params.id);
      if (!flow) return refuse(reply, 404, 'not_found', 'no such flow');
      const steps: Record<
        string,
        { label: Record<string, string>; options?: Record<string, Record<string, string>> }
      > = {};
      for (const st of flow.steps) {
        if (!('text' in st) || !st.text) continue;
        const label = ('summary_label' in st && st.summary_label) || st.text;
        const entry: (typeof steps)[string] = { label: { ...label } as Record<string, string> };
        if ('options' in st && Array.isArray(st.options)) {
          entry.options = Object.fromEntries(
            st.options.map((o) => [o.id, { ...o.label } as Record<string, string>]),
          );
        }
        steps[st.id] = entry;
      }
      return { id: flow.id, version: flow.version, title: flow.title, steps };
    },
  );
}
