/**
 * The Microsoft Teams channel: `POST /api/messages` (Bot Framework) served by botbuilder's CloudAdapter
 * inside Fastify, and contentless new-case notices to linked coordinators. Every botbuilder import stays in
 * this folder; the rest of the app sees one Fastify plugin.
 *
 * Order of checks on a request: JSON body (Fastify), activity shape and card data (ajv, 400 with a reason),
 * then botbuilder's authentication (401, nothing processed), then the turn (503 when the database is down).
 */
import { performance } from 'node:perf_hooks';
import type { CloudAdapter } from 'botbuilder';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WindowLimiter } from '../../intake/limiter.js';
import { CHANNEL, TeamsBot } from './bot.js';
import { loadTeamsConfig, type TeamsConfig } from './config.js';
import { TeamsNotifier } from './notices.js';
import { textMessage } from './render.js';
import { checkActivity, checkDialogFetch, checkSubmit } from './schemas.js';
import { ResponseShim, withBotbuilderLogs } from './shim.js';

export { loadTeamsConfig, type TeamsConfig } from './config.js';
export { createLinkCode, LINK_CODE_TTL_MS } from './link.js';

export interface TeamsChannelOptions {
  /** Where the Microsoft* settings are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * botbuilder is loaded on first use (the first Teams request or notice), not at start: it costs about
 * 0.5 s of start time and 30 MB that a process serving only Telegram never needs. The settings are still
 * checked at start (`loadTeamsConfig`).
 */
function lazyAdapter(settings: TeamsConfig): () => Promise<CloudAdapter> {
  let adapter: Promise<CloudAdapter> | undefined;
  return () => {
    if (!adapter) {
      adapter = import('./adapter.js').then((m) => m.createAdapter(settings));
      // A failed load (should not happen) is retried by the next request instead of failing them all.
      adapter.catch(() => {
        adapter = undefined;
      });
    }
    return adapter;
  };
}

/** Registers the Teams channel. Throws SafeError at build time when its settings cannot work. */
export async function teamsChannel(app: FastifyInstance, options: TeamsChannelOptions = {}): Promise<void> {
  const { config, db, metrics, pipeline } = app.intake;
  const settings = loadTeamsConfig(options.env ?? process.env, config.nodeEnv);
  if (!settings) {
    // Off: no /api/messages route at all (404), so nothing a stranger posts there is ever processed.
    app.log.info('Teams: off (MicrosoftAppId is not set)');
    return;
  }
  app.intake.channels.teams = settings.appId ? 'on' : 'local (no authentication)';
  if (!settings.appId) {
    app.log.warn(
      'Teams: MicrosoftAppId is empty: /api/messages accepts unauthenticated requests (local development only)',
    );
  }
  const adapter = lazyAdapter(settings);
  const notifier = new TeamsNotifier({
    db,
    keyring: pipeline.keyring,
    logger: app.log,
    metrics,
    batchSeconds: settings.noticeBatchSeconds,
    inboxName: (id) => config.inboxes.find((i) => i.id === id)?.name ?? id,
    send: async (reference, text) =>
      (await adapter()).continueConversationAsync(settings.appId, reference, async (ctx) => {
        await ctx.sendActivity(textMessage(text));
      }),
  });
  pipeline.service.onReport((notice) => notifier.notify(notice));
  // A message sent with a person's code (the web page's follow-up): a contentless nudge, at once.
  pipeline.service.onFollowUp((notice) => notifier.notify({ ...notice, what: 'message' }));
  // Notices stored by an instance that stopped before their batch was due go out now (they are sent once).
  app.addHook('onReady', async () => notifier.start());
  app.addHook('onClose', async () => notifier.close());

  const bot = new TeamsBot({ config, db, pipeline, metrics });
  // Platform webhooks come from a few Microsoft addresses: limit per (hashed) user and per instance, not per IP.
  // Both counters are taken only after botbuilder has authenticated the request, so a forged body can neither
  // drain the instance's budget nor a real user's; before authentication only a generous per-IP limit applies.
  const global = new WindowLimiter(config.rateLimit.max * 20, config.rateLimit.windowMs);
  const perUser = new WindowLimiter(config.rateLimit.max, config.rateLimit.windowMs);
  const userKey = (request: FastifyRequest) => {
    const from = (request.body as { from?: { id?: unknown; aadObjectId?: unknown } } | undefined)?.from;
    const id = typeof from?.aadObjectId === 'string' && from.aadObjectId ? from.aadObjectId : from?.id;
    return typeof id === 'string' && id.length > 0 && id.length <= 512
      ? `teams:${pipeline.service.userHash(CHANNEL, id)}`
      : 'teams:anonymous';
  };

  app.post(
    '/api/messages',
    {
      config: {
        sensitive: true,
        rateLimit: { max: config.rateLimit.max * 20, timeWindow: config.rateLimit.windowMs },
      },
      schema: { hide: true },
    },
    async (request, reply) => {
      const started = performance.now();
      try {
        const checked = checkActivity(request.body);
        if (!checked.ok) {
          metrics.errors.inc({ kind: 'teams_invalid' });
          request.log.info({ channel: CHANNEL }, 'teams activity refused: invalid shape');
          return reply.code(400).send({ error: 'bad_request', message: checked.reason });
        }
        const activity = checked.activity;
        if (activity.type === 'message' && activity.value !== undefined) {
          const submit = checkSubmit(activity.value);
          if (!submit.ok) {
            metrics.errors.inc({ kind: 'teams_invalid' });
            request.log.info({ channel: CHANNEL }, 'teams card submission refused: invalid data');
            return reply.code(400).send({ error: 'bad_request', message: submit.reason });
          }
        }
        if (activity.type === 'invoke' && activity.name === 'task/fetch') {
          const dialog = checkDialogFetch(activity.value);
          if (!dialog.ok) {
            metrics.errors.inc({ kind: 'teams_invalid' });
            request.log.info({ channel: CHANNEL }, 'teams dialog request refused: invalid data');
            return reply.code(400).send({ error: 'bad_request', message: dialog.reason });
          }
        }
        const shim = new ResponseShim();
        let failure: unknown;
        let limited = false;
        const cloud = await adapter();
        await withBotbuilderLogs(request.log, () =>
          cloud.process(
            { method: 'POST', headers: request.headers, body: request.body as Record<string, unknown> },
            shim,
            async (context) => {
              // Authenticated from here on.
              const now = Date.now();
              if (!perUser.take(userKey(request), now) || !global.take('all', now)) {
                limited = true;
                return;
              }
              try {
                await bot.onTurn(context, activity, request.log);
              } catch (err) {
                // Kept for Fastify's error handler (503 when the database is down) instead of botbuilder's 500.
                failure = err;
              }
            },
          ),
        );
        if (failure) throw failure;
        if (limited) {
          metrics.errors.inc({ kind: 'rate_limited' });
          return reply.code(429).send({ error: 'rate_limited', message: 'too many requests, slow down' });
        }
        const { status } = shim.recorded;
        if (status === 401 || status === 403) {
          metrics.errors.inc({ kind: 'teams_unauthorized' });
          request.log.info({ channel: CHANNEL, status }, 'teams request refused: authentication');
          return reply
            .code(status)
            .send({ error: 'unauthorized', message: 'missing or invalid Bot Framework token' });
        }
        if (status === 501) {
          // An invoke (card action of another kind, message extension...) this bot does not implement.
          return reply
            .code(400)
            .send({ error: 'bad_request', message: 'this activity type is not supported' });
        }
        if (status >= 500) {
          metrics.errors.inc({ kind: 'internal' });
          request.log.error({ channel: CHANNEL, status }, 'teams request failed in botbuilder');
          return reply
            .code(500)
            .send({ error: 'internal_error', message: 'internal error', requestId: request.id });
        }
        if (status >= 400) {
          return reply
            .code(status)
            .send({ error: 'bad_request', message: 'activity refused by the Bot Framework adapter' });
        }
        // Invoke responses carry a JSON body; plain activities answer 200 without one.
        const body = shim.recorded.body;
        return body === undefined ? reply.code(status).send() : reply.code(status).send(body);
      } finally {
        metrics.webhookDuration.observe({ channel: CHANNEL }, (performance.now() - started) / 1000);
      }
    },
  );
}
