/**
 * `POST /telegram/webhook`: the secret header is checked first, in constant time (401, nothing read);
 * the update is validated with ajv (400 with the reason); then the channel handles it. The request waits
 * for the turn and its replies, so a database outage answers 503 and Telegram redelivers the update; a
 * button press is answered in the response body (one request less per press). telegraf is the Bot API
 * client, and the update loop in long-polling mode.
 * The global per-IP rate limit does not fit here (every update comes from a few Telegram addresses): the
 * channel limits per hashed user instead. With TELEGRAM_MODE=polling there is no route: telegraf polls.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Telegraf } from 'telegraf';
import type { Update } from 'telegraf/types';
import { isUnavailable } from '../../store/index.js';
import { TelegramChannel, type WebhookCall } from './channel.js';
import { ALLOWED_UPDATES, loadTelegramConfig, type TelegramConfig, WEBHOOK_PATH } from './config.js';
import { updateProblem } from './schema.js';
import { useLeanTransport } from './transport.js';

/** Telegram waits about 60 s for an answer: give up on an update well before that. */
const HANDLER_TIMEOUT_MS = 45_000;

export interface TelegramPluginOptions {
  /** Settings (default: read from the environment). */
  telegram?: TelegramConfig;
  /** Per-user flood limit (default 30 updates per 10 s). */
  flood?: { max: number; windowMs: number };
  /** How long the webhook waits for an update before answering 200 anyway (default 45 s; tests). */
  handlerTimeoutMs?: number;
}

/**
 * A telegraf bot on the configured API root (its own webhook-reply mode is off: the route does that), and
 * the function that closes its connections to the Bot API.
 */
export function createBot(config: Pick<TelegramConfig, 'token' | 'apiRoot'>): {
  bot: Telegraf;
  close: () => Promise<void>;
} {
  const bot = new Telegraf(config.token, {
    telegram: { apiRoot: config.apiRoot, webhookReply: false },
    handlerTimeout: HANDLER_TIMEOUT_MS,
  });
  // The channel never uses the bot's own profile: skip telegraf's getMe call before the first update.
  bot.botInfo = {
    id: Number(config.token.split(':')[0]),
    is_bot: true,
    first_name: 'intake',
    username: 'intake_bot',
    can_join_groups: false,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
  };
  // The Bot API calls go through undici's keep-alive pool instead of telegraf's node-fetch transport
  // (which, for an http root such as a local Bot API server, also opened a new connection per call).
  const close = useLeanTransport(bot.telegram, config);
  return { bot, close };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export const telegramChannel: FastifyPluginAsync<TelegramPluginOptions> = async (
  app: FastifyInstance,
  options,
) => {
  const { config, metrics, pipeline } = app.intake;
  const settings = options.telegram ?? loadTelegramConfig(process.env, config.nodeEnv);
  if (!settings) return;
  app.intake.channels.telegram = settings.mode === 'polling' ? 'on (polling)' : 'on';
  const logger = app.log.child({ channel: 'telegram' });
  const { bot, close } = createBot(settings);
  // Runs once the server has closed and the requests in flight have ended (Fastify closes it first).
  app.addHook('onClose', close);
  const channel = new TelegramChannel({
    telegram: bot.telegram,
    service: pipeline.service,
    logger,
    metrics,
    defaultLang: config.languages.default,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(options.flood ? { flood: options.flood } : {}),
  });
  bot.use(async (ctx) => {
    await channel.handle(ctx.update);
  });
  pipeline.service.registerNotifier('telegram', (address, lang) => channel.notifyReply(address, lang));
  const polling = settings.mode === 'polling';
  const failed = (err: unknown) => {
    metrics.errors.inc({ kind: isUnavailable(err) ? 'database_unavailable' : 'telegram_handler' });
    logger.error({ err }, 'telegram update failed');
  };
  // Replaces telegraf's default handler (long polling), which logs the whole update and sets exitCode.
  bot.catch(failed);

  if (polling) {
    app.addHook('onReady', async () => {
      logger.warn('telegram long polling (development): updates are fetched from the Bot API');
      bot.launch({ allowedUpdates: [...ALLOWED_UPDATES] }).catch((err) => {
        metrics.errors.inc({ kind: 'telegram_api' });
        logger.error({ err }, 'telegram polling stopped');
      });
    });
    app.addHook('onClose', async () => {
      try {
        bot.stop('shutdown');
      } catch {
        // Not started.
      }
    });
    return;
  }

  const expected = digest(settings.webhookSecret ?? '');
  app.post(
    WEBHOOK_PATH,
    {
      config: { sensitive: true, rateLimit: false },
      // Browser security headers (CSP and the rest) mean nothing to Telegram's servers, the only client.
      helmet: false,
      schema: {
        tags: ['channels'],
        summary: 'Telegram Bot API webhook (needs the X-Telegram-Bot-Api-Secret-Token header)',
      },
      // Before the body is even parsed: a request without the right secret is refused and not read.
      onRequest: async (request, reply) => {
        const given = request.headers['x-telegram-bot-api-secret-token'];
        const ok = typeof given === 'string' && given.length > 0 && timingSafeEqual(digest(given), expected);
        if (!ok) {
          metrics.errors.inc({ kind: 'telegram_unauthorized' });
          return reply.code(401).send({ error: 'unauthorized', message: 'missing or wrong secret token' });
        }
      },
    },
    async (request, reply) => {
      const done = metrics.webhookDuration.startTimer({ channel: 'telegram' });
      try {
        const problem = updateProblem(request.body);
        if (problem) {
          metrics.errors.inc({ kind: 'telegram_invalid_update' });
          return reply.code(400).send({ error: 'bad_request', message: `invalid update: ${problem}` });
        }
        let call: WebhookCall | undefined;
        let timer: NodeJS.Timeout | undefined;
        try {
          const handled = channel.handle(request.body as Update, true);
          // Telegram gives up on an answer after about 60 s and redelivers: answer before that.
          const timedOut = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS);
          });
          const first = await Promise.race([handled, timedOut]);
          if (first !== 'timeout') call = first;
          else {
            logger.warn('telegram update still running after the handler timeout');
            // The response is gone: a press answered late is answered by a request instead.
            handled.then(
              (late) => late && bot.telegram.answerCbQuery(late.callback_query_id, late.text).catch(() => {}),
              failed,
            );
          }
        } catch (err) {
          // The database is down: answer 503 so Telegram redelivers later.
          if (isUnavailable(err)) throw err;
          failed(err);
        } finally {
          clearTimeout(timer);
        }
        return reply.code(200).send(call ?? { ok: true });
      } finally {
        done();
      }
    },
  );
};
