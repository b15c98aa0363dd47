/**
 * The public API of the web flow (`/api/v1/public/`): what the page needs to run a flow and seal a report in
 * the person's browser (the public configuration, a flow, the current keys of an inbox's trusted
 * recipients), the route that receives a sealed report, and "J'ai déjà un code": replies to read and answers
 * to send back, sealed. No session, no cookie: limited per client IP and in total. Nothing here ever
 * receives an answer, a receipt or a reply private key: the page sends the receipt's lookup hash only, opens
 * the sealed replies itself and seals the person's answers itself.
 */
import type { FastifyInstance } from 'fastify';
import { webSettings } from '../config/index.js';
import { REPORT_ENVELOPE_VERSION } from '../crypto/index.js';
import type { FlowKind } from '../engine/index.js';
import { localLimiter, REFERENCE_PATTERN, recipientsTag } from '../intake/index.js';

const UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
const B64URL = '^[A-Za-z0-9_-]+$';
const ID = '^[a-z0-9][a-z0-9_-]{0,63}$';

const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

const recipientsBody = {
  type: 'object',
  required: ['inbox', 'recipients', 'recipientsTag'],
  properties: {
    inbox: { type: 'string' },
    recipients: {
      type: 'array',
      items: {
        type: 'object',
        required: ['coordinatorId', 'publicKey'],
        properties: { coordinatorId: { type: 'string' }, publicKey: { type: 'string' } },
      },
    },
    recipientsTag: { type: 'string', description: 'sent back with the report; 409 when it changed' },
  },
} as const;

/** A report envelope (sealReport, sealFollowUp): `ciphertextMax` bounds the ciphertext's characters. */
function envelopeSchema(ciphertextMax?: number) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['v', 'nonce', 'ciphertext', 'keys'],
    properties: {
      v: { type: 'integer', enum: [REPORT_ENVELOPE_VERSION] },
      nonce: { type: 'string', pattern: B64URL, minLength: 32, maxLength: 32 },
      ciphertext: {
        type: 'string',
        pattern: B64URL,
        minLength: 16,
        ...(ciphertextMax ? { maxLength: ciphertextMax } : {}),
      },
      keys: {
        type: 'array',
        minItems: 1,
        maxItems: 200,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['coordinatorId', 'sealedKey'],
          properties: {
            coordinatorId: { type: 'string', pattern: UUID },
            // crypto_box_seal of 32 bytes: 80 bytes, 107 characters of base64url.
            sealedKey: { type: 'string', pattern: B64URL, minLength: 107, maxLength: 108 },
          },
        },
      },
    },
  } as const;
}

/** Where the page seals a follow-up: a report id and the current keys (the same shape for an unknown code). */
const followUpTargetBody = {
  type: 'object',
  required: ['reportId', 'recipients', 'recipientsTag'],
  properties: {
    reportId: { type: 'string', description: 'the associated data of the envelope, with the message id' },
    recipients: recipientsBody.properties.recipients,
    recipientsTag: { type: 'string', description: 'sent back with the message; 409 when it changed' },
  },
} as const;

const followUpBody = {
  type: 'object',
  additionalProperties: false,
  required: ['lookupHash', 'reportId', 'messageId', 'recipientsTag', 'envelope'],
  properties: {
    lookupHash: {
      type: 'string',
      pattern: '^[0-9a-f]{64}$',
      description: 'the hash of the code the person typed (never the code)',
    },
    reportId: { type: 'string', pattern: UUID, description: 'as `to.reportId` of POST /replies gave it' },
    messageId: {
      type: 'string',
      pattern: UUID,
      description: 'made by the page for this message; in the associated data; a replay is refused (409)',
    },
    recipientsTag: { type: 'string', pattern: B64URL, maxLength: 64 },
    // A message of at most 4,000 characters (16 KB of UTF-8, padded) fits well under 30,000 characters.
    envelope: envelopeSchema(30_000),
  },
} as const;

interface FollowUpRequest {
  lookupHash: string;
  reportId: string;
  messageId: string;
  recipientsTag: string;
  envelope: ReportRequest['envelope'];
}

const reportBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'reference', 'inbox', 'kind', 'urgency', 'flow', 'recipientsTag', 'envelope'],
  properties: {
    id: {
      type: 'string',
      pattern: UUID,
      description: 'made by the page; the associated data of the envelope',
    },
    reference: { type: 'string', pattern: REFERENCE_PATTERN },
    inbox: { type: 'string', pattern: ID },
    kind: { type: 'string', enum: ['professional', 'youth'] },
    urgency: { type: 'string', enum: ['normal', 'high', 'immediate'] },
    flow: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'version'],
      properties: {
        id: { type: 'string', pattern: ID },
        version: { type: 'integer', minimum: 1, maximum: 1_000_000 },
      },
    },
    recipientsTag: { type: 'string', pattern: B64URL, maxLength: 64 },
    envelope: envelopeSchema(),
    receipt: {
      type: 'object',
      additionalProperties: false,
      required: ['lookupHash', 'salt', 'publicKey'],
      description: 'the hash of the receipt made in the page (never the receipt) and its reply public key',
      properties: {
        lookupHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        salt: { type: 'string', pattern: B64URL, minLength: 22, maxLength: 22 },
        publicKey: { type: 'string', pattern: B64URL, minLength: 43, maxLength: 43 },
      },
    },
  },
} as const;

interface ReportRequest {
  id: string;
  reference: string;
  inbox: string;
  kind: FlowKind;
  urgency: 'normal' | 'high' | 'immediate';
  flow: { id: string; version: number };
  recipientsTag: string;
  envelope: {
    v: typeof REPORT_ENVELOPE_VERSION;
    nonce: string;
    ciphertext: string;
    keys: { coordinatorId: string; sealedKey: string }[];
  };
  receipt?: { lookupHash: string; salt: string; publicKey: string };
}

/** The public routes of the web flow, registered under `/api/v1/public`. */
export async function publicRoutes(app: FastifyInstance) {
  const { config, pipeline } = app.intake;
  const web = webSettings(config);
  // The total of reports per minute, every client together: a flood from many addresses still stops here.
  const allReports = localLimiter(web.reportsPerMinute, 60_000);
  const allFollowUps = localLimiter(web.followUpsPerMinute, 60_000);
  const perIpKeys = { rateLimit: { max: web.keysPerIpPerMinute, timeWindow: 60_000 } };
  const knownInboxes = new Set(config.inboxes.map((i) => i.id));

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/config',
    {
      config: perIpKeys,
      schema: {
        summary: 'Public configuration of the web flow',
        description:
          'Languages, flows (newest versions), inbox ids, routing rules and the quick-exit address: the page ' +
          'routes a report itself, so that nothing it answers has to leave the browser in clear.',
        tags: ['web flow'],
      },
    },
    async () => ({
      languages: config.languages,
      defaultFlow: pipeline.flows.default().id,
      flows: pipeline.flows.list().map((f) => ({
        id: f.id,
        version: f.version,
        kind: f.kind,
        aliases: f.aliases ?? [],
        languages: f.languages,
      })),
      inboxes: config.inboxes.map((i) => i.id),
      routing: { rules: config.routing.rules },
      exitUrl: web.exitUrl,
    }),
  );

  app.get<{ Params: { alias: string } }>(
    '/flows/:alias',
    {
      config: perIpKeys,
      schema: {
        summary: 'A flow (its newest version), by id or alias',
        tags: ['web flow'],
        params: {
          type: 'object',
          required: ['alias'],
          properties: { alias: { type: 'string', minLength: 1, maxLength: 64 } },
        },
        response: { 404: errorBody },
      },
    },
    async (request, reply) => {
      const flow = pipeline.flows.byAlias(request.params.alias);
      if (!flow) return reply.code(404).send({ error: 'unknown_flow' });
      return flow;
    },
  );

  app.get<{ Params: { inbox: string } }>(
    '/inboxes/:inbox/recipients',
    {
      config: perIpKeys,
      schema: {
        summary: "Current public keys of an inbox's trusted recipients",
        description:
          'Only members whose membership MAC verifies (the same selection as the chat pipeline). The page seals ' +
          'to exactly these and sends `recipientsTag` back with the report.',
        tags: ['web flow'],
        params: {
          type: 'object',
          required: ['inbox'],
          properties: { inbox: { type: 'string', pattern: ID } },
        },
        response: { 200: recipientsBody, 404: errorBody, 503: errorBody },
      },
    },
    async (request, reply) => {
      const { inbox } = request.params;
      if (!knownInboxes.has(inbox)) return reply.code(404).send({ error: 'unknown_inbox' });
      const recipients = await pipeline.service.trustedRecipients(app.intake.db, inbox);
      if (recipients.length === 0) return reply.code(503).send({ error: 'no_recipient' });
      return { inbox, recipients, recipientsTag: recipientsTag(recipients) };
    },
  );

  app.post<{ Body: ReportRequest }>(
    '/reports',
    {
      bodyLimit: web.reportBodyLimitBytes,
      config: { rateLimit: { max: web.reportsPerIpPerHour, timeWindow: 3_600_000 }, sensitive: true },
      schema: {
        summary: 'Submit a report sealed in the browser',
        description:
          'The envelope is sealed in the page to the recipients of `GET /inboxes/{inbox}/recipients` (same ' +
          'format and associated data as the chat pipeline). Stored as is, with the queue metadata (inbox, ' +
          'kind, urgency, channel `web`). The receipt stays in the page: only its lookup hash, which the ' +
          'server keys again, and the reply public key are sent. 409 `stale_recipients` carries the current ' +
          'keys: seal again and retry.',
        tags: ['web flow'],
        body: reportBody,
        response: {
          201: {
            type: 'object',
            required: ['reference'],
            properties: { reference: { type: 'string' } },
          },
          400: errorBody,
          404: errorBody,
          409: {
            type: 'object',
            properties: {
              error: { type: 'string', enum: ['stale_recipients', 'duplicate', 'reference_taken'] },
              ...recipientsBody.properties,
            },
          },
          429: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (!knownInboxes.has(body.inbox)) return reply.code(404).send({ error: 'unknown_inbox' });
      const flow = pipeline.flows.get(body.flow.id, body.flow.version);
      if (!flow || flow.kind !== body.kind) return reply.code(404).send({ error: 'unknown_flow' });
      if (!(await allReports.take('all', Date.now()))) {
        return reply.code(429).send({ error: 'too_many_requests', message: 'try again in a minute' });
      }
      const result = await pipeline.service.acceptSealedReport({ ...body, now: Date.now() });
      if (result.ok) return reply.code(201).send({ reference: body.reference });
      if (result.reason === 'no_recipient') return reply.code(503).send({ error: 'no_recipient' });
      if (result.reason === 'stale_recipients') {
        return reply.code(409).send({
          error: 'stale_recipients',
          inbox: body.inbox,
          recipients: result.recipients,
          recipientsTag: result.recipientsTag,
        });
      }
      return reply.code(409).send({ error: result.reason });
    },
  );

  app.post<{ Body: { lookupHash: string } }>(
    '/replies',
    {
      config: { sensitive: true },
      schema: {
        summary: 'Sealed replies to a receipt ("J\'ai déjà un code")',
        description:
          'The page sends the lookup hash of the receipt the person typed (never the receipt). The server ' +
          'finds the report by its keyed tag, keeps only the replies whose coordinator signature verifies ' +
          'against the signing key it vouches for (as /suivi does), and returns them sealed with the ' +
          "report's receipt salt: the page derives the receipt key pair and opens them. An unknown receipt " +
          'and a report without replies get the same answer (`{ replies: [] }`). Limited per client IP and ' +
          "in total with the /suivi limits (429). `to` says where the person's answer is sealed (POST " +
          "/followups): the report's id and the current keys of the inbox it is in now; for a code that " +
          'finds no report, a decoy of the same shape (a stable keyed id and the keys of the inbox a youth ' +
          'report goes to by default), so that the answer does not tell whether a code exists.',
        tags: ['web flow'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['lookupHash'],
          properties: { lookupHash: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['replies'],
            properties: {
              salt: { type: 'string', description: "the report's receipt salt, only when there are replies" },
              replies: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['sealed', 'sentAt'],
                  properties: {
                    sealed: { type: 'string', description: 'sealed to the receipt public key' },
                    sentAt: { type: 'string', description: 'the day (YYYY-MM-DD, Paris time)' },
                  },
                },
              },
              to: followUpTargetBody,
            },
          },
          400: errorBody,
          429: errorBody,
        },
      },
    },
    async (request, reply) => {
      const result = await pipeline.service.webFollowUp({
        lookupHash: request.body.lookupHash,
        client: request.ip,
        now: Date.now(),
      });
      if (!result.ok) {
        return reply.code(429).send({ error: 'too_many_requests', message: 'try again later' });
      }
      const to = result.to ? { to: result.to } : {};
      return result.salt ? { salt: result.salt, replies: result.replies, ...to } : { replies: [], ...to };
    },
  );

  app.post<{ Body: FollowUpRequest }>(
    '/followups',
    {
      bodyLimit: web.followUpBodyLimitBytes,
      config: { rateLimit: { max: web.followUpsPerIpPerHour, timeWindow: 3_600_000 }, sensitive: true },
      schema: {
        summary: 'Answer the coordinators with a receipt: a message sealed in the browser',
        description:
          'After POST /replies, the page seals the message it was given to `to`: `sealFollowUp`, the report ' +
          'envelope with associated data `"intake/followup/v1" 0 reportId 0 messageId`, to those keys. Sent ' +
          'with the lookup hash of the code (never the code, never the text). The server checks the report ' +
          'id and the keys against the report the hash finds now (409 `stale_recipients` with a fresh `to`: ' +
          'seal again), refuses a message id already used (409 `duplicate`), stores the envelope and the ' +
          'sealed keys, and shows the case as having a new message in the inbox. A code that finds no report ' +
          'gets the same checks against its decoy and the same answers; the message is then discarded. ' +
          'Limited per client IP and in total (429).',
        tags: ['web flow'],
        body: followUpBody,
        response: {
          201: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } } },
          400: errorBody,
          409: {
            type: 'object',
            properties: {
              error: { type: 'string', enum: ['stale_recipients', 'duplicate'] },
              to: followUpTargetBody,
            },
          },
          413: errorBody,
          429: errorBody,
          503: errorBody,
        },
      },
    },
    async (request, reply) => {
      if (!(await allFollowUps.take('all', Date.now()))) {
        return reply.code(429).send({ error: 'too_many_requests', message: 'try again in a minute' });
      }
      const result = await pipeline.service.acceptFollowUp({ ...request.body, now: Date.now() });
      if (result.ok) return reply.code(201).send({ ok: true });
      if (result.reason === 'no_recipient') return reply.code(503).send({ error: 'no_recipient' });
      if (result.reason === 'stale')
        return reply.code(409).send({ error: 'stale_recipients', to: result.to });
      return reply.code(409).send({ error: 'duplicate' });
    },
  );
}
